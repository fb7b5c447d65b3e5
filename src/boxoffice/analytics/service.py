"""Analytics rules: who may see which cinemas, the period, and how showtime rows add up."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.models import Role, User
from boxoffice.analytics import repository
from boxoffice.analytics.repository import ShowtimeRow
from boxoffice.analytics.schemas import DayFigures, Figures, MovieFigures, ShowtimeFigures, SummaryRead
from boxoffice.errors import Forbidden, NotFound, Unprocessable
from boxoffice.kit.clock import utc_now
from boxoffice.kit.money import Money

MAX_PERIOD_DAYS = 366
DEFAULT_PAST_DAYS = 30
DEFAULT_FUTURE_DAYS = 14
DEFAULT_CURRENCY = "EUR"


def _occupancy(sold: int, capacity: int) -> float:
    return round(sold / capacity, 4) if capacity else 0.0


def _figures(rows: Iterable[ShowtimeRow], currency: str) -> Figures:
    """Tickets and occupancy count every showtime; revenue adds up the showtimes sold in `currency`."""
    rows = list(rows)
    sold = sum(r.sold for r in rows)
    capacity = sum(r.capacity for r in rows)
    return Figures(
        showtimes=len(rows),
        tickets_sold=sold,
        seats_total=capacity,
        occupancy=_occupancy(sold, capacity),
        revenue=Money(amount=sum(r.revenue for r in rows if r.currency == currency), currency=currency),
    )


def _local(row: ShowtimeRow) -> datetime:
    try:
        return row.starts_at.astimezone(ZoneInfo(row.timezone))
    except (KeyError, ValueError):
        return row.starts_at


def _showtime_figures(row: ShowtimeRow) -> ShowtimeFigures:
    return ShowtimeFigures(
        showtime_id=row.showtime_id,
        movie_id=row.movie_id,
        title=row.title,
        cinema_id=row.cinema_id,
        cinema_name=row.cinema_name,
        screen_name=row.screen_name,
        starts_at=row.starts_at,
        local_start=_local(row).strftime("%a %d %b %H:%M"),
        tickets_sold=row.sold,
        seats_held=row.held,
        seats_total=row.capacity,
        occupancy=_occupancy(row.sold, row.capacity),
        revenue=Money(amount=row.revenue, currency=row.currency),
        sold_out=row.capacity > 0 and row.sold >= row.capacity,
    )


async def _scope(session: AsyncSession, *, user: User, cinema_id: int | None) -> list[int] | None:
    """The cinema ids the caller may see in this summary (None: every cinema)."""
    if user.role not in (Role.admin, Role.owner):
        raise Forbidden("Only owners and admins see analytics.", code="forbidden")
    if cinema_id is not None:
        cinema = await repository.cinema_exists(session, cinema_id=cinema_id)
        if cinema is None or (user.role == Role.owner and cinema.owner_id != user.id):
            raise NotFound("No such cinema.", code="cinema_not_found")
        return [cinema_id]
    if user.role == Role.owner:
        return await repository.owned_cinema_ids(session, owner_id=user.id)
    return None


def _period(date_from: date | None, date_to: date | None) -> tuple[date, date]:
    today = utc_now().date()
    start = date_from or (date_to or today) - timedelta(days=DEFAULT_PAST_DAYS)
    end = date_to or max(start, today) + timedelta(days=DEFAULT_FUTURE_DAYS)
    if end < start:
        raise Unprocessable("`from` must not be after `to`.", code="invalid_period")
    if (end - start).days > MAX_PERIOD_DAYS:
        raise Unprocessable(f"The period may span at most {MAX_PERIOD_DAYS} days.", code="invalid_period")
    return start, end


async def summary(
    session: AsyncSession,
    *,
    user: User,
    date_from: date | None = None,
    date_to: date | None = None,
    cinema_id: int | None = None,
    currency: str | None = None,
) -> SummaryRead:
    """Tickets sold, revenue and occupancy of the showtimes starting between two local dates (inclusive).

    Tickets and occupancy count every showtime in scope; money is never added across currencies: the
    revenue figures are in `currency` (the most common one unless asked), `revenue_by_currency` has all.
    """
    cinema_ids = await _scope(session, user=user, cinema_id=cinema_id)
    start, end = _period(date_from, date_to)
    # Local days differ from UTC days by at most 14 hours: fetch a margin, then filter on the local date.
    rows: list[ShowtimeRow] = []
    if cinema_ids is None or cinema_ids:
        fetched = await repository.showtime_rows(
            session,
            starts_from=datetime.combine(start, time.min, UTC) - timedelta(hours=15),
            starts_before=datetime.combine(end + timedelta(days=1), time.min, UTC) + timedelta(hours=15),
            cinema_ids=cinema_ids,
            now=utc_now(),
        )
        rows = [r for r in fetched if start <= _local(r).date() <= end]
    counts = Counter(r.currency for r in rows)
    chosen = (currency or (counts.most_common(1)[0][0] if counts else DEFAULT_CURRENCY)).upper()
    others = sorted(c for c in counts if c != chosen)
    by_currency = [
        Money(amount=sum(r.revenue for r in rows if r.currency == cur), currency=cur)
        for cur in sorted(set(counts) | {chosen})
    ]

    by_day: dict[date, list[ShowtimeRow]] = defaultdict(list)
    by_movie: dict[int, list[ShowtimeRow]] = defaultdict(list)
    for row in rows:
        by_day[_local(row).date()].append(row)
        by_movie[row.movie_id].append(row)
    per_day = []
    day = start
    while day <= end:
        per_day.append(DayFigures(date=day, **_figures(by_day.get(day, []), chosen).model_dump()))
        day += timedelta(days=1)
    per_movie = sorted(
        (
            MovieFigures(movie_id=mid, title=group[0].title, **_figures(group, chosen).model_dump())
            for mid, group in by_movie.items()
        ),
        key=lambda m: (-m.revenue.amount, -m.tickets_sold, m.title),
    )
    per_showtime = [_showtime_figures(r) for r in rows]
    now = utc_now()
    return SummaryRead(
        date_from=start,
        date_to=end,
        cinema_id=cinema_id,
        currency=chosen,
        other_currencies=others,
        revenue_by_currency=by_currency,
        totals=_figures(rows, chosen),
        per_day=per_day,
        per_movie=per_movie,
        per_showtime=per_showtime,
        upcoming_sold_out=[s for s in per_showtime if s.sold_out and s.starts_at > now],
    )
