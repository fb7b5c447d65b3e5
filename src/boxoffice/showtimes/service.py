"""Rules for showtimes: scheduling (no overlaps, formats, prices), cancelling, permissions, best seats.

The booking domain builds on this module: `get_showtime_for_staff`, `cancel_showtime`,
`load_showtime_context` and `find_best_seats` are its entry points (keep their names and signatures).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.models import User
from boxoffice.audit.service import log_action
from boxoffice.catalog.models import Movie
from boxoffice.errors import Conflict, NotFound, Unprocessable
from boxoffice.kit.clock import utc_now
from boxoffice.showtimes import repository as repo
from boxoffice.showtimes.best import BestSeat, best_block
from boxoffice.showtimes.models import SeatStatus, Showtime, ShowtimeStatus
from boxoffice.showtimes.schemas import ShowtimeCreate, ShowtimeUpdate
from boxoffice.venues import repository as venue_repo
from boxoffice.venues.models import Cinema, Screen
from boxoffice.venues.service import can_manage, check_formats

MIN_RUNTIME, MAX_RUNTIME = 1, 600
MAX_AHEAD = timedelta(days=730)


@dataclass(frozen=True)
class ShowtimeContext:
    """A showtime with its movie, screen and cinema (what tickets, emails and answers need)."""

    showtime: Showtime
    movie: Movie
    screen: Screen
    cinema: Cinema

    @property
    def tz(self) -> ZoneInfo:
        """The cinema's timezone."""
        return ZoneInfo(self.cinema.timezone)

    def local(self, moment: datetime) -> datetime:
        """`moment` in the cinema's local time (ISO 8601 with its offset)."""
        return moment.astimezone(self.tz)

    @property
    def starts_at_local(self) -> datetime:
        """The start in the cinema's local time."""
        return self.local(self.showtime.starts_at)


def local_day_windows(timezones: dict[int, str], day: date) -> list[tuple[int, datetime, datetime]]:
    """For each cinema, the UTC range [start, end) of `day` in the cinema's own timezone."""
    windows: list[tuple[int, datetime, datetime]] = []
    if not date(1900, 1, 1) <= day <= date(9000, 1, 1):
        return windows  # nothing is scheduled then, and the calendar's ends would overflow
    for cinema_id, name in timezones.items():
        tz = ZoneInfo(name)
        start = datetime.combine(day, time(), tzinfo=tz)
        end = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz)
        windows.append((cinema_id, start, end))
    return windows


async def get_showtime(session: AsyncSession, *, showtime_id: int) -> Showtime:
    """The showtime, or 404 `showtime_not_found`."""
    showtime = await repo.get_showtime(session, showtime_id)
    if showtime is None:
        raise NotFound("No such showtime.", code="showtime_not_found")
    return showtime


async def get_showtime_for_staff(session: AsyncSession, *, showtime_id: int, user: User) -> Showtime:
    """The showtime when `user` manages its cinema (admin, or the cinema's owner); 404 otherwise."""
    showtime = await repo.get_showtime(session, showtime_id)
    cinema = None if showtime is None else await venue_repo.get_cinema(session, showtime.cinema_id)
    if showtime is None or cinema is None or not can_manage(user, cinema):
        raise NotFound("No such showtime.", code="showtime_not_found")
    return showtime


async def load_showtime_context(session: AsyncSession, *, showtime_id: int) -> ShowtimeContext:
    """The showtime with its movie, screen and cinema in one query; 404 when it does not exist."""
    found = await repo.get_showtime_context(session, showtime_id)
    if found is None:
        raise NotFound("No such showtime.", code="showtime_not_found")
    return ShowtimeContext(*found)


def _check_prices(prices: dict[str, int], needed: set[str]) -> None:
    negative = sorted(t for t, amount in prices.items() if amount < 0)
    if negative:
        raise Unprocessable(f"Prices cannot be negative ({', '.join(negative)}).", code="negative_price")
    missing = sorted(needed - set(prices))
    if missing:
        raise Unprocessable(
            f"The screen has seats without a price: {', '.join(missing)}.",
            code="missing_price",
            extra={"missing": missing},
        )


def _check_format(fmt: str, screen: Screen) -> str:
    canonical = check_formats([fmt])[0]
    if canonical not in screen.formats:
        raise Unprocessable(
            f"Screen {screen.name!r} cannot play {canonical}; it plays {', '.join(screen.formats)}.",
            code="format_not_supported",
        )
    return canonical


def _check_start(starts_at: datetime) -> datetime:
    starts_at = starts_at.astimezone(ZoneInfo("UTC"))
    now = utc_now()
    if starts_at <= now:
        raise Unprocessable("A showtime cannot start in the past.", code="showtime_in_past")
    if starts_at > now + MAX_AHEAD:
        raise Unprocessable(
            f"A showtime can be scheduled at most {MAX_AHEAD.days} days ahead.", code="showtime_too_far"
        )
    return starts_at


