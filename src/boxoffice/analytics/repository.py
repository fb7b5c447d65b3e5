"""Analytics queries: one aggregate row per showtime, read from showtimes and their seat inventory."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.catalog.models import Movie
from boxoffice.kit.clock import as_utc
from boxoffice.showtimes.models import SeatStatus, Showtime, ShowtimeSeat, ShowtimeStatus
from boxoffice.venues.models import Cinema, Screen


@dataclass(frozen=True)
class ShowtimeRow:
    """Sold, held and sellable seats and revenue of one showtime."""

    showtime_id: int
    starts_at: datetime
    movie_id: int
    title: str
    cinema_id: int
    cinema_name: str
    timezone: str
    screen_name: str
    currency: str
    sold: int
    held: int
    capacity: int
    revenue: int


async def cinema_exists(session: AsyncSession, *, cinema_id: int) -> Cinema | None:
    """The cinema with this id, or None."""
    return await session.get(Cinema, cinema_id)


async def owned_cinema_ids(session: AsyncSession, *, owner_id: int) -> list[int]:
    """The ids of the cinemas run by `owner_id`."""
    result = await session.scalars(select(Cinema.id).where(Cinema.owner_id == owner_id))
    return list(result)


async def showtime_rows(
    session: AsyncSession,
    *,
    starts_from: datetime,
    starts_before: datetime,
    cinema_ids: list[int] | None,
    now: datetime,
) -> list[ShowtimeRow]:
    """One aggregate row per scheduled showtime starting in [starts_from, starts_before)."""
    seat = ShowtimeSeat
    live_hold = (seat.status == SeatStatus.held) & (seat.hold_expires_at > now)
    sold = func.coalesce(func.sum(case((seat.status == SeatStatus.sold, 1), else_=0)), 0)
    held = func.coalesce(func.sum(case((live_hold, 1), else_=0)), 0)
    capacity = func.coalesce(func.sum(case((seat.status != SeatStatus.blocked, 1), else_=0)), 0)
    revenue = func.coalesce(func.sum(case((seat.status == SeatStatus.sold, seat.price), else_=0)), 0)
    stmt = (
        select(
            Showtime.id,
            Showtime.starts_at,
            Showtime.movie_id,
            Movie.title,
            Showtime.cinema_id,
            Cinema.name,
            Cinema.timezone,
            Screen.name,
            Showtime.currency,
            sold,
            held,
            capacity,
            revenue,
        )
        .join(Movie, Movie.id == Showtime.movie_id)
        .join(Cinema, Cinema.id == Showtime.cinema_id)
        .join(Screen, Screen.id == Showtime.screen_id)
        .outerjoin(seat, seat.showtime_id == Showtime.id)
        .where(
            Showtime.starts_at >= starts_from,
            Showtime.starts_at < starts_before,
            Showtime.status == ShowtimeStatus.scheduled,
        )
        .group_by(
            Showtime.id,
            Showtime.starts_at,
            Showtime.movie_id,
            Movie.title,
            Showtime.cinema_id,
            Cinema.name,
            Cinema.timezone,
            Screen.name,
            Showtime.currency,
        )
        .order_by(Showtime.starts_at, Showtime.id)
    )
    if cinema_ids is not None:
        stmt = stmt.where(Showtime.cinema_id.in_(cinema_ids))
    rows = (await session.execute(stmt)).all()
    return [
        ShowtimeRow(
            showtime_id=r[0],
            starts_at=as_utc(r[1]),
            movie_id=r[2],
            title=r[3],
            cinema_id=r[4],
            cinema_name=r[5],
            timezone=r[6],
            screen_name=r[7],
            currency=r[8],
            sold=int(r[9]),
            held=int(r[10]),
            capacity=int(r[11]),
            revenue=int(r[12]),
        )
        for r in rows
    ]
