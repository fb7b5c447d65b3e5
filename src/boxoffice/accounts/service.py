"""Account rules: registration, email verification, profile, password change and reset, deletion."""

from __future__ import annotations

import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts import repository as repo
from boxoffice.accounts.deferred import defer
from boxoffice.accounts.emails import (
    send_email_change_notice,
    send_password_changed,
    send_reset,
    send_verification,
)
from boxoffice.accounts.exceptions import InvalidEmailToken
from boxoffice.accounts.mfa import clear_mfa
from boxoffice.accounts.models import Role, TokenPurpose, User
from boxoffice.accounts.passwords import check_password, confirm_password
from boxoffice.accounts.security import hash_password_async
from boxoffice.accounts.sessions import ClientMeta, end_all_sessions
from boxoffice.audit.service import log_action
from boxoffice.config import Settings
from boxoffice.errors import Conflict
from boxoffice.kit.clock import utc_now
from boxoffice.kit.ids import hash_token
from boxoffice.kit.ratelimit import RateLimiter

# Per-address caps on emails we send on an anonymous request: over the cap the request still answers
# 202 (nothing is revealed) but no email goes out, so nobody can flood an inbox through us.
EMAILS_PER_ADDRESS = "3/hour"


def ip_limit(settings: Settings) -> str:
    """The per-IP limit on anonymous account requests (register, verify, resend, forgot, reset)."""
    return f"{settings.ip_requests_per_hour}/hour"


async def _audit(
    session: AsyncSession, action: str, *, user: User, actor: User | None, ip: str | None, **data: object
) -> None:
    await log_action(
        session,
        action=action,
        actor_id=actor.id if actor is not None else None,
        subject_type="user",
        subject_id=user.id,
        ip=ip,
        data=dict(data),
    )


async def register(
    session: AsyncSession,
    *,
    settings: Settings,
    limiter: RateLimiter,
    meta: ClientMeta,
    email: str,
    password: str,
    full_name: str,
) -> User:
    """Create a customer account and email a verification link."""
    await limiter.hit("register:ip", meta.ip, limit=ip_limit(settings))
    check_password(password, email=email, full_name=full_name)
    if await repo.email_in_use(session, email):
        raise Conflict("An account with this email already exists.", code="email_taken")
    user = User(
        email=email,
        full_name=full_name,
        role=Role.customer,
        password_hash=await hash_password_async(password),
    )
    session.add(user)
    await session.flush()
    await send_verification(session, settings=settings, user=user, email=email)
    await _audit(session, "account.registered", user=user, actor=user, ip=meta.ip)
    return user


async def verify_email(
    session: AsyncSession, *, settings: Settings, limiter: RateLimiter, meta: ClientMeta, token: str
) -> User:
    """Confirm the address a verification token was sent to (a pending change takes effect)."""
    await limiter.hit("verify:ip", meta.ip, limit=ip_limit(settings))
    now = utc_now()
    claimed = await repo.claim_account_token(
        session, token_hash=hash_token(token), purpose=TokenPurpose.verify_email, now=now
    )
    user = await repo.get_user(session, claimed.user_id) if claimed else None
    if claimed is None or user is None or not user.is_active or user.deleted_at is not None:
        raise InvalidEmailToken("This link is invalid, expired or already used.")
    if claimed.email == user.pending_email:
        if await repo.email_in_use(session, claimed.email, except_user_id=user.id):
            user.pending_email = None
            await session.flush()
            raise Conflict("Another account now uses this email.", code="email_taken")
        old = user.email
        user.email, user.pending_email, user.email_verified_at = claimed.email, None, now
        await _audit(
            session,
            "account.email_changed",
            user=user,
            actor=user,
            ip=meta.ip,
            previous_domain=old.split("@")[-1],
        )
    elif claimed.email == user.email:
        if user.email_verified_at is None:
            user.email_verified_at = now
        await _audit(session, "account.email_verified", user=user, actor=user, ip=meta.ip)
    else:
        raise InvalidEmailToken("This link is for an address the account no longer uses.")
    await session.flush()
    return user


async def resend_verification(
    session: AsyncSession, *, settings: Settings, limiter: RateLimiter, meta: ClientMeta, email: str
) -> None:
    """Send a fresh verification link if `email` belongs to an unverified account (after the answer)."""
    await limiter.hit("verify:ip", meta.ip, limit=ip_limit(settings))

    async def job(inner: AsyncSession) -> None:
        if not await limiter.allowed("email:address", email, limit=EMAILS_PER_ADDRESS):
            return
        user = await repo.get_user_by_email(inner, email)
        if user is None or not user.is_active or user.deleted_at is not None:
            return
        if user.email_verified_at is None:
            await send_verification(inner, settings=settings, user=user, email=user.email)
        elif user.pending_email:
            await send_verification(inner, settings=settings, user=user, email=user.pending_email)

    defer(session, job, name="resend-verification")


