"""Seat changes within a showtime: new seats are claimed before old ones are released, all or nothing."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.models import User
from boxoffice.audit.service import log_action
from boxoffice.booking import notify
from boxoffice.booking import repository as repo
from boxoffice.booking.deps import BookingContext
from boxoffice.booking.models import Booking, BookingItem, BookingStatus
from boxoffice.booking.service import (
    _check_open,
    busy_guard,
    get_own_booking,
    is_live_hold,
    issue_tickets,
    seats_unavailable,
)
from boxoffice.errors import Conflict, PaymentRequired, ServiceUnavailable, Unprocessable
from boxoffice.kit.clock import utc_now
from boxoffice.payments import service as payments
from boxoffice.payments.providers import PaymentDetails, ProviderError
from boxoffice.showtimes.models import SeatStatus


async def change_seats(
    session: AsyncSession,
    *,
    ctx: BookingContext,
    user: User,
    reference: str,
    seat_ids: list[int],
    details: PaymentDetails,
) -> Booking:
    """Swap the booking's seats; a confirmed booking pays or gets back the difference and new tickets."""
    booking = await get_own_booking(session, user=user, reference=reference, lock=True)
    now = utc_now()
    if booking.status == BookingStatus.held and not is_live_hold(booking, now):
        raise Conflict("The hold has expired.", code="hold_expired")
    if booking.status not in (BookingStatus.held, BookingStatus.confirmed):
        raise Conflict(f"A {booking.status.value} booking cannot change seats.", code="invalid_state")
    if len(seat_ids) > ctx.settings.max_seats_per_booking:
        raise Unprocessable(
            f"At most {ctx.settings.max_seats_per_booking} seats per booking.", code="too_many_seats"
        )
    showtime = await repo.get_showtime(session, booking.showtime_id)
    assert showtime is not None
    _check_open(showtime, now)
    rows = {r.seat_id: r for r in await repo.showtime_seats(session, showtime.id, seat_ids)}
    unknown = sorted(set(seat_ids) - set(rows))
    if unknown:
        raise Unprocessable(
            f"Seats {unknown} are not in this showtime.", code="unknown_seats", extra={"seats": unknown}
        )
    old = {i.seat_id for i in booking.items}
    add = sorted(set(seat_ids) - old)
    remove = sorted(old - set(seat_ids))
    if not add and not remove:
        return booking
    confirmed = booking.status == BookingStatus.confirmed
    try:
        if add:
            got = await repo.claim_seats(
                session,
                showtime_id=showtime.id,
                seat_ids=add,
                booking_id=booking.id,
                holder_id=booking.user_id,
                status=SeatStatus.sold if confirmed else SeatStatus.held,
                hold_expires_at=None if confirmed else booking.expires_at,  # never stretches the hold
                now=now,
            )
            if len(got) != len(add):
                raise seats_unavailable(sorted(set(add) - set(got)))
        if remove:
            await repo.release_seats(session, showtime_id=showtime.id, booking_id=booking.id, seat_ids=remove)
    except DBAPIError as exc:
        raise (busy_guard(exc) or exc) from exc
    old_total = booking.total_amount
    for item in [i for i in booking.items if i.seat_id in remove]:
        booking.items.remove(item)
    for seat_id in add:
        r = rows[seat_id]
        booking.items.append(
            BookingItem(seat_id=r.seat_id, row=r.row, number=r.number, seat_type=r.seat_type, price=r.price)
        )
    booking.total_amount = sum(i.price for i in booking.items)
    await session.flush()
    diff = booking.total_amount - old_total
    if confirmed:
        await _settle_difference(session, ctx=ctx, user=user, booking=booking, diff=diff, details=details)
        await repo.void_tickets(session, booking.id)
        await issue_tickets(session, ctx=ctx, booking=booking)
    await log_action(
        session,
        action="booking.seats_changed",
        actor_id=user.id,
        subject_type="booking",
        subject_id=booking.reference,
        data={"added": add, "removed": remove, "difference": diff},
    )
    changes = [(s, "sold" if confirmed else "held") for s in add] + [(s, "available") for s in remove]
    notify.publish_seats(session, ctx.events, showtime.id, changes)
    return booking


async def _settle_difference(
    session: AsyncSession,
    *,
    ctx: BookingContext,
    user: User,
    booking: Booking,
    diff: int,
    details: PaymentDetails,
) -> None:
    if diff < 0:
        back = await payments.refund_booking(
            session, provider=ctx.provider, booking_id=booking.id, amount=-diff, reason="seat_change"
        )
        booking.refunded_amount += back
        return
    if diff == 0:
        return
    if not (details.card_number or details.payment_method):
        raise Unprocessable(
            "The new seats cost more: send payment details (card_number) with the change.",
            code="payment_details_required",
        )
    try:
        result = await ctx.provider.charge(
            amount=diff,
            currency=booking.currency,
            details=details,
            idempotency_key=f"change-{booking.id}-{booking.total_amount}-{len(booking.items)}",
            description=f"boxoffice {booking.reference} seat change",
            metadata={"bookings": booking.reference},
        )
    except ProviderError as exc:
        raise ServiceUnavailable(
            "The payment provider is unavailable.", code="payment_provider_unavailable"
        ) from exc
    if result.status != "succeeded":
        raise PaymentRequired(result.message or "The payment was declined; the seats are unchanged.")
    await payments.record_charge(
        session,
        user_id=user.id,
        provider=ctx.provider,
        result=result,
        currency=booking.currency,
        allocations=[(booking.id, diff)],
    )
