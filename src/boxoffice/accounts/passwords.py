"""The password policy (NIST SP 800-63B): length 10-128, no composition rules, no guessable passwords."""

from __future__ import annotations

import re

from boxoffice.accounts.models import User
from boxoffice.accounts.security import verify_password_async
from boxoffice.config import Settings
from boxoffice.errors import BadRequest, Unprocessable
from boxoffice.kit.ratelimit import RateLimiter

MIN_LENGTH = 10
MAX_LENGTH = 128
MIN_SCORE = 3
_ZXCVBN_MAX = 72  # zxcvbn's own limit; a longer password is judged by its first 72 characters
SERVICE_NAME = "boxoffice"
CONTEXT_PROBLEM = "Do not make your password of your name, your email address or the name of this service."
_WORD_SPLIT = re.compile(r"[\W_]+")


def _context_words(*, email: str, full_name: str) -> list[str]:
    """The words a password must not be made of: the service's name, the user's name and email local part
    (whole and in pieces), each lower-cased and reduced to its letters and digits."""
    local = email.split("@", 1)[0]
    pieces = [SERVICE_NAME, *_WORD_SPLIT.split(full_name), *_WORD_SPLIT.split(local)]
    words = {_squeeze(w) for w in [*pieces, full_name, local]}
    return sorted((w for w in words if len(w) >= 2), key=len, reverse=True)


def _squeeze(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _made_of(core: str, words: list[str]) -> bool:
    """True when `core` is one or more of `words` written one after the other (repeats allowed)."""
    reachable = [True] + [False] * len(core)
    for end in range(1, len(core) + 1):
        reachable[end] = any(
            end >= len(w) and reachable[end - len(w)] and core.startswith(w, end - len(w)) for w in words
        )
    return bool(core) and reachable[-1]


def is_context_password(password: str, *, email: str = "", full_name: str = "") -> bool:
    """True when the password, normalised (case and inner spaces or punctuation ignored, digits and
    punctuation stripped at the ends), is the user's name, email local part or the service's name, or
    made of them: "Margaret Thompson", "thompson.margaret1", "boxoffice2026" (NIST SP 800-63B 3.1.1.2)."""
    core = _squeeze(password).strip("0123456789")
    return _made_of(core, _context_words(email=email, full_name=full_name))


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
    if is_context_password(password, email=email, full_name=full_name):
        return [CONTEXT_PROBLEM]
    hints = [email, local, *full_name.split(), SERVICE_NAME]
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


# Wrong secrets are counted per (account, client address): sign-in (password or two-factor code) and every
# signed-in confirmation (password change, two-factor off, account deletion) share that allowance, whichever
# adapter (API or page) asks, and the service functions take the limiter as a required argument, so none
# can leave it out. A client that used it up is refused even the right password for the window, but the
# owner signing in from another address is not locked out by someone else's guesses. A per-account ceiling
# (CEILING_FACTOR times larger) stands behind it against guesses spread over many addresses.
FAILURES_SCOPE = "login:account"
CEILING_SCOPE = "login:account-ceiling"
CEILING_FACTOR = 10


def failed_password_limit(settings: Settings) -> str:
    """Wrong secrets tolerated per account and client address (sign-in and confirmations share it)."""
    return f"{settings.login_attempts_per_15min}/15minutes"


def account_ceiling_limit(settings: Settings) -> str:
    """Wrong secrets tolerated per account from all addresses together (the backstop)."""
    return f"{settings.login_attempts_per_15min * CEILING_FACTOR}/15minutes"


def _client_key(account: str, ip: str) -> str:
    return f"{account}|{ip}"


async def refuse_when_locked(account: str, *, ip: str, settings: Settings, limiter: RateLimiter) -> None:
    """429 `rate_limited` (with Retry-After) while the allowance of wrong secrets for `account` (its email)
    from `ip`, or the account's ceiling, is used up."""
    await limiter.check(FAILURES_SCOPE, _client_key(account, ip), limit=failed_password_limit(settings))
    await limiter.check(CEILING_SCOPE, account, limit=account_ceiling_limit(settings))


async def count_failure(account: str, *, ip: str, settings: Settings, limiter: RateLimiter) -> None:
    """Count one wrong password or code for `account` (its email) from `ip`, and against the ceiling."""
    await limiter.allowed(FAILURES_SCOPE, _client_key(account, ip), limit=failed_password_limit(settings))
    await limiter.allowed(CEILING_SCOPE, account, limit=account_ceiling_limit(settings))


async def clear_failures(account: str, *, ip: str, settings: Settings, limiter: RateLimiter) -> None:
    """Forget the wrong secrets of `ip` for `account` after a success there; the ceiling keeps counting
    (someone else's guesses are not forgiven by the owner's sign-in)."""
    await limiter.clear(FAILURES_SCOPE, _client_key(account, ip), limit=failed_password_limit(settings))


async def confirm_password(
    user: User, password: str, *, ip: str, settings: Settings, limiter: RateLimiter
) -> None:
    """400 `invalid_password` unless `password` is the user's. Checked against the allowance first (429
    once used up from this address, even for the right password) and a wrong one is counted, so a stolen
    session or access token is no password oracle."""
    await refuse_when_locked(user.email, ip=ip, settings=settings, limiter=limiter)
    if not await verify_password_async(password, user.password_hash):
        await count_failure(user.email, ip=ip, settings=settings, limiter=limiter)
        raise BadRequest("The password is wrong.", code="invalid_password")
