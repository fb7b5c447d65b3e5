"""The booking core: hold seats (one conditional claim) and issue tickets (paying: payflow.py).

A hold refuses seats already taken from a plain read, then claims the rest with one conditional statement
(`repository.claim_seats`: `UPDATE ... WHERE free RETURNING`, rows locked in seat order on PostgreSQL); when
it returns fewer seats than asked, the request's transaction is rolled back by raising, so nothing is
claimed. See docs/booking.md.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.models import Role, User
from boxoffice.audit.service import log_action
from boxoffice.booking import notify
from boxoffice.booking import repository as repo
from boxoffice.booking.deps import BookingContext
from boxoffice.booking.models import Booking, BookingStatus, Ticket
from boxoffice.booking.tickets import TicketClaims, sign_ticket
from boxoffice.booking.transitions import sales_open
from boxoffice.errors import Conflict, Forbidden, NotFound, ServiceUnavailable, Unprocessable
from boxoffice.kit.clock import utc_now
from boxoffice.kit.ids import new_reference
from boxoffice.kit.metrics import BUSINESS_EVENTS
from boxoffice.showtimes.models import SeatStatus, Showtime, ShowtimeSeat
from boxoffice.showtimes.service import find_best_seats, load_showtime_context

log = logging.getLogger("boxoffice.booking")

BUSY_NEEDLES = ("lock timeout", "deadlock", "canceling statement", "database is locked")


def busy_guard(exc: DBAPIError) -> ServiceUnavailable | None:
    """A lock timeout or deadlock as 503 `busy_try_again`; None for other database errors."""
    text = str(exc.orig).lower()
    if any(needle in text for needle in BUSY_NEEDLES):
        return ServiceUnavailable("The seats are busy right now; please try again.", code="busy_try_again")
    return None


COUNT_ATTEMPTS = 3
# Per-request caches in session.info: showtime contexts already loaded, bookings created in this request.
CONTEXTS_KEY = "booking.showtime_contexts"
FRESH_KEY = "booking.fresh"


def seats_unavailable(taken: Sequence[int]) -> Conflict:
    """409 `seats_unavailable` naming the taken seats."""
    return Conflict(
        f"{len(taken)} of the seats are no longer available.",
        code="seats_unavailable",
        extra={"seats": sorted(taken)},
    )


def check_open(showtime: Showtime, now: datetime) -> None:
    """409 `sales_closed` unless the showtime is on sale now (`transitions.sales_open`)."""
    why = sales_open(showtime, now)
    if why is not None:
        raise Conflict(why, code="sales_closed")


class _ShortClaimError(Exception):
    """Some of the seats asked for are someone else's: seen by the read, or the claim got fewer than asked."""

    def __init__(self, taken: list[int]) -> None:
        super().__init__(f"{len(taken)} seats taken")
        self.taken = taken


def _is_free(seat: ShowtimeSeat, now: datetime) -> bool:
    """Nobody owns the seat now: available, or held by a hold that has run out (as `repo.claim_seats`)."""
    if seat.status == SeatStatus.available:
        return True
    return seat.status == SeatStatus.held and seat.hold_expires_at is not None and seat.hold_expires_at < now


async def _free_seats(
    session: AsyncSession,
    *,
    showtime_id: int,
    seat_ids: Sequence[int] | None,
    count: int | None,
    now: datetime,
) -> list[ShowtimeSeat]:
    """The seat rows asked for (named ones, or the best block of `count`), as committed now, without locks.

    422 `unknown_seats` for a seat of another showtime; `_ShortClaimError` at once for seats that are already
    someone else's (the claim itself re-checks under lock: a seat can still be lost after this read).
    """
    if seat_ids is None:
        assert count is not None
        block = await find_best_seats(session, showtime_id=showtime_id, count=count)
        seat_ids = [s.seat_id for s in block]
    rows = list(await repo.showtime_seats(session, showtime_id, seat_ids))
    unknown = sorted(set(seat_ids) - {r.seat_id for r in rows})
    if unknown:
        raise Unprocessable(
            f"Seats {unknown} do not belong to showtime {showtime_id}.",
            code="unknown_seats",
            extra={"seats": unknown},
        )
    taken = [r.seat_id for r in rows if not _is_free(r, now)]
    if taken:
        raise _ShortClaimError(taken)
    return rows


def _item(seat: ShowtimeSeat) -> dict[str, Any]:
    """The booking item (a line of the booking) of a seat."""
    return {
        "seat_id": seat.seat_id,
        "row": seat.row,
        "number": seat.number,
        "seat_type": seat.seat_type,
        "price": seat.price,
    }


async def _insert_and_claim(
    session: AsyncSession,
    *,
    user: User,
    showtime: Showtime,
    rows: Sequence[ShowtimeSeat],
    now: datetime,
    expires: datetime,
) -> Booking:
    """The held booking with its items and audit entry, then the claim of its seats: the last statement
    before the commit, so the seats' row locks are held for one round trip only."""
    ids = [r.seat_id for r in rows]
    booking = await repo.insert_booking(
        session,
        {
            "reference": new_reference(),
            "user_id": user.id,
            "showtime_id": showtime.id,
            "cinema_id": showtime.cinema_id,
            "status": BookingStatus.held,
            "expires_at": expires,
            "currency": showtime.currency,
            "total_amount": sum(r.price for r in rows),
        },
        [_item(r) for r in rows],
    )
    await log_action(
        session,
        action="booking.held",
        actor_id=user.id,
        subject_type="booking",
        subject_id=booking.reference,
        data={"showtime_id": showtime.id, "seats": ids, "expires_at": expires.isoformat()},
    )
    got = await repo.claim_seats(
        session,
        showtime_id=showtime.id,
        seat_ids=ids,
        booking_id=booking.id,
        holder_id=user.id,
        status=SeatStatus.held,
        hold_expires_at=expires,
        now=now,
    )
    if len(got) != len(ids):
        raise _ShortClaimError(sorted(set(ids) - set(got)))
    return booking


