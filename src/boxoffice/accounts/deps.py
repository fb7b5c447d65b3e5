"""Who is calling: the current user from the bearer token, and role guards for routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from boxoffice.accounts.models import Role, User
from boxoffice.accounts.security import decode_access_token
from boxoffice.deps import SessionDep, SettingsDep
from boxoffice.errors import Forbidden, Unauthorized

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def _user_from_token(
    request: Request, session: SessionDep, settings: SettingsDep, token: str | None
) -> User | None:
    if not token:
        return None
    claims = decode_access_token(settings, token)
    if claims is None:
        raise Unauthorized("The access token is invalid or expired.", code="invalid_token")
    user = await session.get(User, claims.user_id)
    if user is None or not user.is_active or user.deleted_at is not None:
        raise Unauthorized("The account is not active.", code="invalid_token")
    if user.password_changed_at is not None and claims.issued_at < user.password_changed_at.replace(
        microsecond=0
    ):
        raise Unauthorized("The session ended when the password changed.", code="invalid_token")
    request.state.user = user
    return user


async def get_optional_user(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> User | None:
    """The caller when a bearer token (or a page session) is present, else None."""
    if token is None:
        cookie_user = getattr(request.state, "session_user_id", None)
        if cookie_user is not None:
            user = await session.get(User, cookie_user)
            if user is not None and user.is_active and user.deleted_at is None:
                return user
        return None
    return await _user_from_token(request, session, settings, token)


async def get_current_user(user: Annotated[User | None, Depends(get_optional_user)]) -> User:
    """The signed-in caller, or 401."""
    if user is None:
        raise Unauthorized("Sign in to continue.", code="not_authenticated")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
OptionalUser = Annotated[User | None, Depends(get_optional_user)]


def require_roles(*roles: Role) -> Callable[[User], Awaitable[User]]:
    """A dependency that lets only the given roles through (403 otherwise)."""

    async def guard(user: CurrentUser) -> User:
        if user.role not in roles:
            raise Forbidden("Your role does not allow this.", code="forbidden")
        return user

    return guard


AdminUser = Annotated[User, Depends(require_roles(Role.admin))]
StaffUser = Annotated[User, Depends(require_roles(Role.owner, Role.admin))]