def _end(starts_at: datetime, movie: Movie, cinema: Cinema) -> datetime:
    if not MIN_RUNTIME <= movie.runtime_minutes <= MAX_RUNTIME:
        raise Unprocessable("The movie's runtime must be 1 to 600 minutes.", code="invalid_runtime")
    return starts_at + timedelta(minutes=movie.runtime_minutes + cinema.cleaning_minutes)


async def _check_free(
    session: AsyncSession, *, screen_id: int, starts_at: datetime, ends_at: datetime, exclude_id: int | None
) -> None:
    clash = await repo.find_overlap(
        session, screen_id=screen_id, starts_at=starts_at, ends_at=ends_at, exclude_id=exclude_id
    )
    if clash is not None:
        raise Conflict(
            f"The screen is busy from {clash.starts_at.isoformat()} to {clash.ends_at.isoformat()}.",
            code="screen_busy",
            extra={"conflicting_showtime_id": clash.id},
        )


async def _locked_screen_for_staff(
    session: AsyncSession, *, screen_id: int, user: User
) -> tuple[Screen, Cinema]:
    # Lock the screen row first: concurrent creations on one screen queue here, so the overlap check
    # below sees every showtime committed before it (SQLite: the write transaction is BEGIN IMMEDIATE).
    screen = await venue_repo.lock_screen(session, screen_id)
    cinema = None if screen is None else await venue_repo.get_cinema(session, screen.cinema_id)
    if screen is None or cinema is None or not can_manage(user, cinema):
        raise NotFound("No such screen.", code="screen_not_found")
    return screen, cinema


async def create_showtime(
    session: AsyncSession, *, data: ShowtimeCreate, actor: User, default_sales_close_minutes: int = 0
) -> ShowtimeContext:
    """Schedule a movie on a screen and create its seat inventory (one row per seat)."""
    screen, cinema = await _locked_screen_for_staff(session, screen_id=data.screen_id, user=actor)
    movie = await session.get(Movie, data.movie_id)
    if movie is None:
        raise NotFound("No such movie.", code="movie_not_found")
    fmt = _check_format(data.format, screen)
    starts_at = _check_start(data.starts_at)
    ends_at = _end(starts_at, movie, cinema)
    seats = await venue_repo.seats_of_screen(session, screen.id)
    prices = {str(k): v for k, v in data.prices.items()}
    _check_prices(prices, {s.type.value for s in seats})
    await _check_free(session, screen_id=screen.id, starts_at=starts_at, ends_at=ends_at, exclude_id=None)
    close_minutes = (
        default_sales_close_minutes if data.sales_close_minutes is None else data.sales_close_minutes
    )
    showtime = Showtime(
        movie_id=movie.id,
        screen_id=screen.id,
        cinema_id=cinema.id,
        starts_at=starts_at,
        ends_at=ends_at,
        format=fmt,
        language=data.language or movie.original_language,
        subtitles=data.subtitles,
        prices=prices,
        currency=data.currency,
        sales_close_at=starts_at - timedelta(minutes=close_minutes),
        status=ShowtimeStatus.scheduled,
        seats_total=len(seats),
        created_by_id=actor.id,
    )
    session.add(showtime)
    await session.flush()
    await repo.insert_inventory(
        session,
        [
            {
                "showtime_id": showtime.id,
                "seat_id": s.id,
                "row": s.row,
                "number": s.number,
                "x": s.x,
                "y": s.y,
                "seat_type": s.type.value,
                "price": prices[s.type.value],
                "status": SeatStatus.available,
                "version": 0,
            }
            for s in seats
        ],
    )
    await log_action(
        session,
        action="showtime.created",
        actor_id=actor.id,
        subject_type="showtime",
        subject_id=showtime.id,
        data={"screen_id": screen.id, "movie_id": movie.id, "starts_at": starts_at.isoformat()},
    )
    return ShowtimeContext(showtime, movie, screen, cinema)


