"""Money meets bookings: secure seats for a payment, and apply a provider's answer to a charge attempt.

`apply_charge_result` is the one function that turns a provider's answer into booking changes: the pay
flow calls it after the provider answered, the webhook when an event arrives, the reconciliation sweep when
an attempt was left pending by a crash. It is idempotent: an attempt already resolved is left alone (a late
failure never undoes a success), so the three may race and the answer is applied once.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.audit.service import log_action
from boxoffice.booking import notify, transitions
from boxoffice.booking import repository as repo
from boxoffice.booking.deps import BookingContext
from boxoffice.booking.models import Booking, BookingStatus
from boxoffice.booking.service import busy_guard, issue_tickets
from boxoffice.booking.transitions import Event
from boxoffice.errors import Conflict
from boxoffice.kit.clock import utc_now
from boxoffice.kit.metrics import BUSINESS_EVENTS
from boxoffice.payments import repository as pay_repo
from boxoffice.payments import service as payments
from boxoffice.payments.models import Payment, PaymentPurpose, PaymentStatus
from boxoffice.payments.providers import ChargeResult
from boxoffice.showtimes.models import Showtime
from boxoffice.showtimes.service import load_showtime_context

log = logging.getLogger("boxoffice.booking")


@dataclasses.dataclass(frozen=True)
class PayOutcome:
    """What a payment attempt did: the bookings, the attempt and the provider's answer."""

    bookings: list[Booking]
    payment: Payment
    result: ChargeResult
    # Bookings the money came too late for (refunded in full), by id: the 409 code that says why.
    too_late: dict[int, str] = dataclasses.field(default_factory=dict)


async def _reclaim(session: AsyncSession, *, booking: Booking, until: datetime, now: datetime) -> list[int]:
    """Hold the booking's seats for it until `until` (still ours, or free again); returns the seats lost."""
    ids = [i.seat_id for i in booking.items]
    try:
        got = await repo.reclaim_hold(
            session,
            showtime_id=booking.showtime_id,
            seat_ids=ids,
            booking_id=booking.id,
            holder_id=booking.user_id,
            hold_expires_at=until,
            now=now,
        )
    except DBAPIError as exc:
        raise (busy_guard(exc) or exc) from exc
    lost = sorted(set(ids) - set(got))
    if lost and got:  # give back what a partial re-claim took
        await repo.release_seats(
            session, showtime_id=booking.showtime_id, booking_id=booking.id, seat_ids=got
        )
    return lost


async def secure(
    session: AsyncSession,
    *,
    ctx: BookingContext,
    booking: Booking,
    showtime: Showtime,
    now: datetime,
    actor_id: int | None,
) -> None:
    """Make the (locked) booking's seats ours while its payment runs: 409 unless it may be paid now.

    A live hold gets its one grace period (never shortened, never granted twice). An expired hold is
    re-claimed when its seats are still free (a late payment), else 409 `hold_expired`.
    """
    transitions.target(booking, Event.secure, showtime=showtime, now=now)
    # An attempt in flight blocks a second one, until the reconciliation would ask about it: a 3-D Secure
    # charge the customer walked away from must not lock the booking (if it completes after all, the booking
    # is paid already and that money is owed back).
    since = now - timedelta(seconds=ctx.settings.payment_reconcile_seconds)
    if await payments.has_pending(session, booking_id=booking.id, since=since):
        raise Conflict("A payment for this booking is still being processed.", code="payment_pending")
    live = booking.status == BookingStatus.held and booking.expires_at > now
    if live and booking.grace_used:
        return
    grace = timedelta(minutes=ctx.settings.payment_grace_minutes)
    until = max(booking.expires_at, now + grace) if live else now + grace
    lost = await _reclaim(session, booking=booking, until=until, now=now)
    if lost:
        raise Conflict(
            "The hold expired and some of its seats were taken by someone else; nothing was charged.",
            code="hold_expired",
            extra={"seats": lost},
        )
    if not live:
        notify.publish_seats(
            session, ctx.events, booking.showtime_id, [(i.seat_id, "held") for i in booking.items]
        )
    booking.expires_at = until
    booking.grace_used = True
    await transitions.move(session, booking, Event.secure, showtime=showtime, now=now, actor_id=actor_id)


async def confirm(
    session: AsyncSession,
    *,
    ctx: BookingContext,
    booking: Booking,
    showtime: Showtime,
    actor_id: int | None,
) -> bool:
    """Sell the (locked) booking's seats, issue tickets, queue the email; False (nothing changed) when it
    may not be confirmed now: the showtime is off sale, the booking was let go, or its seats are gone."""
    now = utc_now()
    if not transitions.allows(booking, Event.confirm, showtime=showtime, now=now):
        return False
    if await _reclaim(session, booking=booking, until=now + timedelta(minutes=1), now=now):
        return False
    sold = await repo.sell_seats(session, showtime_id=booking.showtime_id, booking_id=booking.id)
    if set(sold) != {i.seat_id for i in booking.items}:  # cannot happen after the re-claim: never oversell
        raise Conflict("The booking's seats are not all held any more.", code="hold_expired")
    await transitions.move(
        session,
        booking,
        Event.confirm,
        showtime=showtime,
        now=now,
        actor_id=actor_id,
        data={"total": booking.total_amount, "currency": booking.currency},
    )
    tickets = await issue_tickets(session, ctx=ctx, booking=booking)
    notify.publish_seats(session, ctx.events, booking.showtime_id, [(s, "sold") for s in sorted(sold)])
    customer = await repo.get_user(session, booking.user_id)
    if customer is not None and customer.deleted_at is None:
        sctx = await load_showtime_context(session, showtime_id=booking.showtime_id)
        await notify.email_confirmation(
            session, to=customer.email, name=customer.full_name, booking=booking, tickets=tickets, ctx=sctx
        )
    BUSINESS_EVENTS.labels("confirmed").inc()
    return True


