"""The password policy (NIST SP 800-63B): length 10-128, no composition rules, no guessable passwords."""

from __future__ import annotations

from boxoffice.accounts.models import User
from boxoffice.accounts.security import verify_password_async
from boxoffice.config import Settings
from boxoffice.errors import BadRequest, Unprocessable
from boxoffice.kit.ratelimit import RateLimiter

MIN_LENGTH = 10
MAX_LENGTH = 128
MIN_SCORE = 3
_ZXCVBN_MAX = 72  # zxcvbn's own limit; a longer password is judged by its first 72 characters


def password_problems(password: str, *, email: str = "", full_name: str = "") -> list[str]:
    """Why `password` is refused (empty when it is acceptable)."""
    if len(password) < MIN_LENGTH:
        return [f"Use at least {MIN_LENGTH} characters."]
    if len(password) > MAX_LENGTH:
        return [f"Use at most {MAX_LENGTH} characters."]
    lowered = password.lower()
    local = email.split("@", 1)[0].lower()
    if (email and email.lower() in lowered) or (len(local) >= 3 and local in lowered):
        return ["Do not use your email address in your password."]
    hints = [email, local, *full_name.split()]
    from zxcvbn import zxcvbn  # imported on first use: its dictionaries weigh ~11 MB per worker

    result = zxcvbn(password[:_ZXCVBN_MAX], user_inputs=[h for h in hints if h], max_length=_ZXCVBN_MAX)
    if int(result["score"]) < MIN_SCORE:
        feedback = result.get("feedback") or {}
        problems = [str(feedback.get("warning") or "This password is too easy to guess.")]
        problems += [str(s) for s in feedback.get("suggestions") or []]
        return [p for p in problems if p]
    return []


def check_password(password: str, *, email: str = "", full_name: str = "") -> None:
    """Raise 422 `weak_password` with the reasons when `password` breaks the policy."""
    problems = password_problems(password, email=email, full_name=full_name)
    if problems:
        raise Unprocessable(
            "The password is too weak: " + " ".join(problems),
            code="weak_password",
            extra={"reasons": problems},
        )


# One allowance of wrong secrets per account, shared by sign-in (password or two-factor code) and by every
# signed-in confirmation (password change, two-factor off, account deletion), whichever adapter (API or
# page) asks: the service functions take the limiter as a required argument, so none can leave it out.
FAILURES_SCOPE = "login:account"


def failed_password_limit(settings: Settings) -> str:
    """Wrong passwords tolerated per account (sign-in and signed-in confirmations share it)."""
    return f"{settings.login_attempts_per_15min}/15minutes"


async def refuse_when_locked(user: User, *, settings: Settings, limiter: RateLimiter) -> None:
    """429 `rate_limited` (with Retry-After) while the account's allowance of wrong secrets is used up."""
    await limiter.check(FAILURES_SCOPE, user.email, limit=failed_password_limit(settings))


async def count_failure(user: User, *, settings: Settings, limiter: RateLimiter) -> None:
    """Count one wrong password or code against the account's allowance."""
    await limiter.allowed(FAILURES_SCOPE, user.email, limit=failed_password_limit(settings))


async def confirm_password(user: User, password: str, *, settings: Settings, limiter: RateLimiter) -> None:
    """400 `invalid_password` unless `password` is the user's. Checked against the account's allowance
    first (429 once used up, even for the right password) and a wrong one is counted, so a stolen session
    or access token is no password oracle."""
    await refuse_when_locked(user, settings=settings, limiter=limiter)
    if not await verify_password_async(password, user.password_hash):
        await count_failure(user, settings=settings, limiter=limiter)
        raise BadRequest("The password is wrong.", code="invalid_password")