async def update_showtime(
    session: AsyncSession, *, showtime: Showtime, data: ShowtimeUpdate, actor: User
) -> ShowtimeContext:
    """Change a showtime: language and subtitles always; time, format and prices with their rules."""
    if showtime.status == ShowtimeStatus.cancelled:
        raise Conflict("The showtime is cancelled.", code="showtime_cancelled")
    screen, cinema = await _locked_screen_for_staff(session, screen_id=showtime.screen_id, user=actor)
    movie = await session.get(Movie, showtime.movie_id)
    assert movie is not None
    changes = data.model_dump(exclude_unset=True)
    if data.format is not None:
        showtime.format = _check_format(data.format, screen)
    if data.language is not None:
        showtime.language = data.language
    if "subtitles" in changes:
        showtime.subtitles = data.subtitles
    close_minutes = int((showtime.starts_at - showtime.sales_close_at).total_seconds() // 60)
    if data.sales_close_minutes is not None:
        close_minutes = data.sales_close_minutes
    if data.starts_at is not None:
        if await repo.has_live_seats(session, now=utc_now(), showtime_id=showtime.id):
            raise Conflict("Seats are sold or held; the showtime cannot move.", code="has_bookings")
        starts_at = _check_start(data.starts_at)
        ends_at = _end(starts_at, movie, cinema)
        await _check_free(
            session, screen_id=screen.id, starts_at=starts_at, ends_at=ends_at, exclude_id=showtime.id
        )
        showtime.starts_at, showtime.ends_at = starts_at, ends_at
    showtime.sales_close_at = showtime.starts_at - timedelta(minutes=close_minutes)
    if data.prices is not None:
        prices = {**showtime.prices, **{str(k): v for k, v in data.prices.items()}}
        seats = await venue_repo.seats_of_screen(session, screen.id)
        _check_prices(prices, {s.type.value for s in seats})
        showtime.prices = prices
        await repo.reprice_unsold(session, showtime_id=showtime.id, prices=prices)
    await session.flush()
    await log_action(
        session,
        action="showtime.updated",
        actor_id=actor.id,
        subject_type="showtime",
        subject_id=showtime.id,
        data={"fields": sorted(changes)},
    )
    return ShowtimeContext(showtime, movie, screen, cinema)


async def cancel_showtime(session: AsyncSession, *, showtime: Showtime, actor: User) -> Showtime:
    """Mark the showtime cancelled and close its sales at once (refunds are the booking domain's job)."""
    if showtime.status == ShowtimeStatus.cancelled:
        raise Conflict("The showtime is already cancelled.", code="already_cancelled")
    showtime.status = ShowtimeStatus.cancelled
    showtime.sales_close_at = min(showtime.sales_close_at, utc_now())
    await session.flush()
    await log_action(
        session,
        action="showtime.cancelled",
        actor_id=actor.id,
        subject_type="showtime",
        subject_id=showtime.id,
    )
    return showtime


async def delete_showtime(session: AsyncSession, *, showtime: Showtime, actor: User) -> None:
    """Delete a showtime; 409 `has_bookings` when seats are sold or held (cancel it instead)."""
    if await repo.has_live_seats(session, now=utc_now(), showtime_id=showtime.id):
        raise Conflict("Seats are sold or held; cancel the showtime instead.", code="has_bookings")
    showtime_id = showtime.id
    async with repo.still_referenced("showtime"):
        await repo.delete_showtime(session, showtime_id)
    await log_action(
        session, action="showtime.deleted", actor_id=actor.id, subject_type="showtime", subject_id=showtime_id
    )


async def find_best_seats(
    session: AsyncSession, *, showtime_id: int, count: int, accessible: bool = False
) -> list[BestSeat]:
    """The best available block of `count` seats; 404 unknown showtime, 409 `sales_closed` (cancelled or
    past its sales window), 409 `no_block_available`."""
    showtime = await get_showtime(session, showtime_id=showtime_id)
    now = utc_now()
    if showtime.status == ShowtimeStatus.cancelled or now >= showtime.sales_close_at:
        raise Conflict("Sales for this showtime have closed.", code="sales_closed")
    rows = await repo.seat_map_rows(session, showtime_id)
    seats = [
        BestSeat(
            seat_id=r.seat_id,
            row=r.row,
            number=r.number,
            x=r.x,
            y=r.y,
            seat_type=r.seat_type,
            free=r.status == SeatStatus.available
            or (r.status == SeatStatus.held and r.hold_expires_at is not None and r.hold_expires_at <= now),
        )
        for r in rows
    ]
    block = best_block(seats, count=count, accessible=accessible)
    if block is None:
        raise Conflict(f"No block of {count} seats together is free.", code="no_block_available")
    return block


async def list_showtimes(
    session: AsyncSession,
    *,
    cinema_id: int | None,
    movie_id: int | None,
    day: date | None,
    fmt: str | None,
    language: str | None,
    offset: int,
    limit: int,
) -> tuple[list[repo.ShowtimeRow], int, dict[int, int]]:
    """Scheduled showtimes by start (upcoming ones, or those of `day` in each cinema's local time).

    Returns the page of rows, the total, and the seats still for sale per showtime.
    """
    windows = None
    if day is not None:
        timezones = await venue_repo.all_cinema_timezones(session)
        if cinema_id is not None:
            timezones = {k: v for k, v in timezones.items() if k == cinema_id}
        windows = local_day_windows(timezones, day)
    now = utc_now()
    rows, total = await repo.list_showtimes(
        session,
        cinema_id=cinema_id,
        movie_id=movie_id,
        fmt=fmt,
        language=language,
        windows=windows,
        after=None if day is not None else now,
        offset=offset,
        limit=limit,
    )
    available = await repo.seat_status_counts(session, [r[0].id for r in rows], now)
    return rows, total, available


async def seats_available(session: AsyncSession, *, showtime_id: int) -> int:
    """How many seats of the showtime are still for sale."""
    return (await repo.seat_status_counts(session, [showtime_id], utc_now())).get(showtime_id, 0)
