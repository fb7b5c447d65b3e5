"""Account routes: /auth (registration, sign-in, tokens, reset) and /me (profile, password, two-factor)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Response, status
from pydantic import ValidationError

from boxoffice.accounts import mfa, service, sessions
from boxoffice.accounts.deps import (
    AuthSessionDep,
    ClientMetaDep,
    CurrentUser,
    LimiterDep,
    SessionIdDep,
    SetupUser,
)
from boxoffice.accounts.export import export_user
from boxoffice.accounts.schemas import (
    Accepted,
    EmailOnly,
    ExportDocument,
    LoginRequest,
    MfaDisable,
    MfaSetup,
    OtpConfirm,
    PasswordChange,
    PasswordConfirm,
    PasswordReset,
    RecoveryCodes,
    RefreshRequest,
    TokenPair,
    UserCreate,
    UserRead,
    UserUpdate,
    VerifyEmail,
)
from boxoffice.deps import SessionDep, SettingsDep
from boxoffice.errors import Unprocessable

router = APIRouter(tags=["accounts"])

_ACCEPTED = "If the address belongs to an account, an email is on its way."


@router.post("/auth/register", status_code=status.HTTP_201_CREATED, response_model=UserRead)
async def register(
    body: UserCreate, session: SessionDep, settings: SettingsDep, limiter: LimiterDep, meta: ClientMetaDep
) -> UserRead:
    """Create a customer account; a verification link is emailed."""
    user = await service.register(
        session,
        settings=settings,
        limiter=limiter,
        meta=meta,
        email=body.email,
        password=body.password,
        full_name=body.full_name,
    )
    return UserRead.model_validate(user)


@router.post("/auth/verify-email", response_model=UserRead)
async def verify_email(
    body: VerifyEmail, session: SessionDep, settings: SettingsDep, limiter: LimiterDep, meta: ClientMetaDep
) -> UserRead:
    """Confirm an email address with the token from the link."""
    user = await service.verify_email(
        session, settings=settings, limiter=limiter, meta=meta, token=body.token
    )
    return UserRead.model_validate(user)


@router.post("/auth/resend-verification", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted)
async def resend_verification(
    body: EmailOnly, session: SessionDep, settings: SettingsDep, limiter: LimiterDep, meta: ClientMetaDep
) -> Accepted:
    """Send the verification link again (the answer is the same for every address)."""
    await service.resend_verification(
        session, settings=settings, limiter=limiter, meta=meta, email=body.email
    )
    return Accepted(detail=_ACCEPTED)


@router.post("/auth/login", response_model=TokenPair)
async def login(
    body: LoginRequest,
    session: AuthSessionDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    meta: ClientMetaDep,
) -> TokenPair:
    """Sign in with email and password (and a two-factor code when it is on)."""
    return await sessions.login(
        session,
        settings=settings,
        limiter=limiter,
        meta=meta,
        email=body.email,
        password=body.password,
        otp=body.otp,
    )


@router.post("/auth/token", response_model=TokenPair, include_in_schema=True)
async def token(
    username: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=128)],
    session: AuthSessionDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    meta: ClientMetaDep,
    client_secret: Annotated[str | None, Form(max_length=64)] = None,
) -> TokenPair:
    """OAuth2 password flow for Swagger's Authorize button (username = email; a TOTP code may go in
    `client_secret`)."""
    try:
        body = LoginRequest(email=username, password=password, otp=client_secret or None)
    except ValidationError as exc:
        raise Unprocessable("Invalid username or password format.", code="validation_error") from exc
    return await sessions.login(
        session,
        settings=settings,
        limiter=limiter,
        meta=meta,
        email=body.email,
        password=body.password,
        otp=body.otp,
    )


@router.post("/auth/refresh", response_model=TokenPair)
async def refresh(
    body: RefreshRequest, session: AuthSessionDep, settings: SettingsDep, meta: ClientMetaDep
) -> TokenPair:
    """Trade a refresh token for a new pair; a reused token ends its whole session."""
    return await sessions.refresh(session, settings=settings, meta=meta, refresh_token=body.refresh_token)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def logout(body: RefreshRequest, user: SetupUser, session: SessionDep) -> None:
    """End the session of this refresh token."""
    await sessions.logout(session, user=user, refresh_token=body.refresh_token)


@router.post("/auth/logout-all", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def logout_all(user: SetupUser, session: SessionDep, meta: ClientMetaDep) -> None:
    """End every session of the caller, this one included."""
    await sessions.logout_all(session, user=user, meta=meta)


@router.post("/auth/password/forgot", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted)
async def forgot_password(
    body: EmailOnly, session: SessionDep, settings: SettingsDep, limiter: LimiterDep, meta: ClientMetaDep
) -> Accepted:
    """Email a reset link (the answer is the same for every address)."""
    await service.forgot_password(session, settings=settings, limiter=limiter, meta=meta, email=body.email)
    return Accepted(detail=_ACCEPTED)


@router.post("/auth/password/reset", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def reset_password(
    body: PasswordReset, session: SessionDep, settings: SettingsDep, limiter: LimiterDep, meta: ClientMetaDep
) -> None:
    """Set a new password with the token from the link; every session ends."""
    await service.reset_password(
        session,
        settings=settings,
        limiter=limiter,
        meta=meta,
        token=body.token,
        new_password=body.new_password,
    )


@router.get("/me", response_model=UserRead)
async def read_me(user: SetupUser) -> UserRead:
    """The caller's profile."""
    return UserRead.model_validate(user)


