"""The account emails: verification, reset, notices. Each is queued in the caller's transaction."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.models import AccountToken, TokenPurpose, User
from boxoffice.accounts.repository import retire_account_tokens
from boxoffice.config import Settings
from boxoffice.kit.clock import utc_now
from boxoffice.kit.ids import hash_token, new_token
from boxoffice.notifications.service import queue_email


def _link(settings: Settings, page: str, token: str) -> str:
    return f"{settings.base_url.rstrip('/')}/{page}?token={quote(token)}"


async def _issue(
    session: AsyncSession, *, user: User, purpose: TokenPurpose, email: str, lifetime: timedelta
) -> str:
    now = utc_now()
    await retire_account_tokens(session, user_id=user.id, purpose=purpose, now=now)
    token = new_token()
    session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=hash_token(token),
            email=email,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    await session.flush()
    return token


async def send_verification(session: AsyncSession, *, settings: Settings, user: User, email: str) -> None:
    """Email a single-use link that confirms `email` (the current or the pending address)."""
    hours = settings.verification_token_hours
    token = await _issue(
        session, user=user, purpose=TokenPurpose.verify_email, email=email, lifetime=timedelta(hours=hours)
    )
    await queue_email(
        session,
        to=email,
        subject="Confirm your email address",
        template="verify_email",
        context={
            "name": user.full_name,
            "email": email,
            "link": _link(settings, "verify-email", token),
            "hours": hours,
        },
    )


async def send_reset(session: AsyncSession, *, settings: Settings, user: User) -> None:
    """Email a single-use password-reset link."""
    minutes = settings.reset_token_minutes
    token = await _issue(
        session,
        user=user,
        purpose=TokenPurpose.reset_password,
        email=user.email,
        lifetime=timedelta(minutes=minutes),
    )
    await queue_email(
        session,
        to=user.email,
        subject="Reset your boxoffice password",
        template="reset_password",
        context=_reset_context(settings, user.full_name, token),
    )


def _reset_context(settings: Settings, name: str, token: str) -> dict[str, object]:
    return {
        "name": name,
        "link": _link(settings, "reset-password", token),
        "minutes": settings.reset_token_minutes,
    }


async def send_password_changed(session: AsyncSession, *, settings: Settings, user: User, how: str) -> None:
    """Tell the owner that the password was changed or reset."""
    await queue_email(
        session,
        to=user.email,
        subject="Your boxoffice password was changed",
        template="password_changed",
        context={
            "name": user.full_name,
            "how": how,
            "when": utc_now().strftime("%Y-%m-%d %H:%M"),
            "forgot_link": f"{settings.base_url.rstrip('/')}/password/forgot",
        },
    )


async def send_email_change_notice(session: AsyncSession, *, user: User, new_email: str) -> None:
    """Warn the current address that a change to `new_email` was requested."""
    await queue_email(
        session,
        to=user.email,
        subject="Email change requested on your boxoffice account",
        template="email_change_notice",
        context={"name": user.full_name, "new_email": new_email},
    )
