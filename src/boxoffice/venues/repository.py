"""Queries on cinemas, screens and seats."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.venues.models import Cinema, Screen, Seat


async def get_cinema(session: AsyncSession, cinema_id: int) -> Cinema | None:
    """The cinema with this id, if any."""
    return await session.get(Cinema, cinema_id)


async def get_cinemas(session: AsyncSession, cinema_ids: Sequence[int]) -> dict[int, Cinema]:
    """Cinemas by id."""
    if not cinema_ids:
        return {}
    rows = await session.scalars(select(Cinema).where(Cinema.id.in_(set(cinema_ids))))
    return {c.id: c for c in rows}


async def all_cinema_timezones(session: AsyncSession) -> dict[int, str]:
    """Every cinema's timezone, by id (a chain has tens of cinemas, not millions)."""
    rows = await session.execute(select(Cinema.id, Cinema.timezone))
    return dict(rows.all())


def _cinema_filters(stmt: Select[Any], *, city: str | None, owner_id: int | None) -> Select[Any]:
    if city:
        stmt = stmt.where(func.lower(Cinema.city) == city.lower())
    if owner_id is not None:
        stmt = stmt.where(Cinema.owner_id == owner_id)
    return stmt


async def list_cinemas(
    session: AsyncSession, *, city: str | None, owner_id: int | None, offset: int, limit: int
) -> tuple[list[Cinema], int]:
    """One page of cinemas by name, and the total."""
    stmt = _cinema_filters(select(Cinema), city=city, owner_id=owner_id)
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = await session.scalars(stmt.order_by(Cinema.name, Cinema.id).offset(offset).limit(limit))
    return list(rows), int(total or 0)


async def screen_counts(session: AsyncSession, cinema_ids: Sequence[int]) -> dict[int, int]:
    """How many screens each cinema has."""
    if not cinema_ids:
        return {}
    rows = await session.execute(
        select(Screen.cinema_id, func.count(Screen.id))
        .where(Screen.cinema_id.in_(set(cinema_ids)))
        .group_by(Screen.cinema_id)
    )
    return dict(rows.all())


async def get_screen(session: AsyncSession, screen_id: int) -> Screen | None:
    """The screen with this id, if any."""
    return await session.get(Screen, screen_id)


async def lock_screen(session: AsyncSession, screen_id: int) -> Screen | None:
    """The screen, its row locked until the transaction ends (PostgreSQL; SQLite writes are serialised)."""
    stmt = select(Screen).where(Screen.id == screen_id).with_for_update()
    return (await session.scalars(stmt.execution_options(populate_existing=True))).first()


async def find_screen_by_name(session: AsyncSession, *, cinema_id: int, name: str) -> Screen | None:
    """The cinema's screen called `name`, if any."""
    stmt = select(Screen).where(Screen.cinema_id == cinema_id, Screen.name == name)
    return (await session.scalars(stmt)).first()


async def list_screens(session: AsyncSession, *, cinema_id: int) -> list[Screen]:
    """The cinema's screens by name."""
    rows = await session.scalars(select(Screen).where(Screen.cinema_id == cinema_id).order_by(Screen.name))
    return list(rows)


async def seats_of_screen(session: AsyncSession, screen_id: int) -> list[Seat]:
    """The screen's seats, front row first, left to right."""
    rows = await session.scalars(select(Seat).where(Seat.screen_id == screen_id).order_by(Seat.y, Seat.x))
    return list(rows)


async def delete_seats(session: AsyncSession, screen_id: int) -> None:
    """Remove every seat of a screen (before a new layout)."""
    await session.execute(delete(Seat).where(Seat.screen_id == screen_id))


async def delete_screen(session: AsyncSession, screen_id: int) -> None:
    """Remove a screen and its seats (its showtimes must be gone first)."""
    await delete_seats(session, screen_id)
    await session.execute(delete(Screen).where(Screen.id == screen_id))


async def delete_cinema(session: AsyncSession, cinema_id: int) -> None:
    """Remove a cinema (its screens must be gone first)."""
    await session.execute(delete(Cinema).where(Cinema.id == cinema_id))
