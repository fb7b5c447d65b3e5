"""Account pages: sign in (with TOTP), register, verify, password reset, profile, two-factor, sign out."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts import mfa
from boxoffice.accounts import service as accounts
from boxoffice.accounts import sessions as signin
from boxoffice.accounts.deps import ClientMetaDep, LimiterDep
from boxoffice.accounts.exceptions import MfaRequired
from boxoffice.accounts.models import User
from boxoffice.accounts.schemas import (
    EmailOnly,
    MfaDisable,
    OtpConfirm,
    PasswordChange,
    PasswordConfirm,
    PasswordReset,
    UserCreate,
    UserUpdate,
    VerifyEmail,
)
from boxoffice.accounts.security import decode_access_token
from boxoffice.config import Settings
from boxoffice.deps import SessionDep, SettingsDep
from boxoffice.errors import AppError, RateLimited
from boxoffice.web.deps import PageUser, SignedInUser
from boxoffice.web.errors import safe_next
from boxoffice.web.forms import FormError, parse
from boxoffice.web.pages import see_other
from boxoffice.web.templating import render, web_session

router = APIRouter()

Text = Annotated[str, Form(max_length=400)]
OptionalText = Annotated[str, Form(max_length=400)]
Secret = Annotated[str, Form(max_length=200)]


async def _undo(session: AsyncSession, exc: Exception, user: User | None) -> None:
    """Roll back what a refused service call may have written (unless its error keeps its audit trail)."""
    if not isinstance(exc, AppError) or getattr(exc, "commit_changes", False):
        return
    await session.rollback()
    if user is not None:
        await session.refresh(user)


def _refusal(exc: FormError | AppError) -> str:
    """What to tell the person: the error's own sentence, or for a limit how long to wait."""
    if isinstance(exc, RateLimited):
        minutes = max(1, math.ceil(exc.retry_after / 60))
        wait = "1 minute" if minutes == 1 else f"{minutes} minutes"
        return f"Too many attempts. For your safety this is paused: please try again in about {wait}."
    return exc.message


def _refused(
    request: Request, name: str, context: dict[str, Any], exc: FormError | AppError, *, status: int = 422
) -> HTMLResponse:
    """The form again with why it was refused: a service error keeps its status (429 keeps its Retry-After,
    as the API's problem+json does); a form that does not validate answers `status`."""
    if isinstance(exc, FormError):
        return render(request, name, {**context, "error": exc.message}, status=status)
    response = render(request, name, {**context, "error": _refusal(exc)}, status=exc.status)
    if "Retry-After" in exc.headers:
        response.headers["Retry-After"] = exc.headers["Retry-After"]
    return response


def _start_session(request: Request, settings: Settings, *, access_token: str, refresh_token: str) -> None:
    claims = decode_access_token(settings, access_token)
    assert claims is not None
    assert claims.session_id is not None
    web_session(request).sign_in(user_id=claims.user_id, family=claims.session_id, refresh=refresh_token)


# --- sign in and out -----------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
async def login_page(
    request: Request,
    user: PageUser,
    next_url: Annotated[str | None, Query(alias="next", max_length=500)] = None,
) -> Response:
    """The sign-in form (signed-in visitors go straight on)."""
    if user is not None:
        return see_other(safe_next(next_url))
    return render(
        request, "account/login.html", {"next": safe_next(next_url), "email": "", "need_otp": False}
    )


