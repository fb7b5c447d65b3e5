"""Small helpers shared by the page routes: the post/redirect/get answer and the delete confirmation."""

from __future__ import annotations

from collections.abc import Awaitable

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.errors import AppError
from boxoffice.web.templating import render, web_session


def see_other(url: str) -> RedirectResponse:
    """303 See Other to `url`: the answer to a successful (or refused) form post."""
    return RedirectResponse(url, status_code=303)


def delete_message(exc: AppError, what: str) -> str:
    """A plain sentence for a refused delete; `has_bookings` explains what to do instead."""
    if exc.code == "has_bookings":
        return f"{what} cannot be deleted because tickets were sold or are held: {exc.message}"
    return exc.message


async def delete_then_redirect(
    request: Request, session: AsyncSession, delete: Awaitable[object], *, what: str, done: str, back: str
) -> RedirectResponse:
    """Run a back-office delete and go back to `back`: flash `done`, or why it was refused (`what` names the
    thing in that sentence); a refused delete rolls back."""
    try:
        await delete
    except AppError as exc:
        await session.rollback()
        web_session(request).flash(delete_message(exc, what), "error")
        return see_other(back)
    web_session(request).flash(done, "success")
    return see_other(back)


def confirm_page(
    request: Request, *, title: str, action: str, back: str, warning: str, section: str
) -> HTMLResponse:
    """The "are you sure?" page: one POST button to `action`, and a way back."""
    return render(
        request,
        "backoffice/confirm_delete.html",
        {"title": title, "action": action, "back": back, "warning": warning, "section": section},
    )


async def start_over(session: AsyncSession, *objects: object) -> None:
    """After a service error: roll back, forget the booking presenter's cached showtimes and reload
    `objects` (the signed-in user...), since a rollback expires every object the session had loaded."""
    from boxoffice.booking.service import CONTEXTS_KEY

    await session.rollback()
    session.info.pop(CONTEXTS_KEY, None)
    for obj in objects:
        await session.refresh(obj)