async def forgot_password(
    session: AsyncSession, *, settings: Settings, limiter: RateLimiter, meta: ClientMeta, email: str
) -> None:
    """Email a reset link if the account exists. The lookup runs after the answer (see deferred.py)."""
    await limiter.hit("reset:ip", meta.ip, limit=ip_limit(settings))

    async def job(inner: AsyncSession) -> None:
        if not await limiter.allowed("email:address", email, limit=EMAILS_PER_ADDRESS):
            return
        user = await repo.get_user_by_email(inner, email)
        if user is None or not user.is_active or user.deleted_at is not None:
            return
        await send_reset(inner, settings=settings, user=user)
        await _audit(inner, "account.password_reset_requested", user=user, actor=None, ip=meta.ip)

    defer(session, job, name="forgot-password")


async def reset_password(
    session: AsyncSession,
    *,
    settings: Settings,
    limiter: RateLimiter,
    meta: ClientMeta,
    token: str,
    new_password: str,
) -> None:
    """Set a new password from a reset link; every session of the account ends."""
    await limiter.hit("reset:ip", meta.ip, limit=ip_limit(settings))
    now = utc_now()
    claimed = await repo.claim_account_token(
        session, token_hash=hash_token(token), purpose=TokenPurpose.reset_password, now=now
    )
    user = await repo.get_user(session, claimed.user_id) if claimed else None
    if claimed is None or user is None or not user.is_active or user.deleted_at is not None:
        raise InvalidEmailToken("This link is invalid, expired or already used.")
    check_password(new_password, email=user.email, full_name=user.full_name)
    user.password_hash = await hash_password_async(new_password)
    user.password_changed_at = now
    if claimed.email == user.email and user.email_verified_at is None:
        user.email_verified_at = now  # the link reached this inbox
    await end_all_sessions(session, user=user)
    await send_password_changed(session, settings=settings, user=user, how="reset")
    await _audit(session, "account.password_reset", user=user, actor=user, ip=meta.ip)


async def update_profile(
    session: AsyncSession,
    *,
    settings: Settings,
    user: User,
    meta: ClientMeta,
    full_name: str | None,
    email: str | None,
) -> User:
    """Change the name at once; a new email is only used once confirmed through a link sent to it."""
    if full_name is not None and full_name != user.full_name:
        user.full_name = full_name
        await _audit(
            session, "account.profile_updated", user=user, actor=user, ip=meta.ip, fields=["full_name"]
        )
    if email is not None and email != user.email:
        if await repo.email_in_use(session, email, except_user_id=user.id):
            raise Conflict("An account with this email already exists.", code="email_taken")
        user.pending_email = email
        await send_verification(session, settings=settings, user=user, email=email)
        await send_email_change_notice(session, user=user, new_email=email)
        await _audit(session, "account.email_change_requested", user=user, actor=user, ip=meta.ip)
    elif email is not None and user.pending_email:
        user.pending_email = None  # asking for the current address again cancels a pending change
    await session.flush()
    return user


async def change_password(
    session: AsyncSession,
    *,
    settings: Settings,
    user: User,
    meta: ClientMeta,
    session_id: str | None,
    current_password: str,
    new_password: str,
    limiter: RateLimiter,
) -> None:
    """Replace the password; every other session ends (this one keeps its refresh token).

    A wrong `current_password` counts against the sign-in allowance (429 once used up)."""
    await confirm_password(user, current_password, ip=meta.ip, settings=settings, limiter=limiter)
    check_password(new_password, email=user.email, full_name=user.full_name)
    user.password_hash = await hash_password_async(new_password)
    user.password_changed_at = utc_now()
    await end_all_sessions(session, user=user, keep_family=session_id)
    await send_password_changed(session, settings=settings, user=user, how="changed")
    await _audit(session, "account.password_changed", user=user, actor=user, ip=meta.ip)


async def anonymise(session: AsyncSession, *, user: User) -> None:
    """Erase personal data, keep the row (bookings point at it), and end every session."""
    now = utc_now()
    user.email = f"deleted-{user.id}@invalid"
    user.full_name = "Deleted user"
    user.pending_email = None
    user.password_hash = await hash_password_async(secrets.token_urlsafe(32))
    user.is_active = False
    user.deleted_at = now
    await clear_mfa(session, user=user)
    await repo.delete_account_tokens(session, user_id=user.id)
    await end_all_sessions(session, user=user)


async def delete_own_account(
    session: AsyncSession,
    *,
    user: User,
    meta: ClientMeta,
    password: str,
    settings: Settings,
    limiter: RateLimiter,
) -> None:
    """Delete the caller's account after checking the password (limited like sign-in)."""
    await confirm_password(user, password, ip=meta.ip, settings=settings, limiter=limiter)
    if user.role == Role.admin:
        await repo.lock_admin_roster(session)  # serialised with admins deactivating or deleting admins
        if await repo.count_active_admins(session) <= 1:
            raise Conflict("The last admin cannot delete their account.", code="last_admin")
    await anonymise(session, user=user)
    await _audit(session, "account.deleted", user=user, actor=user, ip=meta.ip)
