"""Account pages: sign in (with TOTP), register, verify, password reset, profile, two-factor, sign out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from boxoffice.web.deps import PageUser
from boxoffice.web.errors import safe_next
from boxoffice.web.templating import render, web_session

router = APIRouter()


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_page(
    request: Request,
    user: PageUser,
    next_url: Annotated[str | None, Query(alias="next", max_length=500)] = None,
) -> HTMLResponse:
    """The sign-in form."""
    return render(
        request, "account/login.html", {"next": safe_next(next_url), "email": "", "need_otp": False}
    )


@router.post("/logout")
async def logout(request: Request) -> RedirectResponse:
    """Forget this browser's session."""
    session = web_session(request)
    session.sign_out()
    session.flash("You are signed out.", "success")
    return _redirect("/")


_ = Form  # used by the forms below as they land
