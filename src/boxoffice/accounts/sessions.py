"""Sign-in sessions: login, access + refresh token pairs, rotation with reuse detection, logout."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from boxoffice.accounts import repository as repo
from boxoffice.accounts.exceptions import InvalidCredentials, InvalidOtp, InvalidRefreshToken, MfaRequired
from boxoffice.accounts.mfa import verify_second_factor
from boxoffice.accounts.models import RefreshToken, User
from boxoffice.accounts.passwords import clear_failures, count_failure, refuse_when_locked
from boxoffice.accounts.schemas import TokenPair, fold_email
from boxoffice.accounts.security import create_access_token, verify_password_async
from boxoffice.audit.service import log_action
from boxoffice.config import Settings
from boxoffice.db import create_sessionmaker, transaction
from boxoffice.kit.clock import utc_now
from boxoffice.kit.ids import hash_token, new_token
from boxoffice.kit.metrics import BUSINESS_EVENTS
from boxoffice.kit.ratelimit import RateLimiter


@dataclass(frozen=True)
class ClientMeta:
    """Where a request comes from (for the audit log and rate limits)."""

    ip: str
    user_agent: str | None = None


def ip_failure_limit(settings: Settings) -> str:
    """Failed sign-ins tolerated per client address, whatever the accounts (password spraying)."""
    return f"{settings.login_attempts_per_15min * 4}/15minutes"


async def issue_tokens(
    session: AsyncSession, *, settings: Settings, user: User, meta: ClientMeta, family_id: str | None = None
) -> TokenPair:
    """A new access token and a refresh token (in `family_id`, or a new session)."""
    family = family_id or uuid.uuid4().hex
    refresh = new_token()
    now = utc_now()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family,
            token_hash=hash_token(refresh),
            created_at=now,
            expires_at=now + timedelta(days=settings.refresh_token_days),
            ip=meta.ip[:64],
            user_agent=(meta.user_agent or "")[:200] or None,
        )
    )
    await session.flush()
    access, lifetime = create_access_token(settings, user_id=user.id, role=user.role.value, session_id=family)
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=lifetime)


async def _login_failed(
    session: AsyncSession,
    *,
    limiter: RateLimiter,
    settings: Settings,
    meta: ClientMeta,
    email: str,
    user: User | None,
    reason: str,
) -> None:
    await count_failure(email, ip=meta.ip, settings=settings, limiter=limiter)
    await limiter.allowed("login:ip", meta.ip, limit=ip_failure_limit(settings))
    BUSINESS_EVENTS.labels("login_failed").inc()
    await log_action(
        session,
        action="account.login_failed",
        actor_id=user.id if user else None,
        subject_type="user" if user else "",
        subject_id=user.id if user else "",
        ip=meta.ip,
        data={"reason": reason},
    )


async def _check_password(
    session: AsyncSession, *, email: str, password: str
) -> tuple[int | None, str | None, bool]:
    """(user id, the hash checked, whether the password matches). The lookup runs in its own short read
    transaction when the request's has not begun, so the argon2 check (tens to hundreds of ms) holds no
    database lock: on SQLite the request's write transaction would otherwise block every other writer."""
    engine = session.bind
    if session.in_transaction() or not isinstance(engine, AsyncEngine):
        user = await repo.get_user_by_email(session, email)
        user_id, password_hash = (user.id, user.password_hash) if user else (None, None)
    else:
        async with transaction(create_sessionmaker(engine), write=False) as reader:
            user = await repo.get_user_by_email(reader, email)
            user_id, password_hash = (user.id, user.password_hash) if user else (None, None)
    return user_id, password_hash, await verify_password_async(password, password_hash)


