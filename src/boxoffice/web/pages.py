"""Small helpers shared by the page routes: the post/redirect/get answer and the delete confirmation."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from boxoffice.errors import AppError
from boxoffice.web.templating import render


def see_other(url: str) -> RedirectResponse:
    """303 See Other to `url`: the answer to a successful (or refused) form post."""
    return RedirectResponse(url, status_code=303)


def delete_message(exc: AppError, what: str) -> str:
    """A plain sentence for a refused delete; `has_bookings` explains what to do instead."""
    if exc.code == "has_bookings":
        return f"{what} cannot be deleted because tickets were sold or are held: {exc.message}"
    return exc.message


def confirm_page(
    request: Request, *, title: str, action: str, back: str, warning: str, section: str
) -> HTMLResponse:
    """The "are you sure?" page: one POST button to `action`, and a way back."""
    return render(
        request,
        "backoffice/confirm_delete.html",
        {"title": title, "action": action, "back": back, "warning": warning, "section": section},
    )
