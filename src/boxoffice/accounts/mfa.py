"""TOTP two-factor authentication (pyotp) with hashed one-time recovery codes."""

from __future__ import annotations

import hmac
import io
import secrets
from urllib.parse import quote

import pyotp
import segno
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from boxoffice.accounts import repository as repo
from boxoffice.accounts.models import User
from boxoffice.accounts.passwords import confirm_password, count_failure
from boxoffice.accounts.schemas import MfaSetup, RecoveryCodes
from boxoffice.accounts.security import keyed_hash
from boxoffice.audit.service import log_action
from boxoffice.config import Settings
from boxoffice.errors import BadRequest, Conflict
from boxoffice.kit.clock import utc_now
from boxoffice.kit.ratelimit import RateLimiter

ISSUER = "boxoffice"
RECOVERY_CODES = 10
_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def _normalise_code(code: str) -> str:
    return code.strip().lower().replace(" ", "").replace("-", "")


def _totp_step(user: User, code: str) -> int | None:
    """The time step at which `code` is valid now (one step of drift allowed), if any."""
    if not user.totp_secret or not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(user.totp_secret)
    current = int(totp.timecode(utc_now()))
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


async def _accept_totp(session: AsyncSession, *, user: User, code: str) -> bool:
    """Spend the code's time step: one conditional UPDATE decides, so of concurrent sign-ins with one code
    (other workers, other connections) exactly one wins, whatever each of them read before."""
    step = _totp_step(user, code)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False  # wrong, or replayed (as far as this request has seen)
    if not await repo.claim_totp_step(session, user_id=user.id, step=step):
        return False  # a concurrent request spent this step (or a later one) first
    set_committed_value(user, "totp_last_step", step)
    return True


async def verify_second_factor(session: AsyncSession, *, settings: Settings, user: User, code: str) -> bool:
    """True for a fresh TOTP code or an unused recovery code (which is then spent)."""
    code = code.strip()
    if code.isdigit():
        return await _accept_totp(session, user=user, code=code)
    return await repo.use_recovery_code(
        session, user_id=user.id, code_hash=keyed_hash(settings, _normalise_code(code)), now=utc_now()
    )


async def setup_totp(session: AsyncSession, *, user: User) -> MfaSetup:
    """Generate a new secret (not active until confirmed with /enable) and its QR code."""
    if user.mfa_enabled:
        raise Conflict(
            "Two-factor authentication is already on; turn it off first.", code="mfa_already_enabled"
        )
    user.totp_secret = pyotp.random_base32()
    user.totp_last_step = None
    await session.flush()
    uri = pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=4)
    svg = buffer.getvalue().decode()
    return MfaSetup(
        secret=user.totp_secret,
        otpauth_uri=uri,
        qr_svg_data_uri="data:image/svg+xml;charset=utf-8," + quote(svg),
    )


async def enable_totp(
    session: AsyncSession, *, settings: Settings, user: User, otp: str, ip: str | None
) -> RecoveryCodes:
    """Turn two-factor on once a code from the new secret checks out; returns fresh recovery codes."""
    if user.mfa_enabled:
        raise Conflict("Two-factor authentication is already on.", code="mfa_already_enabled")
    if not user.totp_secret:
        raise Conflict("Start with /me/mfa/totp/setup.", code="mfa_not_set_up")
    if not await _accept_totp(session, user=user, code=otp.strip()):
        raise BadRequest("The code does not match; check the clock of your device.", code="invalid_otp")
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    await repo.replace_recovery_codes(
        session, user_id=user.id, code_hashes=[keyed_hash(settings, _normalise_code(c)) for c in codes]
    )
    user.mfa_enabled = True
    await log_action(
        session,
        action="account.mfa_enabled",
        actor_id=user.id,
        subject_type="user",
        subject_id=user.id,
        ip=ip,
    )
    return RecoveryCodes(recovery_codes=codes)


async def disable_totp(
    session: AsyncSession,
    *,
    settings: Settings,
    user: User,
    password: str,
    otp: str,
    ip: str | None,
    limiter: RateLimiter,
) -> None:
    """Turn two-factor off; needs the password and a current code (or a recovery code). A wrong password
    or code counts against the account's sign-in allowance, as at sign-in (429 once used up)."""
    if not user.mfa_enabled:
        raise Conflict("Two-factor authentication is not on.", code="mfa_not_enabled")
    client = ip or "unknown"
    await confirm_password(user, password, ip=client, settings=settings, limiter=limiter)
    if not await verify_second_factor(session, settings=settings, user=user, code=otp):
        await count_failure(user.email, ip=client, settings=settings, limiter=limiter)
        raise BadRequest("The two-factor code is wrong or was already used.", code="invalid_otp")
    await clear_mfa(session, user=user)
    await log_action(
        session,
        action="account.mfa_disabled",
        actor_id=user.id,
        subject_type="user",
        subject_id=user.id,
        ip=ip,
    )


async def clear_mfa(session: AsyncSession, *, user: User) -> None:
    """Forget the secret and the recovery codes."""
    user.mfa_enabled = False
    user.totp_secret = None
    user.totp_last_step = None
    await repo.delete_recovery_codes(session, user_id=user.id)
    await session.flush()
