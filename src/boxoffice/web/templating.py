"""Jinja2 for the pages: the environment, filters (money, local times) and one `render` helper."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import inspect

from boxoffice import __version__
from boxoffice.accounts.models import Role, User
from boxoffice.kit.clock import as_utc
from boxoffice.web.seats import TYPE_LABELS, seat_label
from boxoffice.web.sessions import WebSession

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
_CURRENCY_SIGNS = {"EUR": "€", "USD": "$", "GBP": "£"}


def money(amount: int | None, currency: str = "EUR") -> str:
    """1250, "EUR" -> "€12.50" (minor units in, human text out)."""
    if amount is None:
        return ""
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    text = f"{amount // 100}.{amount % 100:02d}"
    symbol = _CURRENCY_SIGNS.get(currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def local_time(value: datetime | None, tz: str | None = None, fmt: str = "%a %d %b, %H:%M") -> str:
    """A UTC instant shown in a cinema's timezone."""
    if value is None:
        return ""
    instant = as_utc(value)
    with contextlib.suppress(KeyError, ValueError):
        instant = instant.astimezone(ZoneInfo(tz)) if tz else instant
    return instant.strftime(fmt)


def static_url(path: str) -> str:
    """The URL of a static asset, versioned so browsers refetch after an upgrade."""
    return f"/static/{path}?v={__version__}"


def pct(value: float) -> str:
    """0.4567 -> "46%"."""
    return f"{round(value * 100)}%"


templates.env.filters["money"] = money
templates.env.filters["local"] = local_time
templates.env.filters["pct"] = pct
templates.env.globals["static"] = static_url
templates.env.globals["app_version"] = __version__
templates.env.globals["seat_label"] = seat_label
templates.env.globals["TYPE_LABELS"] = TYPE_LABELS


@dataclass(frozen=True)
class UserView:
    """What templates know about the signed-in user: plain values, safe after a rollback."""

    id: int
    email: str
    full_name: str
    role: Role
    email_verified: bool
    pending_email: str | None
    mfa_enabled: bool


def user_view(user: User) -> UserView:
    """A snapshot of `user` for the templates."""
    return UserView(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        role=user.role,
        email_verified=user.email_verified,
        pending_email=user.pending_email,
        mfa_enabled=user.mfa_enabled,
    )


def _current_user_view(request: Request) -> UserView | None:
    """The freshest view of the page's user: live values when the ORM object is usable, else the snapshot
    taken when the request started (an error page renders after the transaction rolled back)."""
    user = getattr(request.state, "page_user", None)
    snapshot: UserView | None = getattr(request.state, "page_user_view", None)
    if user is None:
        return snapshot
    state = inspect(user)
    if state.detached or state.expired_attributes:
        return snapshot
    return user_view(user)


def web_session(request: Request) -> WebSession:
    """The page session the middleware loaded (a fresh anonymous one when the middleware did not run)."""
    session = getattr(request.state, "web_session", None)
    if session is None:
        session = WebSession()
        request.state.web_session = session
    assert isinstance(session, WebSession)
    return session


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """Render a page template with the common context: user, CSRF token, flash messages."""
    session = web_session(request)
    values: dict[str, Any] = {
        "user": _current_user_view(request),
        "csrf_token": session.csrf_token(),
        "flashes": session.pop_flashes(),
        "path": request.url.path,
    }
    values.update(context or {})
    response: HTMLResponse = templates.TemplateResponse(request, name, values, status_code=status)
    return response
