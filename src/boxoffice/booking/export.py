"""The `bookings` section of `GET /me/export`: every booking of the caller with seats, tickets, payments."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.export import register_export_section
from boxoffice.accounts.models import User
from boxoffice.booking import presenters
from boxoffice.booking import repository as repo

MAX_EXPORTED = 10_000


async def bookings_section(session: AsyncSession, user: User) -> list[dict[str, Any]]:
    """The caller's bookings as JSON (no card numbers exist to export: at most their last four digits)."""
    rows, _ = await repo.search_bookings(
        session,
        user_id=user.id,
        owner_id=None,
        status=None,
        showtime_id=None,
        reference=None,
        email=None,
        offset=0,
        limit=MAX_EXPORTED,
    )
    contexts: dict[int, Any] = {}
    return [
        (await presenters.booking_read(session, b, contexts=contexts)).model_dump(mode="json") for b in rows
    ]


def register() -> None:
    """Add the section to the account export (called once by the booking routes module)."""
    register_export_section("bookings", bookings_section)
