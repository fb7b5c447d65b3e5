"""Page dependencies: the signed-in user of a page, role guards and the CSRF check of every form."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from boxoffice.accounts.deps import get_optional_user
from boxoffice.accounts.models import Role, User
from boxoffice.errors import Forbidden, Unauthorized
from boxoffice.web.sessions import csrf_matches
from boxoffice.web.templating import user_view, web_session

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def verify_csrf(request: Request) -> None:
    """Refuse an unsafe page request whose form (or X-CSRF-Token header) lacks the session's token."""
    if request.method not in UNSAFE:
        return
    candidate = request.headers.get("x-csrf-token")
    if candidate is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get("csrf_token")
        candidate = value if isinstance(value, str) else None
    if not csrf_matches(web_session(request), candidate):
        raise Forbidden("The form's security token is missing or stale.", code="csrf_failed")


async def page_user(
    request: Request, user: Annotated[User | None, Depends(get_optional_user)]
) -> User | None:
    """The signed-in user of the page (from the session cookie), remembered for the templates."""
    request.state.page_user = user
    request.state.page_user_view = user_view(user) if user is not None else None
    return user


async def signed_in(user: Annotated[User | None, Depends(page_user)]) -> User:
    """The signed-in user, or a redirect to the sign-in page (401)."""
    if user is None:
        raise Unauthorized("Please sign in to continue.", code="not_authenticated")
    return user


async def staff(user: Annotated[User, Depends(signed_in)]) -> User:
    """An owner or admin; anyone else sees the "not allowed" page."""
    if user.role not in (Role.owner, Role.admin):
        raise Forbidden("The back office is for cinema owners and admins.", code="forbidden")
    return user


async def admin(user: Annotated[User, Depends(signed_in)]) -> User:
    """An admin only."""
    if user.role != Role.admin:
        raise Forbidden("This page is for admins.", code="forbidden")
    return user


# A path id: out-of-range numbers are a friendly 422 page, never a database overflow.
DbId = Annotated[int, Path(ge=1, le=2**31 - 1)]
PageUser = Annotated[User | None, Depends(page_user)]
SignedInUser = Annotated[User, Depends(signed_in)]
StaffPageUser = Annotated[User, Depends(staff)]
AdminPageUser = Annotated[User, Depends(admin)]
