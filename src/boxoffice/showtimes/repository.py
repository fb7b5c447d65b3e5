"""Queries on showtimes and their seat inventory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    delete,
    exists,
    false,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.catalog.models import Movie
from boxoffice.errors import Conflict
from boxoffice.showtimes.models import SeatStatus, Showtime, ShowtimeSeat, ShowtimeStatus
from boxoffice.venues.models import Cinema, Screen


async def get_showtime(session: AsyncSession, showtime_id: int) -> Showtime | None:
    """The showtime with this id, if any."""
    return await session.get(Showtime, showtime_id)


# Built once (the booking hot path runs it for every hold): building costs more CPU than running it.
_SHOWTIME_CONTEXT = (
    select(Showtime, Movie, Screen, Cinema)
    .join(Movie, Movie.id == Showtime.movie_id)
    .join(Screen, Screen.id == Showtime.screen_id)
    .join(Cinema, Cinema.id == Showtime.cinema_id)
    .where(Showtime.id == bindparam("showtime_id"))
)


async def get_showtime_context(
    session: AsyncSession, showtime_id: int
) -> tuple[Showtime, Movie, Screen, Cinema] | None:
    """The showtime with its movie, screen and cinema, in one query."""
    row = (await session.execute(_SHOWTIME_CONTEXT, {"showtime_id": showtime_id})).first()
    return None if row is None else (row[0], row[1], row[2], row[3])


async def find_overlap(
    session: AsyncSession, *, screen_id: int, starts_at: datetime, ends_at: datetime, exclude_id: int | None
) -> Showtime | None:
    """A scheduled showtime on the screen whose time range overlaps [starts_at, ends_at)."""
    stmt = select(Showtime).where(
        Showtime.screen_id == screen_id,
        Showtime.status == ShowtimeStatus.scheduled,
        Showtime.starts_at < ends_at,
        Showtime.ends_at > starts_at,
    )
    if exclude_id is not None:
        stmt = stmt.where(Showtime.id != exclude_id)
    return (await session.scalars(stmt.limit(1))).first()


async def insert_inventory(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk-insert the seat inventory of a showtime."""
    if rows:
        await session.execute(insert(ShowtimeSeat), list(rows))


def _live_seat(now: datetime) -> ColumnElement[bool]:
    return or_(
        ShowtimeSeat.status == SeatStatus.sold,
        and_(ShowtimeSeat.status == SeatStatus.held, ShowtimeSeat.hold_expires_at > now),
    )


async def has_live_seats(
    session: AsyncSession,
    *,
    now: datetime,
    showtime_id: int | None = None,
    movie_id: int | None = None,
    screen_id: int | None = None,
    cinema_id: int | None = None,
) -> bool:
    """True when a sold or (live) held seat exists for the showtime(s) selected by the given filter."""
    cond: list[ColumnElement[bool]] = []
    if showtime_id is not None:
        cond.append(ShowtimeSeat.showtime_id == showtime_id)
    else:
        showtimes = select(Showtime.id)
        if movie_id is not None:
            showtimes = showtimes.where(Showtime.movie_id == movie_id)
        if screen_id is not None:
            showtimes = showtimes.where(Showtime.screen_id == screen_id)
        if cinema_id is not None:
            showtimes = showtimes.where(Showtime.cinema_id == cinema_id)
        cond.append(ShowtimeSeat.showtime_id.in_(showtimes))
    stmt = select(exists().where(*cond, _live_seat(now)))
    return bool(await session.scalar(stmt))


@asynccontextmanager
async def still_referenced(what: str) -> AsyncIterator[None]:
    """Turn a foreign-key refusal while deleting (old, cancelled or expired bookings still point at the
    showtime) into 409 `has_bookings`; the request's transaction is rolled back."""
    try:
        yield
    except IntegrityError:
        raise Conflict(
            f"The {what} has booking records (past, cancelled or refunded); cancel showtimes instead.",
            code="has_bookings",
        ) from None


async def delete_showtimes(
    session: AsyncSession, *, movie_id: int | None = None, screen_id: int | None = None
) -> None:
    """Delete the showtimes (and their inventory) of a movie or a screen."""
    cond = Showtime.movie_id == movie_id if movie_id is not None else Showtime.screen_id == screen_id
    ids = select(Showtime.id).where(cond)
    await session.execute(delete(ShowtimeSeat).where(ShowtimeSeat.showtime_id.in_(ids)))
    await session.execute(delete(Showtime).where(cond))


async def delete_showtime(session: AsyncSession, showtime_id: int) -> None:
    """Delete one showtime and its inventory."""
    await session.execute(delete(ShowtimeSeat).where(ShowtimeSeat.showtime_id == showtime_id))
    await session.execute(delete(Showtime).where(Showtime.id == showtime_id))


async def reprice_unsold(session: AsyncSession, *, showtime_id: int, prices: dict[str, int]) -> None:
    """Set new prices on the seats that are not sold (sold seats keep what was paid)."""
    for seat_type, amount in prices.items():
        await session.execute(
            update(ShowtimeSeat)
            .where(
                ShowtimeSeat.showtime_id == showtime_id,
                ShowtimeSeat.seat_type == seat_type,
                ShowtimeSeat.status != SeatStatus.sold,
            )
            .values(price=amount, version=ShowtimeSeat.version + 1)
        )