@router.post("/login", response_class=HTMLResponse)
async def login_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    meta: ClientMetaDep,
    email: Text,
    password: Secret,
    otp: Annotated[str, Form(max_length=40)] = "",
    next_url: Annotated[str, Form(alias="next", max_length=500)] = "/",
) -> Response:
    """Check the credentials with the accounts service and open a page session."""
    target = safe_next(next_url)
    context = {"next": target, "email": email, "need_otp": bool(otp)}
    try:
        # No deliverability check on sign-in: an address that is not an account simply fails, and
        # demo or intranet accounts (e.g. @boxoffice.localhost) must still be able to sign in.
        address = email.strip().lower()
        if not address or "@" not in address or len(address) > 320 or not password:
            raise FormError("Enter your email address and password.")
        code = parse(OtpConfirm, otp=otp).otp if otp.strip() else None
        pair = await signin.login(
            session,
            settings=settings,
            limiter=limiter,
            meta=meta,
            email=address,
            password=password,
            otp=code,
        )
    except FormError as exc:
        return _refused(request, "account/login.html", context, exc)
    except MfaRequired as exc:
        return render(request, "account/login.html", {**context, "need_otp": True, "info": exc.message})
    except AppError as exc:
        await _undo(session, exc, None)
        return _refused(request, "account/login.html", context, exc)
    _start_session(request, settings, access_token=pair.access_token, refresh_token=pair.refresh_token)
    web_session(request).flash("Welcome back!", "success")
    return see_other(target)


@router.post("/logout")
async def logout(request: Request, session: SessionDep, user: PageUser) -> RedirectResponse:
    """End this browser's session (its accounts session is revoked too)."""
    web = web_session(request)
    if user is not None and web.refresh:
        await signin.logout(session, user=user, refresh_token=web.refresh)
    web.sign_out()
    web.flash("You are signed out.", "success")
    return see_other("/")


@router.post("/account/logout-all")
async def logout_everywhere(
    request: Request, session: SessionDep, user: SignedInUser, meta: ClientMetaDep
) -> RedirectResponse:
    """Sign out on every device, this one included."""
    await signin.logout_all(session, user=user, meta=meta)
    web = web_session(request)
    web.sign_out()
    web.flash("You are signed out on every device.", "success")
    return see_other("/login")


# --- registration and email verification ---------------------------------------------------------


@router.get("/register", response_class=HTMLResponse)
async def register_page(request: Request, user: PageUser) -> Response:
    """The registration form."""
    if user is not None:
        return see_other("/account")
    return render(request, "account/register.html", {"email": "", "full_name": ""})


@router.post("/register", response_class=HTMLResponse)
async def register_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    meta: ClientMetaDep,
    email: Text,
    full_name: Text,
    password: Secret,
) -> Response:
    """Create a customer account, send the verification email and sign the new customer in."""
    context = {"email": email, "full_name": full_name}
    try:
        data = parse(UserCreate, email=email, full_name=full_name, password=password)
        user = await accounts.register(
            session,
            settings=settings,
            limiter=limiter,
            meta=meta,
            email=data.email,
            password=data.password,
            full_name=data.full_name,
        )
    except FormError as exc:
        return _refused(request, "account/register.html", context, exc)
    except AppError as exc:
        await _undo(session, exc, None)
        return _refused(request, "account/register.html", context, exc)
    pair = await signin.issue_tokens(session, settings=settings, user=user, meta=meta)
    _start_session(request, settings, access_token=pair.access_token, refresh_token=pair.refresh_token)
    web_session(request).flash(
        f"Welcome! We sent a link to {user.email}: open it to confirm your address before booking.", "success"
    )
    return see_other("/account")


@router.get("/verify-email", response_class=HTMLResponse)
async def verify_page(
    request: Request, user: PageUser, token: Annotated[str, Query(max_length=300)] = ""
) -> HTMLResponse:
    """The landing page of the emailed link: one button confirms (link scanners do not press buttons)."""
    return render(request, "account/verify.html", {"token": token})


@router.post("/verify-email", response_class=HTMLResponse)
async def verify_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    meta: ClientMetaDep,
    user: PageUser,
    token: Annotated[str, Form(max_length=300)],
) -> Response:
    """Confirm the address."""
    try:
        data = parse(VerifyEmail, token=token)
        await accounts.verify_email(session, settings=settings, limiter=limiter, meta=meta, token=data.token)
    except (FormError, AppError) as exc:
        await _undo(session, exc, user)
        return _refused(request, "account/verify.html", {"token": ""}, exc, status=400)
    web_session(request).flash("Your email address is confirmed. Enjoy the show!", "success")
    return see_other("/account" if user is not None else "/login")


