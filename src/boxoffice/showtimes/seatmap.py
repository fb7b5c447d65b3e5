"""The seat map of a showtime: one query, plain dicts (no ORM objects) and a weak ETag.

The ETag covers what the answer depends on: the rows' versions (sum, max, count), how many holds have
expired by now (an expiry changes a seat's status without a write), and whose map it is: 0 for the
public map (no seat `mine`), the caller's id for a personal one, so the two never share an ETag.
A signed-in caller who holds or owns no seat of the showtime (`has_own_seats` is False) gets the public
map: theirs would be the same seats with the same `mine` flags (all false).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.errors import NotFound
from boxoffice.kit.clock import utc_now
from boxoffice.showtimes import repository as repo
from boxoffice.showtimes.models import SeatStatus

_AVAILABLE = SeatStatus.available.value
_HELD = SeatStatus.held.value
# positions in repository.SEAT_MAP_COLUMNS
_STATUS, _EXPIRES, _VERSION = 6, 9, 10


@dataclass(frozen=True)
class SeatMapAnswer:
    """The seat map document and its ETag."""

    etag: str
    body: dict[str, Any]
    fresh_until: datetime | None = None  # the earliest live hold's expiry: the map changes then by itself


def _status(status: SeatStatus, expires: datetime | None, now: datetime) -> str:
    if status == SeatStatus.held and (expires is None or expires <= now):
        return _AVAILABLE
    return status.value


def etag_for(showtime_id: int, rows: Sequence[Any], now: datetime, user_id: int | None) -> str:
    """A weak ETag for the seat map of `rows` as seen by `user_id` at `now`."""
    total = top = expired = 0
    held = SeatStatus.held
    for r in rows:  # one pass, positional access (named access on a Row costs more)
        version = r[_VERSION]
        total += version
        top = max(top, version)
        if r[_STATUS] == held and (r[_EXPIRES] is None or r[_EXPIRES] <= now):
            expired += 1
    return f'W/"sm-{showtime_id}-{len(rows)}-{total}-{top}-{expired}-{user_id or 0}"'


async def build_seat_map(
    session: AsyncSession, *, showtime_id: int, user_id: int | None, if_none_match: str | None = None
) -> SeatMapAnswer | None:
    """The seat map, or None when `if_none_match` already names the current version (answer 304)."""
    rows = await repo.seat_map_rows(session, showtime_id)
    if not rows:
        raise NotFound("No such showtime.", code="showtime_not_found")
    now = utc_now()
    etag = etag_for(showtime_id, rows, now, user_id)
    if if_none_match and etag in {tag.strip() for tag in if_none_match.split(",")}:
        return None
    counts = {"available": 0, "held": 0, "sold": 0, "blocked": 0, "total": len(rows)}
    seats = []
    fresh_until: datetime | None = None
    for seat_id, row, number, x, y, seat_type, raw, price, holder_id, expires, _v, currency in rows:
        status = _status(raw, expires, now)
        counts[status] += 1
        if status == _HELD and expires is not None:
            fresh_until = expires if fresh_until is None else min(fresh_until, expires)
        seats.append(
            {
                "seat_id": seat_id,
                "row": row,
                "number": number,
                "x": x,
                "y": y,
                "type": seat_type,
                "status": status,
                "price": {"amount": price, "currency": currency},
                "mine": user_id is not None and holder_id == user_id and status != _AVAILABLE,
            }
        )
    body = {"showtime_id": showtime_id, "counts": counts, "seats": seats}
    return SeatMapAnswer(etag=etag, body=body, fresh_until=fresh_until)


async def has_own_seats(session: AsyncSession, *, showtime_id: int, user_id: int) -> bool:
    """True when the user's map would mark a seat `mine` (a seat they hold, bought or blocked)."""
    return await repo.holder_has_seats(session, showtime_id=showtime_id, user_id=user_id, now=utc_now())


async def anonymous_seat_map(
    session: AsyncSession, *, showtime_id: int
) -> tuple[str, bytes, datetime | None]:
    """The seat map as nobody in particular sees it, what the seat-map cache keeps:
    (ETag, JSON bytes, when the first live hold expires)."""
    answer = await build_seat_map(session, showtime_id=showtime_id, user_id=None)
    assert answer is not None  # no If-None-Match given, so never a 304
    return answer.etag, orjson.dumps(answer.body), answer.fresh_until
