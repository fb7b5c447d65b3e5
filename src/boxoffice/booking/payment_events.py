"""Apply provider events to bookings: a PaymentIntent that succeeds confirms (or, too late, is refunded).

Events may come late, twice or out of order: a payment already succeeded ignores a later failure, and a
success that lands after the hold expired confirms only if the seats are still free, else it is refunded.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.audit.service import log_action
from boxoffice.booking import repository as repo
from boxoffice.booking.deps import BookingContext, context_for_app
from boxoffice.booking.models import Booking, BookingStatus
from boxoffice.booking.service import confirm
from boxoffice.kit.clock import utc_now
from boxoffice.payments import repository as pay_repo
from boxoffice.payments import service as payments
from boxoffice.payments.models import Payment, PaymentStatus
from boxoffice.payments.webhooks import register_payment_listener

log = logging.getLogger("boxoffice.booking")


async def _settle(
    session: AsyncSession, ctx: BookingContext, payment: Payment, booking: Booking, amount: int
) -> None:
    if booking.status == BookingStatus.confirmed:
        return
    if booking.status in (BookingStatus.held, BookingStatus.expired):
        now = utc_now()
        ids = [i.seat_id for i in booking.items]
        got = await repo.reclaim_hold(
            session,
            showtime_id=booking.showtime_id,
            seat_ids=ids,
            booking_id=booking.id,
            holder_id=booking.user_id,
            hold_expires_at=now + timedelta(minutes=max(1, ctx.settings.payment_grace_minutes)),
            now=now,
        )
        if len(got) == len(ids):
            booking.status = BookingStatus.held
            await session.flush()
            await confirm(session, ctx=ctx, booking=booking, actor_id=None)
            return
        if got:  # give back what the partial re-claim took
            await repo.release_seats(
                session, showtime_id=booking.showtime_id, booking_id=booking.id, seat_ids=got
            )
        booking.status = BookingStatus.expired
        booking.closed_at = now
    refunded = await payments.refund_booking(
        session, provider=ctx.provider, booking_id=booking.id, amount=amount, reason="late_payment"
    )
    booking.refunded_amount += refunded
    await session.flush()
    await log_action(
        session,
        action="booking.late_payment_refunded",
        actor_id=None,
        subject_type="booking",
        subject_id=booking.reference,
        data={"payment_id": payment.id, "refund": refunded},
    )


async def on_payment_event(
    session: AsyncSession, app: FastAPI, event_type: str, data: dict[str, Any]
) -> None:
    """Apply a PaymentIntent event to the bookings it pays."""
    if not event_type.startswith("payment_intent."):
        return
    intent_id = str(data.get("id", ""))
    payment = await pay_repo.payment_by_provider_ref(session, "stripe", intent_id)
    if payment is None:
        log.warning("event %s for an unknown PaymentIntent %s ignored", event_type, intent_id)
        return
    ctx = context_for_app(app)
    if event_type == "payment_intent.succeeded":
        if payment.status in (PaymentStatus.succeeded, PaymentStatus.refunded):
            return
        payment.status = PaymentStatus.succeeded
        payment.failure_message = None
        await session.flush()
        for item in payment.items:
            booking = await repo.get_booking_by_id(session, item.booking_id)
            if booking is not None:
                await _settle(session, ctx, payment, booking, item.amount)
    elif event_type in ("payment_intent.payment_failed", "payment_intent.canceled"):
        if payment.status != PaymentStatus.pending:
            return  # a late failure never undoes a success
        payment.status = PaymentStatus.declined
        error = data.get("last_payment_error") or {}
        payment.failure_message = str(error.get("message") or "The payment failed.")[:300]
        await session.flush()
        for item in payment.items:
            booking = await repo.get_booking_by_id(session, item.booking_id)
            if booking is not None:
                await log_action(
                    session,
                    action="booking.payment_declined",
                    actor_id=None,
                    subject_type="booking",
                    subject_id=booking.reference,
                    data={"payment_id": payment.id},
                )


def register() -> None:
    """Listen to payment provider events (called once by the app factory)."""
    register_payment_listener(on_payment_event)
