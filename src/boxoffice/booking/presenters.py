"""Turn bookings into their API shape (one place, used by every route)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.booking import repository as repo
from boxoffice.booking.models import Booking, BookingStatus
from boxoffice.booking.schemas import (
    BookingRead,
    PaymentRead,
    RefundRead,
    SeatRead,
    ShowtimeBrief,
    TicketRead,
)
from boxoffice.booking.service import CONTEXTS_KEY, FRESH_KEY
from boxoffice.kit.clock import utc_now
from boxoffice.kit.money import Money
from boxoffice.payments import repository as pay_repo
from boxoffice.showtimes.service import ShowtimeContext, load_showtime_context


def showtime_brief(ctx: ShowtimeContext) -> ShowtimeBrief:
    """The showtime as a booking shows it, times in the cinema's timezone."""
    return ShowtimeBrief(
        id=ctx.showtime.id,
        movie_id=ctx.movie.id,
        movie_title=ctx.movie.title,
        cinema_id=ctx.cinema.id,
        cinema_name=ctx.cinema.name,
        screen_name=ctx.screen.name,
        starts_at=ctx.local(ctx.showtime.starts_at),
        ends_at=ctx.local(ctx.showtime.ends_at),
        timezone=ctx.cinema.timezone,
        status=ctx.showtime.status.value,
    )


def effective_status(booking: Booking) -> str:
    """The status a client should see: a hold that has run out is expired, even before the sweeper runs."""
    if booking.status == BookingStatus.held and booking.expires_at <= utc_now():
        return BookingStatus.expired.value
    return booking.status.value


async def booking_read(
    session: AsyncSession,
    booking: Booking,
    *,
    include_email: bool = False,
    client_secret: str | None = None,
    contexts: dict[int, ShowtimeContext] | None = None,
) -> BookingRead:
    """The full booking: seats and prices, tickets, payments."""
    cache = contexts if contexts is not None else session.info.setdefault(CONTEXTS_KEY, {})
    sctx = cache.get(booking.showtime_id)
    if sctx is None:
        sctx = await load_showtime_context(session, showtime_id=booking.showtime_id)
        cache[booking.showtime_id] = sctx
    cur = booking.currency
    tickets = (
        await repo.tickets_of_booking(session, booking.id)
        if booking.status == BookingStatus.confirmed
        else []
    )
    fresh = booking.id in session.info.get(FRESH_KEY, ())  # created in this request: nothing paid yet
    pays = [] if fresh else await pay_repo.payments_for_booking(session, booking.id)
    refunds = (
        []
        if fresh or not booking.refunded_amount
        else await pay_repo.refunds_for_booking(session, booking.id)
    )
    email = None
    if include_email:
        owner = await repo.get_user(session, booking.user_id)
        email = owner.email if owner is not None else None
    subtotal = sum(i.price for i in booking.items)
    return BookingRead(
        reference=booking.reference,
        status=effective_status(booking),
        expires_at=booking.expires_at if booking.status == BookingStatus.held else None,
        created_at=booking.created_at,
        confirmed_at=booking.confirmed_at,
        showtime=showtime_brief(sctx),
        seats=[
            SeatRead(
                seat_id=i.seat_id,
                row=i.row,
                number=i.number,
                label=f"{i.row}{i.number}",
                seat_type=i.seat_type,
                price=Money(amount=i.price, currency=cur),
            )
            for i in booking.items
        ],
        subtotal=Money(amount=subtotal, currency=cur),
        total=Money(amount=booking.total_amount, currency=cur),
        refunded=Money(amount=booking.refunded_amount, currency=cur),
        tickets=[
            TicketRead(
                id=t.id,
                seat_id=t.seat_id,
                seat=f"{t.row}{t.number}",
                status=t.status.value,
                code=t.code,
                price=Money(amount=t.price, currency=cur),
                admitted_at=t.admitted_at,
            )
            for t in tickets
        ],
        payments=[
            PaymentRead(
                id=p.id,
                provider=p.provider,
                purpose=p.purpose.value,
                status=p.status.value,
                amount=Money(amount=p.amount, currency=p.currency),
                refunded=Money(amount=p.refunded_amount, currency=p.currency),
                card_last4=p.card_last4,
                created_at=p.created_at,
            )
            for p in pays
        ],
        refunds=[
            RefundRead(
                amount=Money(amount=r.amount, currency=cur),
                status=r.status.value,
                reason=r.reason,
                created_at=r.created_at,
                completed_at=r.completed_at,
            )
            for r in refunds
        ],
        customer_email=email,
        payment_client_secret=client_secret,
    )
