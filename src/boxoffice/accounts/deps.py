"""Who is calling: the current user from the bearer token, role guards, and account request helpers.

Two-factor for admins: with `require_mfa_for_admins`, an admin without two-factor can still sign in,
but every route answers 403 `mfa_setup_required` except the few that let them set it up (`GET /me`,
`/me/mfa/totp/*`, logout): those use `SetupUser` instead of `CurrentUser`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts import repository as repo
from boxoffice.accounts.models import Role, User
from boxoffice.accounts.security import AccessClaims, decode_access_token
from boxoffice.accounts.sessions import ClientMeta
from boxoffice.db import run_after_commit, write_intent
from boxoffice.deps import SessionDep, SettingsDep
from boxoffice.errors import AppError, Forbidden, Unauthorized
from boxoffice.kit.clock import utc_now
from boxoffice.kit.ratelimit import RateLimiter, client_ip

# Declares the Bearer scheme in OpenAPI (the Swagger Authorize button); the token itself is read by
# `bearer_token`, the one rule that the CSRF middleware shares.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None.

    This decides how a caller authenticates, for `get_optional_user` and for the page middleware's CSRF
    check alike: a request with a Bearer token is judged by that token alone (never by the page cookie)
    and needs no CSRF token; any other `Authorization` header (Basic, Digest, an empty Bearer) never
    authenticates, and the request is treated as if it had none, so a cookie-authenticated unsafe
    request still needs its CSRF token.
    """
    if not authorization:
        return None
    scheme, _, param = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return param.strip() or None


async def _user_from_token(
    request: Request, session: SessionDep, settings: SettingsDep, token: str | None
) -> User | None:
    if not token:
        return None
    claims = decode_access_token(settings, token)
    if claims is None:
        raise Unauthorized("The access token is invalid or expired.", code="invalid_token")
    user = await repo.get_user(session, claims.user_id)
    if user is None or not user.is_active or user.deleted_at is not None:
        raise Unauthorized("The account is not active.", code="invalid_token")
    if not await _session_still_valid(session, user, claims):
        raise Unauthorized("This session was ended (sign-out or password change).", code="invalid_token")
    request.state.user = user
    request.state.access_claims = claims
    return user


async def _session_still_valid(session: AsyncSession, user: User, claims: AccessClaims) -> bool:
    """True while the token's own session (refresh family) is live.

    Read from the database on every request, never cached in the process: sign-out, sign-out everywhere,
    a password change or reset and refresh-token reuse all revoke the family, and from that commit on
    every worker refuses the family's access tokens (one indexed lookup per bearer request). A token
    that names no session (minted directly, e.g. by tools) falls back to the account's cut-off: it
    dies when issued before it (`iat` has whole seconds, so the cut-off's own second counts as older).
    """
    if claims.session_id is not None:
        return await repo.family_is_live(session, user_id=user.id, family_id=claims.session_id, now=utc_now())
    cutoff = user.tokens_valid_after or user.password_changed_at
    return cutoff is None or claims.issued_at > cutoff


async def get_optional_user(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _scheme: Annotated[str | None, Depends(oauth2_scheme)],
) -> User | None:
    """The caller of a Bearer token, else of the page session the middleware checked, else None."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        cookie_user = getattr(request.state, "session_user_id", None)
        if cookie_user is not None:
            user = await session.get(User, cookie_user)
            if user is not None and user.is_active and user.deleted_at is None:
                return user
        return None
    return await _user_from_token(request, session, settings, token)


def carries_credentials(request: Request) -> bool:
    """False when `get_optional_user` would surely answer None: no Bearer token and no live page
    session. A route may then serve an anonymous answer without solving its dependencies at all."""
    if bearer_token(request.headers.get("authorization")) is not None:
        return True
    return getattr(request.state, "session_user_id", None) is not None


async def get_setup_user(user: Annotated[User | None, Depends(get_optional_user)]) -> User:
    """The signed-in caller, or 401, even an admin who still has to set up two-factor."""
    if user is None:
        raise Unauthorized("Sign in to continue.", code="not_authenticated")
    return user


async def get_current_user(user: Annotated[User, Depends(get_setup_user)], settings: SettingsDep) -> User:
    """The signed-in caller, or 401; 403 `mfa_setup_required` for an admin without required 2FA."""
    if settings.require_mfa_for_admins and user.role == Role.admin and not user.mfa_enabled:
        raise Forbidden(
            "Admins must turn on two-factor authentication first (/me/mfa/totp/setup).",
            code="mfa_setup_required",
        )
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
SetupUser = Annotated[User, Depends(get_setup_user)]
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


async def get_client_meta(request: Request) -> ClientMeta:
    """The caller's IP and user agent."""
    agent = request.headers.get("user-agent")
    return ClientMeta(ip=client_ip(request), user_agent=agent[:200] if agent else None)


async def get_rate_limiter(request: Request) -> RateLimiter:
    """The app's rate limiter."""
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


async def get_session_id(request: Request) -> str | None:
    """The refresh family of the access token used for this request, if any."""
    claims: AccessClaims | None = getattr(request.state, "access_claims", None)
    return claims.session_id if claims else None


async def get_auth_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Like SessionDep, but an error marked `commit_changes` (a failed sign-in, a reused refresh token)
    still commits, so that the audit entry and the revocation are kept while the caller gets a 401."""
    token = write_intent.set(True)
    try:
        async with request.app.state.sessionmaker() as session:
            try:
                yield session
            except AppError as exc:
                if getattr(exc, "commit_changes", False):
                    await session.commit()
                    await run_after_commit(session)
                else:
                    await session.rollback()
                raise
            except BaseException:
                await session.rollback()
                raise
            await session.commit()
            await run_after_commit(session)
    finally:
        write_intent.reset(token)


ClientMetaDep = Annotated[ClientMeta, Depends(get_client_meta)]
LimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]
SessionIdDep = Annotated[str | None, Depends(get_session_id)]
AuthSessionDep = Annotated[AsyncSession, Depends(get_auth_session, scope="function")]