@router.post("/account/resend-verification")
async def resend_verification(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    meta: ClientMetaDep,
    user: SignedInUser,
) -> RedirectResponse:
    """Send the verification link again."""
    await accounts.resend_verification(
        session, settings=settings, limiter=limiter, meta=meta, email=user.email
    )
    web_session(request).flash("If your address still needs confirming, a new link is on its way.", "info")
    return see_other("/account")


# --- forgotten password -----------------------------------------------------------------------------


@router.get("/password/forgot", response_class=HTMLResponse)
async def forgot_page(request: Request, user: PageUser) -> HTMLResponse:
    """Ask for a reset link."""
    return render(request, "account/forgot.html", {"sent": False})


@router.post("/password/forgot", response_class=HTMLResponse)
async def forgot_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    meta: ClientMetaDep,
    user: PageUser,
    email: Text,
) -> HTMLResponse:
    """Send a reset link if the account exists (the page says the same either way)."""
    try:
        data = parse(EmailOnly, email=email)
    except FormError as exc:
        return _refused(request, "account/forgot.html", {"sent": False}, exc)
    try:
        await accounts.forgot_password(
            session, settings=settings, limiter=limiter, meta=meta, email=data.email
        )
    except AppError as exc:
        await _undo(session, exc, user)
        return _refused(request, "account/forgot.html", {"sent": False}, exc)
    return render(request, "account/forgot.html", {"sent": True})


@router.get("/reset-password", response_class=HTMLResponse)
async def reset_page(
    request: Request, user: PageUser, token: Annotated[str, Query(max_length=300)] = ""
) -> HTMLResponse:
    """Choose a new password (from the emailed link)."""
    return render(request, "account/reset.html", {"token": token})


@router.post("/reset-password", response_class=HTMLResponse)
async def reset_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    meta: ClientMetaDep,
    user: PageUser,
    token: Annotated[str, Form(max_length=300)],
    new_password: Secret,
) -> Response:
    """Set the new password; every session of the account ends, so sign in again."""
    try:
        data = parse(PasswordReset, token=token, new_password=new_password)
        await accounts.reset_password(
            session,
            settings=settings,
            limiter=limiter,
            meta=meta,
            token=data.token,
            new_password=data.new_password,
        )
    except (FormError, AppError) as exc:
        await _undo(session, exc, user)
        return _refused(request, "account/reset.html", {"token": token}, exc, status=400)
    web = web_session(request)
    web.sign_out()
    web.flash("Your password is changed. Please sign in with it.", "success")
    return see_other("/login")


# --- profile, password, two-factor, deletion -------------------------------------------------------


@router.get("/account", response_class=HTMLResponse)
async def account_page(request: Request, user: SignedInUser) -> HTMLResponse:
    """The profile and the account's security settings."""
    return render(
        request, "account/profile.html", {"form": {"full_name": user.full_name, "email": user.email}}
    )


@router.post("/account", response_class=HTMLResponse)
async def account_update(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    meta: ClientMetaDep,
    user: SignedInUser,
    full_name: Text,
    email: Text,
) -> Response:
    """Change the name, or ask to change the email (confirmed by a link sent to the new address)."""
    form = {"full_name": full_name, "email": email}
    try:
        data = parse(UserUpdate, full_name=full_name, email=email)
        before = user.pending_email
        await accounts.update_profile(
            session, settings=settings, user=user, meta=meta, full_name=data.full_name, email=data.email
        )
    except (FormError, AppError) as exc:
        await _undo(session, exc, user)
        return _refused(request, "account/profile.html", {"form": form}, exc, status=400)
    message = "Your profile is saved."
    if user.pending_email and user.pending_email != before:
        message += f" Open the link we sent to {user.pending_email} to switch to that address."
    web_session(request).flash(message, "success")
    return see_other("/account")


@router.get("/account/password", response_class=HTMLResponse)
async def password_page(request: Request, user: SignedInUser) -> HTMLResponse:
    """The change-password form."""
    return render(request, "account/password.html", {})