SEAT_MAP_COLUMNS = (
    ShowtimeSeat.seat_id,
    ShowtimeSeat.row,
    ShowtimeSeat.number,
    ShowtimeSeat.x,
    ShowtimeSeat.y,
    ShowtimeSeat.seat_type,
    ShowtimeSeat.status,
    ShowtimeSeat.price,
    ShowtimeSeat.holder_id,
    ShowtimeSeat.hold_expires_at,
    ShowtimeSeat.version,
    Showtime.currency,
)


async def seat_map_rows(session: AsyncSession, showtime_id: int) -> list[Any]:
    """Every seat of the showtime as plain rows (no ORM objects), front row first: one query."""
    stmt = (
        select(*SEAT_MAP_COLUMNS)
        .join(Showtime, Showtime.id == ShowtimeSeat.showtime_id)
        .where(ShowtimeSeat.showtime_id == showtime_id)
        .order_by(ShowtimeSeat.y, ShowtimeSeat.x)
    )
    return list((await session.execute(stmt)).all())


# Built once, like _SHOWTIME_CONTEXT: every signed-in seat map runs it.
_HOLDER_HAS_SEATS = select(
    exists().where(
        ShowtimeSeat.showtime_id == bindparam("showtime_id"),
        ShowtimeSeat.holder_id == bindparam("user_id"),
        or_(
            ShowtimeSeat.status.in_((SeatStatus.sold, SeatStatus.blocked)),
            and_(
                ShowtimeSeat.status == SeatStatus.held,
                ShowtimeSeat.hold_expires_at > bindparam("now", type_=ShowtimeSeat.hold_expires_at.type),
            ),
        ),
    )
)


async def holder_has_seats(session: AsyncSession, *, showtime_id: int, user_id: int, now: datetime) -> bool:
    """True when `user_id` holds (a live hold), owns or has blocked a seat of the showtime: one EXISTS on
    the showtime's rows of the unique (showtime_id, seat_id) index, stopping at the first match."""
    params = {"showtime_id": showtime_id, "user_id": user_id, "now": now}
    return bool(await session.scalar(_HOLDER_HAS_SEATS, params))


ShowtimeRow = tuple[Showtime, str, str, str, str]


def _listing(
    *,
    cinema_id: int | None,
    movie_id: int | None,
    screen_id: int | None,
    fmt: str | None,
    language: str | None,
    windows: Sequence[tuple[int, datetime, datetime]] | None,
    after: datetime | None,
    include_cancelled: bool,
) -> Any:
    stmt = (
        select(Showtime, Movie.title, Screen.name, Cinema.name, Cinema.timezone)
        .join(Movie, Movie.id == Showtime.movie_id)
        .join(Screen, Screen.id == Showtime.screen_id)
        .join(Cinema, Cinema.id == Showtime.cinema_id)
    )
    if cinema_id is not None:
        stmt = stmt.where(Showtime.cinema_id == cinema_id)
    if movie_id is not None:
        stmt = stmt.where(Showtime.movie_id == movie_id)
    if screen_id is not None:
        stmt = stmt.where(Showtime.screen_id == screen_id)
    if fmt:
        stmt = stmt.where(func.lower(Showtime.format) == fmt.lower())
    if language:
        stmt = stmt.where(func.lower(Showtime.language) == language.lower())
    if windows is not None:
        stmt = stmt.where(in_local_day(windows))
    if after is not None:
        stmt = stmt.where(Showtime.starts_at >= after)
    if not include_cancelled:
        stmt = stmt.where(Showtime.status == ShowtimeStatus.scheduled)
    return stmt


def in_local_day(windows: Sequence[tuple[int, datetime, datetime]]) -> ColumnElement[bool]:
    """Showtimes starting inside their own cinema's local day: one (cinema, UTC window) pair per cinema."""
    if not windows:
        return false()
    return or_(
        *(
            and_(Showtime.cinema_id == cid, Showtime.starts_at >= start, Showtime.starts_at < end)
            for cid, start, end in windows
        )
    )


async def list_showtimes(
    session: AsyncSession,
    *,
    cinema_id: int | None = None,
    movie_id: int | None = None,
    screen_id: int | None = None,
    fmt: str | None = None,
    language: str | None = None,
    windows: Sequence[tuple[int, datetime, datetime]] | None = None,
    after: datetime | None = None,
    include_cancelled: bool = False,
    offset: int = 0,
    limit: int = 100,
) -> tuple[list[ShowtimeRow], int]:
    """One page of showtimes (with movie title, screen name, cinema name and timezone), and the total."""
    stmt = _listing(
        cinema_id=cinema_id,
        movie_id=movie_id,
        screen_id=screen_id,
        fmt=fmt,
        language=language,
        windows=windows,
        after=after,
        include_cancelled=include_cancelled,
    )
    total = await session.scalar(
        select(func.count()).select_from(stmt.with_only_columns(Showtime.id).subquery())
    )
    rows = await session.execute(stmt.order_by(Showtime.starts_at, Showtime.id).offset(offset).limit(limit))
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows], int(total or 0)


async def seat_status_counts(
    session: AsyncSession, showtime_ids: Sequence[int], now: datetime
) -> dict[int, int]:
    """Seats still for sale per showtime (available, or held with an expired hold)."""
    if not showtime_ids:
        return {}
    free = or_(
        ShowtimeSeat.status == SeatStatus.available,
        and_(ShowtimeSeat.status == SeatStatus.held, ShowtimeSeat.hold_expires_at <= now),
    )
    rows = await session.execute(
        select(ShowtimeSeat.showtime_id, func.count())
        .where(ShowtimeSeat.showtime_id.in_(set(showtime_ids)), free)
        .group_by(ShowtimeSeat.showtime_id)
    )
    return dict(rows.all())
