"""The booking state machine: one table of transitions, one way to lock, re-check and write a status.

Every change of a booking's status (hold, pay, confirm, change seats, cancel, refund, expire, admit) goes
through `move`, after `lock` has taken the booking rows:

- rows are locked in one global order: showtime rows first (`FOR SHARE`: a showtime cancel, which updates
  the row, waits for sales in flight and they wait for it), then bookings by id (`FOR NO KEY UPDATE`: the
  foreign keys of new tickets, payment items and refunds still insert), then payments by id. On SQLite a
  write transaction holds the single writer lock from `BEGIN IMMEDIATE`, so it is serial already;
- the booking and its showtime are re-read under the lock (`populate_existing`), never trusted from an
  earlier read;
- `check` decides from `TRANSITIONS` and the showtime's window (`sales_open`, our `Order._can_be_paid`):
  a refused transition is a 409 with a stable code (`already_paid`, `booking_cancelled`, `hold_expired`,
  `sales_closed`, `invalid_state`).

| from       | event   | to         | showtime must be                        |
|------------|---------|------------|-----------------------------------------|
| (new)      | hold    | held       | on sale (checked by the hold itself)    |
| held       | secure  | held       | on sale                                 |
| expired    | secure  | held       | on sale, seats still free (late payment)|
| held       | confirm | confirmed  | on sale at the moment the money lands   |
| expired    | confirm | confirmed  | on sale, seats still free               |
| held       | change  | held       | on sale, hold live                      |
| confirmed  | change  | confirmed  | on sale, no ticket admitted             |
| held       | cancel  | cancelled  | any                                     |
| held       | expire  | expired    | any (the hold ran out)                  |
| confirmed  | refund  | refunded   | any (the cancellation policy decides)   |
| confirmed  | admit   | confirmed  | not cancelled (check-in's own window)   |
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from boxoffice.audit.service import log_action
from boxoffice.booking.models import Booking, BookingStatus
from boxoffice.errors import Conflict
from boxoffice.showtimes.models import Showtime, ShowtimeStatus


class Event(enum.StrEnum):
    """What is asked of a booking."""

    secure = "secure"  # make its seats ours for a payment (grace period, or a late re-claim)
    confirm = "confirm"  # money arrived: sell the seats, issue tickets
    change = "change"  # swap seats within the showtime
    cancel = "cancel"  # an unpaid hold let go
    expire = "expire"  # a hold ran out
    refund = "refund"  # a paid booking cancelled, money owed back
    admit = "admit"  # a ticket scanned at the door


S = BookingStatus
TRANSITIONS: dict[tuple[BookingStatus, Event], BookingStatus] = {
    (S.held, Event.secure): S.held,
    (S.expired, Event.secure): S.held,
    (S.held, Event.confirm): S.confirmed,
    (S.expired, Event.confirm): S.confirmed,
    (S.held, Event.change): S.held,
    (S.confirmed, Event.change): S.confirmed,
    (S.held, Event.cancel): S.cancelled,
    (S.held, Event.expire): S.expired,
    (S.confirmed, Event.refund): S.refunded,
    (S.confirmed, Event.admit): S.confirmed,
}
# Events that sell (or re-sell) seats: the showtime must still be on sale.
SELLING = frozenset({Event.secure, Event.confirm, Event.change})


def sales_open(showtime: Showtime, now: datetime) -> str | None:
    """Why the showtime cannot be sold now (None when it can): cancelled, sales closed, or started."""
    if showtime.status == ShowtimeStatus.cancelled:
        return "The showtime is cancelled."
    if now >= showtime.sales_close_at:
        return "Sales for this showtime have closed."
    if now >= showtime.starts_at:
        return "The showtime has already started."
    return None


def _refusal(status: BookingStatus, event: Event) -> Conflict:
    if status == S.confirmed and event in (Event.secure, Event.confirm):
        return Conflict("The booking is already paid.", code="already_paid")
    if status in (S.cancelled, S.refunded):
        return Conflict(f"The booking is {status.value}.", code="booking_cancelled")
    if status == S.expired or (status == S.held and event in (Event.refund, Event.admit)):
        return Conflict("The hold has expired.", code="hold_expired")
    return Conflict(f"A {status.value} booking cannot {event.value}.", code="invalid_state")


def target(booking: Booking, event: Event, *, showtime: Showtime, now: datetime) -> BookingStatus:
    """The status `event` moves the booking to, or the 409 that refuses it (nothing is written)."""
    to = TRANSITIONS.get((booking.status, event))
    if to is None:
        raise _refusal(booking.status, event)
    if event in SELLING:
        why = sales_open(showtime, now)
        if why is not None:
            raise Conflict(why, code="sales_closed")
    if event == Event.change and booking.status == S.held and booking.expires_at <= now:
        raise Conflict("The hold has expired.", code="hold_expired")
    if event == Event.admit and showtime.status == ShowtimeStatus.cancelled:
        raise Conflict("The showtime is cancelled.", code="booking_cancelled")
    return to


def allows(booking: Booking, event: Event, *, showtime: Showtime, now: datetime) -> bool:
    """True when `event` may happen to the booking now (the Python face of `target`)."""
    try:
        target(booking, event, showtime=showtime, now=now)
    except Conflict:
        return False
    return True


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def lock_showtimes(session: AsyncSession, showtime_ids: Iterable[int]) -> dict[int, Showtime]:
    """Re-read the showtimes, shared-locked in id order on PostgreSQL (a cancel waits for sales in flight)."""
    ids = sorted(set(showtime_ids))
    stmt = select(Showtime).where(Showtime.id.in_(ids)).order_by(Showtime.id)
    if _is_postgres(session):
        stmt = stmt.with_for_update(read=True)
    rows = await session.scalars(stmt.execution_options(populate_existing=True))
    return {s.id: s for s in rows.all()}


async def lock_bookings(session: AsyncSession, booking_ids: Iterable[int]) -> list[Booking]:
    """Re-read the bookings with their items, locked in id order (`FOR NO KEY UPDATE` on PostgreSQL)."""
    ids = sorted(set(booking_ids))
    if not ids:
        return []
    stmt = (
        select(Booking)
        .where(Booking.id.in_(ids))
        .order_by(Booking.id)
        .options(selectinload(Booking.items))
        .execution_options(populate_existing=True)
    )
    if _is_postgres(session):
        stmt = stmt.with_for_update(of=Booking, key_share=True)
    return list((await session.scalars(stmt)).all())


async def lock(
    session: AsyncSession, booking_ids: Sequence[int], *, showtime_ids: Iterable[int] = ()
) -> tuple[list[Booking], dict[int, Showtime]]:
    """Lock (showtimes, then bookings) and re-read; the showtimes of the bookings are included."""
    ids = sorted(set(booking_ids))
    shows = set(showtime_ids)
    if ids:
        stmt = select(Booking.showtime_id).where(Booking.id.in_(ids))
        shows.update((await session.scalars(stmt)).all())
    showtimes = await lock_showtimes(session, shows)
    bookings = await lock_bookings(session, ids)
    return bookings, showtimes


async def move(
    session: AsyncSession,
    booking: Booking,
    event: Event,
    *,
    showtime: Showtime,
    now: datetime,
    actor_id: int | None,
    data: dict[str, object] | None = None,
    audit: bool = True,
) -> BookingStatus:
    """Check the transition, write the new status (the only place that does) and its audit entry."""
    was = booking.status
    to = target(booking, event, showtime=showtime, now=now)
    booking.status = to
    if to == S.confirmed and was != S.confirmed:
        booking.confirmed_at = now
    if to in (S.cancelled, S.refunded, S.expired):
        booking.closed_at = now
    await session.flush()
    if audit and (to != was or event in (Event.change, Event.secure)):
        action = {Event.secure: "booking.secured", Event.change: "booking.seats_changed"}.get(
            event, f"booking.{to.value}"
        )
        await log_action(
            session,
            action=action,
            actor_id=actor_id,
            subject_type="booking",
            subject_id=booking.reference,
            data={"from": was.value, **(data or {})},
        )
    return to
