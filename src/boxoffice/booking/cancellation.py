"""Cancellations: by the customer (refund per the policy), by staff (full refund), of a whole showtime."""

from __future__ import annotations

import dataclasses

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.models import Role, User
from boxoffice.booking import notify, queries, transitions
from boxoffice.booking import repository as repo
from boxoffice.booking.deps import BookingContext
from boxoffice.booking.models import Booking, BookingStatus
from boxoffice.booking.policy import Quote, policy_for
from boxoffice.booking.service import busy_guard
from boxoffice.booking.transitions import Event
from boxoffice.config import get_settings
from boxoffice.errors import Conflict
from boxoffice.kit.clock import utc_now
from boxoffice.payments import service as payments
from boxoffice.showtimes.models import Showtime
from boxoffice.showtimes.service import cancel_showtime as close_showtime
from boxoffice.showtimes.service import get_showtime_for_staff, load_showtime_context


def _is_staff_for(user: User, booking: Booking) -> bool:
    return user.role in (Role.admin, Role.owner) and booking.user_id != user.id


async def quote(session: AsyncSession, *, user: User, booking: Booking) -> tuple[Quote, BookingStatus]:
    """What cancelling the booking now would refund, and the status it would end in."""
    if booking.status == BookingStatus.held:
        return Quote(True, 0, 0, "An unpaid hold is released at once."), BookingStatus.cancelled
    if booking.status != BookingStatus.confirmed:
        return Quote(False, 0, 0, f"The booking is {booking.status.value}."), booking.status
    showtime = await repo.get_showtime(session, booking.showtime_id)
    assert showtime is not None
    paid = await payments.amount_paid(session, booking_id=booking.id)
    result = policy_for(get_settings().cancellation_policy).quote(
        paid=paid, starts_at=showtime.starts_at, now=utc_now(), full_refund=_is_staff_for(user, booking)
    )
    return result, BookingStatus.refunded


async def quote_for(
    session: AsyncSession, *, user: User, reference: str
) -> tuple[Booking, Quote, BookingStatus]:
    """The cancellation quote of a booking the caller may see."""
    booking = await queries.get_visible_booking(session, user=user, reference=reference)
    result, after = await quote(session, user=user, booking=booking)
    return booking, result, after


async def _release(session: AsyncSession, *, ctx: BookingContext, booking: Booking) -> None:
    try:
        released = await repo.release_seats(session, showtime_id=booking.showtime_id, booking_id=booking.id)
    except DBAPIError as exc:
        raise (busy_guard(exc) or exc) from exc
    notify.publish_seats(
        session, ctx.events, booking.showtime_id, [(s, "available") for s in sorted(released)]
    )


async def cancel_booking(
    session: AsyncSession,
    *,
    ctx: BookingContext,
    actor: User | None,
    booking: Booking,
    full_refund: bool = False,
    reason: str = "cancelled",
    email: bool = True,
    locked: Showtime | None = None,
) -> int:
    """Cancel a held booking or refund a confirmed one (locked and re-checked first; the refund is owed
    as a durable job); seats are free at once. Returns the refund. `locked`: the caller holds the
    showtime's lock and the booking's already (a showtime cancel)."""
    if locked is None:
        [booking], showtimes = await transitions.lock(session, [booking.id])
        showtime = showtimes[booking.showtime_id]
    else:
        showtime = locked
    now = utc_now()
    was = booking.status
    event = Event.refund if was == BookingStatus.confirmed else Event.cancel
    transitions.target(booking, event, showtime=showtime, now=now)  # 409 before anything is written
    if actor is not None and not full_refund:
        result, _ = await quote(session, user=actor, booking=booking)
    else:
        paid = await payments.amount_paid(session, booking_id=booking.id)
        result = Quote(True, 100, paid, "Full refund.")
    if not result.allowed:
        raise Conflict(result.reason, code="cancellation_closed")
    refund = 0
    if event == Event.refund:
        refund = await payments.queue_refund(
            session, booking_id=booking.id, amount=result.refund, reason=reason
        )
        await repo.add_refunded(session, booking=booking, amount=refund)
        await repo.void_tickets(session, booking.id)
    await _release(session, ctx=ctx, booking=booking)
    await transitions.move(
        session,
        booking,
        event,
        showtime=showtime,
        now=now,
        actor_id=actor.id if actor is not None else None,
        data={"refund": refund, "percent": result.percent, "reason": reason},
    )
    customer = await repo.get_user(session, booking.user_id)
    if email and was == BookingStatus.confirmed and customer is not None and customer.deleted_at is None:
        sctx = await load_showtime_context(session, showtime_id=booking.showtime_id)
        await notify.email_refund(
            session,
            to=customer.email,
            name=customer.full_name,
            booking=booking,
            refund=refund,
            ctx=sctx,
            reason=result.reason,
        )
    return refund


async def cancel_by_reference(
    session: AsyncSession, *, ctx: BookingContext, user: User, reference: str
) -> tuple[Booking, int]:
    """The caller cancels a booking it may see (customers per the policy, staff with a full refund)."""
    booking = await queries.get_visible_booking(session, user=user, reference=reference)
    refund = await cancel_booking(
        session,
        ctx=ctx,
        actor=user,
        booking=booking,
        full_refund=_is_staff_for(user, booking),
        reason="staff_cancelled" if _is_staff_for(user, booking) else "customer_cancelled",
    )
    return booking, refund


@dataclasses.dataclass(frozen=True)
class ShowtimeCancellation:
    """What cancelling a showtime did."""

    showtime_id: int
    bookings_cancelled: int
    bookings_refunded: int
    refunded_total: int


async def cancel_showtime(
    session: AsyncSession, *, ctx: BookingContext, actor: User, showtime_id: int
) -> ShowtimeCancellation:
    """Cancel the showtime, refund every buyer in full and email them; held bookings are released.

    The showtime row is updated first: its lock makes payments in flight wait (they share-lock it), and
    a payment that lands later finds it cancelled and is refunded. Then every live booking is locked in
    id order and re-read; the refunds are owed as jobs, sent by the refund worker after the commit.
    """
    showtime = await get_showtime_for_staff(session, showtime_id=showtime_id, user=actor)
    await close_showtime(session, showtime=showtime, actor=actor)
    live = await repo.live_bookings_of_showtime(session, showtime_id)
    cancelled = refunded = total = 0
    for booking in await transitions.lock_bookings(session, [b.id for b in live]):
        if booking.status not in (BookingStatus.held, BookingStatus.confirmed):
            continue  # changed before we got the lock
        was = booking.status
        total += await cancel_booking(
            session,
            ctx=ctx,
            actor=actor,
            booking=booking,
            full_refund=True,
            reason="showtime_cancelled",
            locked=showtime,
        )
        if was == BookingStatus.confirmed:
            refunded += 1
        else:
            cancelled += 1
    return ShowtimeCancellation(showtime_id, cancelled, refunded, total)
