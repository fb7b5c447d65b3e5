"""Account queries: users, refresh-token families, one-time tokens, recovery codes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.models import AccountToken, RecoveryCode, RefreshToken, Role, TokenPurpose, User


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# Built once: every signed-in request runs it, and building a statement costs more CPU than running it.
_USER_BY_ID = select(User).where(User.id == bindparam("user_id"))


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    """The user with `user_id`, or None."""
    return (await session.scalars(_USER_BY_ID, {"user_id": user_id})).first()


async def get_user_for_update(session: AsyncSession, user_id: int) -> User | None:
    """The user row, locked for the rest of the transaction (PostgreSQL)."""
    result = await session.scalars(select(User).where(User.id == user_id).with_for_update())
    return result.first()


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    """The user whose current email is `email` (already normalised), or None."""
    result = await session.scalars(select(User).where(User.email == email))
    return result.first()


async def email_in_use(session: AsyncSession, email: str, *, except_user_id: int | None = None) -> bool:
    """True when `email` is some other account's current address."""
    query = select(User.id).where(User.email == email)
    if except_user_id is not None:
        query = query.where(User.id != except_user_id)
    return (await session.scalar(query.limit(1))) is not None


async def claim_totp_step(session: AsyncSession, *, user_id: int, step: int) -> bool:
    """Record `step` as the user's last spent TOTP step unless it (or a later one) already is; True when
    this call won. One conditional UPDATE, so concurrent sign-ins with one code cannot both pass."""
    result = await session.execute(
        update(User)
        .where(User.id == user_id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


# Any fixed 64-bit key of our own: every transaction that may remove an active admin takes this lock first.
_ADMIN_ROSTER_LOCK = 0x626F_7841_646D_696E  # "boxAdmin"


async def lock_admin_roster(session: AsyncSession) -> None:
    """Serialise changes that may remove an active admin, until the transaction ends. PostgreSQL: a
    transaction-level advisory lock (taken before any row lock of the change, so it cannot deadlock with
    them); the count that follows runs in a new READ COMMITTED snapshot and sees every change committed
    before the lock was granted. SQLite needs nothing: write transactions are serial (BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(_ADMIN_ROSTER_LOCK)))


async def count_active_admins(session: AsyncSession) -> int:
    """Active, undeleted admins."""
    query = select(func.count()).where(
        User.role == Role.admin, User.is_active.is_(True), User.deleted_at.is_(None)
    )
    return int(await session.scalar(query) or 0)


async def list_users(
    session: AsyncSession, *, q: str | None, role: Role | None, offset: int, limit: int
) -> tuple[Sequence[User], int]:
    """Users matching `q` (email or name, case-insensitive) and `role`, newest first, and the total."""
    query = select(User)
    if q:
        pattern = f"%{_escape_like(q.lower())}%"
        query = query.where(
            or_(User.email.like(pattern, escape="\\"), func.lower(User.full_name).like(pattern, escape="\\"))
        )
    if role is not None:
        query = query.where(User.role == role)
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = await session.scalars(query.order_by(User.id.desc()).offset(offset).limit(limit))
    return rows.all(), total


# --- one-time emailed tokens -------------------------------------------------------------------


async def retire_account_tokens(
    session: AsyncSession, *, user_id: int, purpose: TokenPurpose, now: datetime
) -> None:
    """Mark every unused token of `purpose` for the user as used (only the newest link works)."""
    await session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user_id, AccountToken.purpose == purpose, AccountToken.used_at.is_(None)
        )
        .values(used_at=now)
    )


async def claim_account_token(
    session: AsyncSession, *, token_hash: str, purpose: TokenPurpose, now: datetime
) -> AccountToken | None:
    """Use the token once: mark it used if it is unused and unexpired, and return it (else None)."""
    token = (
        await session.scalars(
            select(AccountToken).where(AccountToken.token_hash == token_hash, AccountToken.purpose == purpose)
        )
    ).first()
    if token is None or token.used_at is not None or token.expires_at <= now:
        return None
    result = await session.execute(
        update(AccountToken)
        .where(AccountToken.id == token.id, AccountToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return None  # a concurrent request used it first
    token.used_at = now
    return token


async def delete_account_tokens(session: AsyncSession, *, user_id: int) -> None:
    """Forget every emailed token of the user."""
    await session.execute(delete(AccountToken).where(AccountToken.user_id == user_id))


# --- refresh tokens ----------------------------------------------------------------------------


async def get_refresh_token(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    """The refresh token with this hash, or None."""
    return (await session.scalars(select(RefreshToken).where(RefreshToken.token_hash == token_hash))).first()


async def mark_refresh_used(session: AsyncSession, *, token_id: int, now: datetime) -> bool:
    """Rotate: mark the token used unless it already was (True when this call won)."""
    result = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == token_id, RefreshToken.used_at.is_(None), RefreshToken.revoked_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


async def revoke_family(session: AsyncSession, *, family_id: str, now: datetime) -> None:
    """Revoke every token of a sign-in session."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


async def revoke_user_families(
    session: AsyncSession, *, user_id: int, now: datetime, keep_family: str | None = None
) -> None:
    """Revoke every session of the user, except `keep_family` when given."""
    query = update(RefreshToken).where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
    if keep_family is not None:
        query = query.where(RefreshToken.family_id != keep_family)
    await session.execute(query.values(revoked_at=now).execution_options(synchronize_session=False))


async def family_is_live(session: AsyncSession, *, user_id: int, family_id: str, now: datetime) -> bool:
    """True when the session `family_id` of the user still has an unrevoked, unexpired token."""
    query = select(RefreshToken.id).where(
        RefreshToken.user_id == user_id,
        RefreshToken.family_id == family_id,
        RefreshToken.revoked_at.is_(None),
        RefreshToken.expires_at > now,
    )
    return (await session.scalar(query.limit(1))) is not None


# --- MFA recovery codes ------------------------------------------------------------------------


async def replace_recovery_codes(session: AsyncSession, *, user_id: int, code_hashes: Sequence[str]) -> None:
    """Drop the user's recovery codes and store new ones."""
    await delete_recovery_codes(session, user_id=user_id)
    session.add_all(RecoveryCode(user_id=user_id, code_hash=h) for h in code_hashes)
    await session.flush()


async def use_recovery_code(session: AsyncSession, *, user_id: int, code_hash: str, now: datetime) -> bool:
    """Spend an unused recovery code (True when it existed and was unused)."""
    result = await session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == code_hash,
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) >= 1


async def count_unused_recovery_codes(session: AsyncSession, *, user_id: int) -> int:
    """How many recovery codes the user has left."""
    query = select(func.count()).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    return int(await session.scalar(query) or 0)


async def delete_recovery_codes(session: AsyncSession, *, user_id: int) -> None:
    """Forget the user's recovery codes."""
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
