"""Demo bookings: a few paid bookings for the demo customer on upcoming showtimes (idempotent)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.models import User
from boxoffice.booking import payflow
from boxoffice.booking.deps import BookingContext
from boxoffice.booking.models import Booking
from boxoffice.booking.service import create_hold
from boxoffice.booking.settlement import PayOutcome
from boxoffice.config import Settings
from boxoffice.errors import AppError
from boxoffice.kit.clock import utc_now
from boxoffice.kit.events import InProcessBus
from boxoffice.payments.providers import TEST_CARD_OK, PaymentDetails
from boxoffice.payments.simulated import SimulatedProvider
from boxoffice.showtimes.models import Showtime, ShowtimeStatus

DEMO_BOOKINGS = 2


async def _no_answer(_session: AsyncSession, _outcome: PayOutcome) -> tuple[int, None]:
    return 200, None


async def load_bookings(session: AsyncSession, *, settings: Settings, customer: User | None) -> str:
    """Book and pay two seats on each of the next showtimes for the demo customer, once."""
    if customer is None:
        return "no demo customer, no demo bookings"
    existing = await session.scalar(
        select(func.count()).select_from(Booking).where(Booking.user_id == customer.id)
    )
    if existing:
        return f"{existing} demo bookings already present"
    showtimes = (
        await session.scalars(
            select(Showtime)
            .where(
                Showtime.status == ShowtimeStatus.scheduled,
                Showtime.starts_at > utc_now() + timedelta(days=1),
            )
            .order_by(Showtime.starts_at, Showtime.id)
            .limit(DEMO_BOOKINGS)
        )
    ).all()
    settings.secret_key = settings.resolve_secret_key()  # tickets are signed with the server's key
    ctx = BookingContext(settings=settings, provider=SimulatedProvider(settings), events=InProcessBus())
    made = 0
    for showtime in showtimes:
        try:
            booking = await create_hold(
                session, ctx=ctx, user=customer, showtime_id=showtime.id, seat_ids=None, count=2
            )
            await payflow.pay(  # commits: the hold, then the paid booking
                session,
                ctx=ctx,
                user=customer,
                booking_ids=[booking.id],
                details=PaymentDetails(card_number=TEST_CARD_OK),
                idem=None,
                present=_no_answer,
            )
            made += 1
        except AppError:  # a sold-out or closed showtime: skip it
            continue
    return f"{made} demo bookings"
