"""The cart: the customer's held bookings, paid together in one payment (all or nothing) or released."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.models import User
from boxoffice.booking import repository as repo
from boxoffice.booking.cancellation import cancel_booking
from boxoffice.booking.deps import BookingContext
from boxoffice.booking.models import Booking
from boxoffice.booking.service import PayOutcome, charge_and_confirm, is_live_hold, secure_for_payment
from boxoffice.errors import Conflict
from boxoffice.kit.clock import utc_now
from boxoffice.payments import service as payments
from boxoffice.payments.providers import PaymentDetails


async def cart(session: AsyncSession, *, user: User) -> list[Booking]:
    """The caller's held bookings whose hold is still running, oldest first."""
    now = utc_now()
    return [b for b in await repo.held_bookings(session, user_id=user.id) if is_live_hold(b, now)]


async def checkout(
    session: AsyncSession,
    *,
    ctx: BookingContext,
    user: User,
    details: PaymentDetails,
    idempotency_key: str | None,
) -> PayOutcome:
    """Pay every held booking in one payment; if any cannot be secured, nothing is charged."""
    bookings = list(await repo.held_bookings(session, user_id=user.id))
    if not bookings:
        raise Conflict("The cart is empty.", code="cart_empty")
    now = utc_now()
    for booking in bookings:
        if await payments.has_pending(session, booking_id=booking.id):
            raise Conflict(f"A payment for {booking.reference} is still processing.", code="payment_pending")
        await secure_for_payment(session, ctx=ctx, booking=booking, now=now)
    return await charge_and_confirm(
        session, ctx=ctx, user=user, bookings=bookings, details=details, idempotency_key=idempotency_key
    )


async def clear(session: AsyncSession, *, ctx: BookingContext, user: User) -> int:
    """Release every held booking of the caller; returns how many."""
    bookings = await repo.held_bookings(session, user_id=user.id)
    for booking in bookings:
        await cancel_booking(session, ctx=ctx, actor=user, booking=booking, reason="cart_cleared")
    return len(bookings)
