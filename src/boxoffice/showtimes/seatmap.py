"""The seat map of a showtime: one query, plain dicts (no ORM objects) and a weak ETag.

The ETag covers what the answer depends on: the rows' versions (sum, max, count), how many holds have
expired by now (an expiry changes a seat's status without a write), and the caller (`mine`).
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
    total = sum(r.version for r in rows)
    top = max((r.version for r in rows), default=0)
    expired = sum(
        1
        for r in rows
        if r.status == SeatStatus.held and (r.hold_expires_at is None or r.hold_expires_at <= now)
    )
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
    for r in rows:
        status = _status(r.status, r.hold_expires_at, now)
        counts[status] += 1
        if status == _HELD and r.hold_expires_at is not None:
            fresh_until = r.hold_expires_at if fresh_until is None else min(fresh_until, r.hold_expires_at)
        seats.append(
            {
                "seat_id": r.seat_id,
                "row": r.row,
                "number": r.number,
                "x": r.x,
                "y": r.y,
                "type": r.seat_type,
                "status": status,
                "price": {"amount": r.price, "currency": r.currency},
                "mine": user_id is not None and r.holder_id == user_id and status != _AVAILABLE,
            }
        )
    body = {"showtime_id": showtime_id, "counts": counts, "seats": seats}
    return SeatMapAnswer(etag=etag, body=body, fresh_until=fresh_until)


async def anonymous_seat_map(
    session: AsyncSession, *, showtime_id: int
) -> tuple[str, bytes, datetime | None]:
    """The seat map as nobody in particular sees it, what the seat-map cache keeps:
    (ETag, JSON bytes, when the first live hold expires)."""
    answer = await build_seat_map(session, showtime_id=showtime_id, user_id=None)
    assert answer is not None  # no If-None-Match given, so never a 304
    return answer.etag, orjson.dumps(answer.body), answer.fresh_until