async def login(
    session: AsyncSession,
    *,
    settings: Settings,
    limiter: RateLimiter,
    meta: ClientMeta,
    email: str,
    password: str,
    otp: str | None,
) -> TokenPair:
    """Check the password (and second factor) and open a session; failures are limited (per account and
    client address, per address, and per account from everywhere) and audited."""
    email = fold_email(email)
    await refuse_when_locked(email, ip=meta.ip, settings=settings, limiter=limiter)
    await limiter.check("login:ip", meta.ip, limit=ip_failure_limit(settings))
    user_id, checked_hash, password_ok = await _check_password(session, email=email, password=password)
    user = await repo.get_user(session, user_id) if user_id is not None else None
    if user is not None and user.password_hash != checked_hash:
        password_ok = False  # the password changed while we were checking it
    if user is None or not password_ok or not user.is_active or user.deleted_at is not None:
        reason = "unknown_email" if user is None else "bad_password" if not password_ok else "inactive"
        await _login_failed(
            session, limiter=limiter, settings=settings, meta=meta, email=email, user=user, reason=reason
        )
        raise InvalidCredentials("The email or password is wrong.")
    if user.mfa_enabled:
        if not otp:
            raise MfaRequired("Enter the code from your authenticator app (or a recovery code).")
        if not await verify_second_factor(session, settings=settings, user=user, code=otp):
            await _login_failed(
                session,
                limiter=limiter,
                settings=settings,
                meta=meta,
                email=email,
                user=user,
                reason="bad_otp",
            )
            raise InvalidOtp("The two-factor code is wrong or was already used.")
    await clear_failures(email, ip=meta.ip, settings=settings, limiter=limiter)
    pair = await issue_tokens(session, settings=settings, user=user, meta=meta)
    BUSINESS_EVENTS.labels("login").inc()
    await log_action(
        session,
        action="account.login_succeeded",
        actor_id=user.id,
        subject_type="user",
        subject_id=user.id,
        ip=meta.ip,
        data={"mfa": user.mfa_enabled},
    )
    return pair


async def refresh(
    session: AsyncSession, *, settings: Settings, meta: ClientMeta, refresh_token: str
) -> TokenPair:
    """Rotate a refresh token; presenting a used one revokes its whole family (theft detection)."""
    now = utc_now()
    stored = await repo.get_refresh_token(session, hash_token(refresh_token))
    if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
        raise InvalidRefreshToken("The refresh token is invalid or expired.")
    if stored.used_at is not None or not await repo.mark_refresh_used(session, token_id=stored.id, now=now):
        await repo.revoke_family(session, family_id=stored.family_id, now=now)
        await log_action(
            session,
            action="account.refresh_token_reused",
            actor_id=stored.user_id,
            subject_type="user",
            subject_id=stored.user_id,
            ip=meta.ip,
            data={"family": stored.family_id},
        )
        raise InvalidRefreshToken("This refresh token was already used; the session has been revoked.")
    user = await repo.get_user(session, stored.user_id)
    if user is None or not user.is_active or user.deleted_at is not None:
        await repo.revoke_family(session, family_id=stored.family_id, now=now)
        raise InvalidRefreshToken("The account is not active.")
    return await issue_tokens(session, settings=settings, user=user, meta=meta, family_id=stored.family_id)


async def logout(session: AsyncSession, *, user: User, refresh_token: str) -> None:
    """End the session the refresh token belongs to (silently ignores tokens of other users)."""
    stored = await repo.get_refresh_token(session, hash_token(refresh_token))
    if stored is not None and stored.user_id == user.id:
        await repo.revoke_family(session, family_id=stored.family_id, now=utc_now())


async def end_all_sessions(session: AsyncSession, *, user: User, keep_family: str | None = None) -> None:
    """Revoke every session of the user (but `keep_family`); older access tokens stop working too."""
    now = utc_now()
    await repo.revoke_user_families(session, user_id=user.id, now=now, keep_family=keep_family)
    user.tokens_valid_after = now
    await session.flush()


async def logout_all(session: AsyncSession, *, user: User, meta: ClientMeta) -> None:
    """Sign out everywhere."""
    await end_all_sessions(session, user=user)
    await log_action(
        session,
        action="account.logout_all",
        actor_id=user.id,
        subject_type="user",
        subject_id=user.id,
        ip=meta.ip,
    )