@router.post("/account/password", response_class=HTMLResponse)
async def password_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    meta: ClientMetaDep,
    user: SignedInUser,
    current_password: Secret,
    new_password: Secret,
) -> Response:
    """Change the password; other devices are signed out, this one stays. Wrong current passwords are
    limited as on the API (429 once the account's allowance is used up)."""
    try:
        data = parse(PasswordChange, current_password=current_password, new_password=new_password)
        await accounts.change_password(
            session,
            settings=settings,
            user=user,
            meta=meta,
            session_id=web_session(request).family,
            current_password=data.current_password,
            new_password=data.new_password,
            limiter=limiter,
        )
    except (FormError, AppError) as exc:
        await _undo(session, exc, user)
        return _refused(request, "account/password.html", {}, exc, status=400)
    web_session(request).flash("Your password is changed; other devices were signed out.", "success")
    return see_other("/account")


@router.get("/account/two-factor", response_class=HTMLResponse)
async def two_factor_page(request: Request, user: SignedInUser) -> HTMLResponse:
    """Two-factor status, and the buttons to set it up or turn it off."""
    return render(request, "account/two_factor.html", {"setup": None, "codes": None})


@router.post("/account/two-factor/setup", response_class=HTMLResponse)
async def two_factor_setup(request: Request, session: SessionDep, user: SignedInUser) -> HTMLResponse:
    """A new secret with its QR code; it is active once a code from it is confirmed."""
    try:
        setup = await mfa.setup_totp(session, user=user)
    except AppError as exc:
        await _undo(session, exc, user)
        return _refused(request, "account/two_factor.html", {"setup": None, "codes": None}, exc)
    return render(request, "account/two_factor.html", {"setup": setup, "codes": None})


@router.post("/account/two-factor/enable", response_class=HTMLResponse)
async def two_factor_enable(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    meta: ClientMetaDep,
    user: SignedInUser,
    otp: Annotated[str, Form(max_length=40)],
) -> HTMLResponse:
    """Turn two-factor on with a code from the app; shows the recovery codes once."""
    try:
        data = parse(OtpConfirm, otp=otp)
        codes = await mfa.enable_totp(session, settings=settings, user=user, otp=data.otp, ip=meta.ip)
    except (FormError, AppError) as exc:
        await _undo(session, exc, user)
        return _refused(request, "account/two_factor.html", {"setup": None, "codes": None}, exc, status=400)
    return render(request, "account/two_factor.html", {"setup": None, "codes": codes.recovery_codes})


@router.post("/account/two-factor/disable", response_class=HTMLResponse)
async def two_factor_disable(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    meta: ClientMetaDep,
    user: SignedInUser,
    password: Secret,
    otp: Annotated[str, Form(max_length=40)],
) -> Response:
    """Turn two-factor off (password and a current code; wrong ones are limited as on the API)."""
    try:
        data = parse(MfaDisable, password=password, otp=otp)
        await mfa.disable_totp(
            session,
            settings=settings,
            user=user,
            password=data.password,
            otp=data.otp,
            ip=meta.ip,
            limiter=limiter,
        )
    except (FormError, AppError) as exc:
        await _undo(session, exc, user)
        return _refused(request, "account/two_factor.html", {"setup": None, "codes": None}, exc, status=400)
    web_session(request).flash("Two-factor authentication is off.", "info")
    return see_other("/account/two-factor")


@router.get("/account/delete", response_class=HTMLResponse)
async def delete_page(request: Request, user: SignedInUser) -> HTMLResponse:
    """Confirm deleting the account."""
    return render(request, "account/delete.html", {})


@router.post("/account/delete", response_class=HTMLResponse)
async def delete_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    meta: ClientMetaDep,
    user: SignedInUser,
    password: Secret,
) -> Response:
    """Erase the account's personal data (bookings stay, anonymised) and sign out (wrong passwords are
    limited as on the API)."""
    try:
        data = parse(PasswordConfirm, password=password)
        await accounts.delete_own_account(
            session, user=user, meta=meta, password=data.password, settings=settings, limiter=limiter
        )
    except (FormError, AppError) as exc:
        await _undo(session, exc, user)
        return _refused(request, "account/delete.html", {}, exc, status=400)
    web = web_session(request)
    web.sign_out()
    web.flash("Your account is deleted. Thank you for coming to the movies with us.", "info")
    return see_other("/")