async def _check_hold_limit(session: AsyncSession, *, user: User, limit: int, now: datetime) -> None:
    """409 `too_many_holds` when the customer already holds `limit` live bookings (counted under the lock of
    their user row, so one customer's concurrent holds count one after the other)."""
    await repo.lock_user(session, user.id)
    if await repo.count_live_holds(session, user_id=user.id, now=now) >= limit:
        raise Conflict(
            f"You already hold {limit} unpaid bookings; pay or release one first.", code="too_many_holds"
        )


async def create_hold(
    session: AsyncSession,
    *,
    ctx: BookingContext,
    user: User,
    showtime_id: int,
    seat_ids: Sequence[int] | None,
    count: int | None,
) -> Booking:
    """Claim seats in one atomic step: a held booking, or 409 `seats_unavailable` with nothing held.

    Ordered for a rush: seats already taken are refused from a plain read (no lock, no write); the
    customer's live holds are counted under their user row's lock; the booking, its items and the audit
    entry are inserted; the conditional claim comes last, so a seat's lock lives one round trip.
    """
    settings = ctx.settings
    if user.role != Role.customer:
        raise Forbidden("Seats are booked with a customer account.", code="customers_only")
    if not user.email_verified:
        raise Forbidden("Confirm your email address before booking.", code="email_unverified")
    wanted = len(seat_ids) if seat_ids is not None else int(count or 0)
    if wanted > settings.max_seats_per_booking:
        raise Unprocessable(
            f"At most {settings.max_seats_per_booking} seats per booking.", code="too_many_seats"
        )
    sctx = await load_showtime_context(session, showtime_id=showtime_id)  # 404 showtime_not_found
    # The answer needs the context too: read it now, before any seat is locked.
    session.info.setdefault(CONTEXTS_KEY, {})[showtime_id] = sctx
    showtime = sctx.showtime
    now = utc_now()
    check_open(showtime, now)
    expires = now + timedelta(minutes=settings.hold_minutes)
    # By count, a lost race picks the next best block (the savepoint undoes the attempt and its locks).
    attempts = COUNT_ATTEMPTS if seat_ids is None else 1
    limit_checked = False
    for attempt in range(attempts):
        try:
            rows = await _free_seats(
                session, showtime_id=showtime.id, seat_ids=seat_ids, count=count, now=now
            )
            if not limit_checked:  # after the read: a buyer who lost the race never waits for this lock
                await _check_hold_limit(session, user=user, limit=settings.max_held_bookings, now=now)
                limit_checked = True
            async with session.begin_nested() if attempts > 1 else contextlib.nullcontext():
                booking = await _insert_and_claim(
                    session, user=user, showtime=showtime, rows=rows, now=now, expires=expires
                )
        except DBAPIError as exc:
            raise (busy_guard(exc) or exc) from exc
        except _ShortClaimError as short:
            BUSINESS_EVENTS.labels("hold_conflict").inc()
            if attempt + 1 == attempts:
                raise seats_unavailable(short.taken) from None
            continue
        break
    session.info.setdefault(FRESH_KEY, set()).add(booking.id)
    notify.publish_seats(session, ctx.events, showtime.id, [(r.seat_id, "held") for r in rows])
    BUSINESS_EVENTS.labels("hold").inc()
    return booking


async def get_own_booking(
    session: AsyncSession, *, user: User, reference: str, lock: bool = False
) -> Booking:
    """The caller's booking by reference; 404 when it is not theirs."""
    booking = await repo.get_booking(session, reference.strip().upper(), lock=lock)
    if booking is None or booking.user_id != user.id:
        raise NotFound("No such booking.", code="booking_not_found")
    return booking


def is_live_hold(booking: Booking, now: datetime) -> bool:
    """Held and not yet expired."""
    return booking.status == BookingStatus.held and booking.expires_at > now


async def issue_tickets(
    session: AsyncSession, *, ctx: BookingContext, booking: Booking, seat_ids: Sequence[int] | None = None
) -> list[Ticket]:
    """One signed ticket per seat of the booking (or per seat of `seat_ids` only, after a seat change)."""
    tickets = [
        Ticket(
            booking_id=booking.id,
            showtime_id=booking.showtime_id,
            seat_id=item.seat_id,
            row=item.row,
            number=item.number,
            price=item.price,
        )
        for item in booking.items
        if seat_ids is None or item.seat_id in seat_ids
    ]
    session.add_all(tickets)
    await session.flush()
    for ticket in tickets:
        ticket.code = sign_ticket(
            ctx.settings.secret_key, TicketClaims(ticket.id, booking.id, booking.showtime_id, ticket.seat_id)
        )
    await session.flush()
    return tickets
