"""The cart: the customer's held bookings, paid together in one payment (all or nothing) or released."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.models import User
from boxoffice.booking import repository as repo
from boxoffice.booking.cancellation import cancel_booking
from boxoffice.booking.deps import BookingContext
from boxoffice.booking.models import Booking
from boxoffice.booking.service import is_live_hold
from boxoffice.kit.clock import utc_now


async def cart(session: AsyncSession, *, user: User) -> list[Booking]:
    """The caller's held bookings whose hold is still running, oldest first."""
    now = utc_now()
    return [b for b in await repo.held_bookings(session, user_id=user.id) if is_live_hold(b, now)]


async def checkout_ids(session: AsyncSession, *, user: User) -> list[int]:
    """The bookings one checkout pays: every held one (a hold that ran out is re-claimed or refused with
    409 `hold_expired`, so nothing is charged); payflow re-checks each under its lock."""
    return [b.id for b in await repo.held_bookings(session, user_id=user.id)]


async def clear(session: AsyncSession, *, ctx: BookingContext, user: User) -> int:
    """Release every held booking of the caller; returns how many."""
    bookings = await repo.held_bookings(session, user_id=user.id)
    for booking in bookings:
        await cancel_booking(session, ctx=ctx, actor=user, booking=booking, reason="cart_cleared")
    return len(bookings)