def result_of(payment: Payment) -> ChargeResult:
    """The provider's answer as recorded on an attempt (for an attempt already resolved)."""
    status = {
        PaymentStatus.succeeded: "succeeded",
        PaymentStatus.refunded: "succeeded",
        PaymentStatus.declined: "declined",
        PaymentStatus.pending: "pending",
    }[payment.status]
    return ChargeResult(status, payment.provider_ref, payment.failure_message or "", payment.card_last4)  # type: ignore[arg-type]


async def _settle_booking(
    session: AsyncSession,
    *,
    ctx: BookingContext,
    payment: Payment,
    booking: Booking,
    showtime: Showtime,
    share: int,
) -> str | None:
    """Money for this booking arrived: confirm it (None), or owe the money back when it can no longer be
    sold; then the 409 code that says why (a live hold on a showtime that stopped selling is let go)."""
    if await confirm(session, ctx=ctx, booking=booking, showtime=showtime, actor_id=payment.user_id):
        return None
    now = utc_now()
    off_sale = transitions.sales_open(showtime, now) is not None
    code = "sales_closed" if off_sale else "hold_expired"
    if booking.status in (BookingStatus.cancelled, BookingStatus.refunded):
        code = "booking_cancelled"
    elif booking.status == BookingStatus.confirmed:
        code = "already_paid"  # paid by another attempt meanwhile (an abandoned 3-D Secure completing)
    elif booking.status == BookingStatus.held and booking.expires_at <= now:
        await transitions.move(session, booking, Event.expire, showtime=showtime, now=now, actor_id=None)
    elif booking.status == BookingStatus.held:
        released = await repo.release_seats(session, showtime_id=booking.showtime_id, booking_id=booking.id)
        notify.publish_seats(session, ctx.events, booking.showtime_id, [(s, "available") for s in released])
        await transitions.move(session, booking, Event.cancel, showtime=showtime, now=now, actor_id=None)
    owed = await payments.queue_refund(
        session, booking_id=booking.id, amount=share, reason="late_payment", payment_ids=[payment.id]
    )
    await repo.add_refunded(session, booking=booking, amount=owed)
    await log_action(
        session,
        action="booking.late_payment_refunded",
        actor_id=None,
        subject_type="booking",
        subject_id=booking.reference,
        data={"payment_id": payment.id, "refund": owed, "status": booking.status.value},
    )
    BUSINESS_EVENTS.labels("late_payment_refunded").inc()
    return code


async def apply_charge_result(
    session: AsyncSession, *, ctx: BookingContext, payment_id: int, result: ChargeResult
) -> PayOutcome | None:
    """Apply the provider's answer to the attempt once (locks: showtimes, bookings, then the payment).

    succeeded: each booking is confirmed, or its share owed back (late payment); declined: the holds stay
    until they expire; pending: the provider's webhook decides later. None for an unknown attempt.
    """
    found = await pay_repo.get_payment(session, payment_id)
    if found is None:
        return None
    booking_ids = [i.booking_id for i in found.items]
    bookings, showtimes = await transitions.lock(session, booking_ids)
    [payment] = await pay_repo.lock_payments(session, [payment_id])
    late_success = payment.status == PaymentStatus.declined and result.status == "succeeded"
    if payment.status != PaymentStatus.pending and not late_success:
        return PayOutcome(bookings, payment, result_of(payment))  # applied already: nothing to do
    payments.record_result(payment, result)
    await session.flush()
    for booking in bookings:
        await log_action(
            session,
            action=f"booking.payment_{result.status}",
            actor_id=payment.user_id,
            subject_type="booking",
            subject_id=booking.reference,
            data={"payment_id": payment.id, "provider": payment.provider},
        )
    if result.status == "succeeded":
        shares = {i.booking_id: i.amount for i in payment.items}
        too_late: dict[int, str] = {}
        for booking in bookings:
            showtime = showtimes[booking.showtime_id]
            if payment.purpose == PaymentPurpose.seat_change:
                from boxoffice.booking.changes import apply_paid_change  # changes builds on settlement

                await apply_paid_change(session, ctx=ctx, payment=payment, booking=booking, showtime=showtime)
            else:
                code = await _settle_booking(
                    session,
                    ctx=ctx,
                    payment=payment,
                    booking=booking,
                    showtime=showtime,
                    share=shares[booking.id],
                )
                if code is not None:
                    too_late[booking.id] = code
        return PayOutcome(bookings, payment, result, too_late)
    if result.status == "declined" and payment.purpose == PaymentPurpose.seat_change:
        from boxoffice.booking.changes import release_planned

        for booking in bookings:
            await release_planned(session, payment=payment, booking=booking)
    BUSINESS_EVENTS.labels(f"payment_{result.status}").inc()
    return PayOutcome(bookings, payment, result)