@router.patch("/me", response_model=UserRead)
async def update_me(
    body: UserUpdate, user: CurrentUser, session: SessionDep, settings: SettingsDep, meta: ClientMetaDep
) -> UserRead:
    """Change the name, or ask to change the email (confirmed through a link sent to the new address)."""
    updated = await service.update_profile(
        session, settings=settings, user=user, meta=meta, full_name=body.full_name, email=body.email
    )
    return UserRead.model_validate(updated)


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_me(
    body: PasswordConfirm,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    meta: ClientMetaDep,
) -> None:
    """Delete the account: personal data is erased, bookings are kept anonymised."""
    await service.delete_own_account(
        session, user=user, meta=meta, password=body.password, settings=settings, limiter=limiter
    )


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def change_password(
    body: PasswordChange,
    user: CurrentUser,
    session_id: SessionIdDep,
    session: SessionDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    meta: ClientMetaDep,
) -> None:
    """Change the password; every other session ends."""
    await service.change_password(
        session,
        settings=settings,
        user=user,
        meta=meta,
        session_id=session_id,
        current_password=body.current_password,
        new_password=body.new_password,
        limiter=limiter,
    )


@router.post("/me/mfa/totp/setup", response_model=MfaSetup)
async def mfa_setup(user: SetupUser, session: SessionDep) -> MfaSetup:
    """A new TOTP secret, its otpauth URI and QR code (active once confirmed with /enable)."""
    return await mfa.setup_totp(session, user=user)


@router.post("/me/mfa/totp/enable", response_model=RecoveryCodes)
async def mfa_enable(
    body: OtpConfirm, user: SetupUser, session: SessionDep, settings: SettingsDep, meta: ClientMetaDep
) -> RecoveryCodes:
    """Turn two-factor on with a code from the app; returns one-time recovery codes (shown once)."""
    return await mfa.enable_totp(session, settings=settings, user=user, otp=body.otp, ip=meta.ip)


@router.post("/me/mfa/totp/disable", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def mfa_disable(
    body: MfaDisable,
    user: SetupUser,
    session: SessionDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    meta: ClientMetaDep,
) -> None:
    """Turn two-factor off (password and a current code needed)."""
    await mfa.disable_totp(
        session,
        settings=settings,
        user=user,
        password=body.password,
        otp=body.otp,
        ip=meta.ip,
        limiter=limiter,
    )


@router.get("/me/export", response_model=ExportDocument)
async def export_me(user: CurrentUser, session: SessionDep) -> ExportDocument:
    """Everything stored about the caller, as one JSON document."""
    return await export_user(session, user=user)
