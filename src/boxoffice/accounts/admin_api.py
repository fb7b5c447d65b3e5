"""Admin routes for users: list and search, create (any role), change role, deactivate, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from boxoffice.accounts import admin_service
from boxoffice.accounts.deps import AdminUser, ClientMetaDep
from boxoffice.accounts.models import Role
from boxoffice.accounts.schemas import AdminUserCreate, AdminUserRead, AdminUserUpdate, SearchText
from boxoffice.deps import SessionDep
from boxoffice.kit.pagination import Page, PageDep

router = APIRouter(prefix="/admin/users", tags=["admin"])

UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("", response_model=Page[AdminUserRead])
async def list_users(
    session: SessionDep,
    _admin: AdminUser,
    page: PageDep,
    q: Annotated[SearchText | None, Query(description="Part of the email or name.")] = None,
    role: Role | None = None,
) -> Page[AdminUserRead]:
    """Users, newest first, searchable by `q` and `role`."""
    rows, total = await admin_service.list_users(
        session, q=q, role=role, offset=page.offset, limit=page.per_page
    )
    return Page(
        items=[AdminUserRead.model_validate(u) for u in rows],
        total=total,
        page=page.page,
        per_page=page.per_page,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AdminUserRead)
async def create_user(
    body: AdminUserCreate, session: SessionDep, admin: AdminUser, meta: ClientMetaDep
) -> AdminUserRead:
    """Create a customer, owner or admin account (verified from the start)."""
    user = await admin_service.create_user(
        session,
        admin=admin,
        ip=meta.ip,
        email=body.email,
        password=body.password,
        full_name=body.full_name,
        role=body.role,
    )
    return AdminUserRead.model_validate(user)


@router.get("/{user_id}", response_model=AdminUserRead)
async def get_user(user_id: UserId, session: SessionDep, _admin: AdminUser) -> AdminUserRead:
    """One user."""
    return AdminUserRead.model_validate(await admin_service.get_user(session, user_id=user_id))


@router.patch("/{user_id}", response_model=AdminUserRead)
async def update_user(
    user_id: UserId, body: AdminUserUpdate, session: SessionDep, admin: AdminUser, meta: ClientMetaDep
) -> AdminUserRead:
    """Change a user's role or deactivate / reactivate the account."""
    user = await admin_service.update_user(
        session, admin=admin, ip=meta.ip, user_id=user_id, role=body.role, is_active=body.is_active
    )
    return AdminUserRead.model_validate(user)


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_user(user_id: UserId, session: SessionDep, admin: AdminUser, meta: ClientMetaDep) -> None:
    """Erase a user's personal data (bookings stay, anonymised)."""
    await admin_service.delete_user(session, admin=admin, ip=meta.ip, user_id=user_id)
