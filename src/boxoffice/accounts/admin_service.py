"""What admins do to accounts: list, create (any role), change role, (de)activate, delete."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts import repository as repo
from boxoffice.accounts.models import Role, User
from boxoffice.accounts.passwords import check_password
from boxoffice.accounts.security import hash_password_async
from boxoffice.accounts.service import anonymise
from boxoffice.accounts.sessions import end_all_sessions
from boxoffice.audit.service import log_action
from boxoffice.errors import Conflict, NotFound
from boxoffice.kit.clock import utc_now


async def _audit(
    session: AsyncSession, action: str, *, user: User, admin: User, ip: str | None, **data: object
) -> None:
    await log_action(
        session,
        action=action,
        actor_id=admin.id,
        subject_type="user",
        subject_id=user.id,
        ip=ip,
        data=dict(data),
    )


async def list_users(
    session: AsyncSession, *, q: str | None, role: Role | None, offset: int, limit: int
) -> tuple[Sequence[User], int]:
    """Users matching the search, newest first, and how many match."""
    return await repo.list_users(session, q=q.strip() if q else None, role=role, offset=offset, limit=limit)


async def get_user(session: AsyncSession, *, user_id: int) -> User:
    """The user, or 404."""
    user = await repo.get_user(session, user_id) if 0 < user_id < 2**31 else None
    if user is None:
        raise NotFound("No such user.", code="user_not_found")
    return user


async def create_user(
    session: AsyncSession,
    *,
    admin: User,
    ip: str | None,
    email: str,
    password: str,
    full_name: str,
    role: Role,
) -> User:
    """Create an account of any role; the admin vouches for the address, so it starts verified."""
    check_password(password, email=email, full_name=full_name)
    if await repo.email_in_use(session, email):
        raise Conflict("An account with this email already exists.", code="email_taken")
    user = User(
        email=email,
        full_name=full_name,
        role=role,
        password_hash=await hash_password_async(password),
        email_verified_at=utc_now(),
    )
    session.add(user)
    await session.flush()
    await _audit(session, "account.created", user=user, admin=admin, ip=ip, role=role.value)
    return user


async def lock_if_admin(session: AsyncSession, user: User) -> None:
    """When `user` is an admin, take the admin-roster lock and re-read the user, so that the last-admin
    check that follows sees every concurrent change (two admins deactivating each other at once)."""
    if user.role == Role.admin:
        await repo.lock_admin_roster(session)
        await session.refresh(user)


async def _ensure_not_last_admin(session: AsyncSession, user: User) -> None:
    """409 `last_admin` when `user` is the only active admin (the caller holds the roster lock)."""
    if user.role == Role.admin and user.is_active and await repo.count_active_admins(session) <= 1:
        raise Conflict("At least one active admin must remain.", code="last_admin")


async def update_user(
    session: AsyncSession,
    *,
    admin: User,
    ip: str | None,
    user_id: int,
    role: Role | None,
    is_active: bool | None,
) -> User:
    """Change role and/or activation; deactivation ends every session at once."""
    user = await get_user(session, user_id=user_id)
    await lock_if_admin(session, user)
    if user.deleted_at is not None:
        raise Conflict("The account was deleted.", code="user_deleted")
    if user.id == admin.id and ((role is not None and role != user.role) or is_active is False):
        raise Conflict("Admins cannot demote or deactivate themselves.", code="cannot_modify_self")
    if role is not None and role != user.role:
        if user.role == Role.admin:
            await _ensure_not_last_admin(session, user)
        old = user.role
        user.role = role
        await _audit(
            session, "account.role_changed", user=user, admin=admin, ip=ip, old=old.value, new=role.value
        )
    if is_active is not None and is_active != user.is_active:
        if not is_active:
            await _ensure_not_last_admin(session, user)
            await end_all_sessions(session, user=user)
        user.is_active = is_active
        await _audit(
            session,
            "account.activated" if is_active else "account.deactivated",
            user=user,
            admin=admin,
            ip=ip,
        )
    await session.flush()
    return user


async def delete_user(session: AsyncSession, *, admin: User, ip: str | None, user_id: int) -> None:
    """Erase the account's personal data (bookings stay, anonymised)."""
    user = await get_user(session, user_id=user_id)
    if user.id == admin.id:
        raise Conflict("Delete your own account from /me.", code="cannot_modify_self")
    await lock_if_admin(session, user)
    if user.deleted_at is not None:
        return
    await _ensure_not_last_admin(session, user)
    await anonymise(session, user=user)
    await _audit(session, "account.deleted", user=user, admin=admin, ip=ip)
