"""Who may see which booking: customers their own, owners those of their cinemas, admins all."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.models import Role, User
from boxoffice.booking import repository as repo
from boxoffice.booking.models import Booking, BookingStatus
from boxoffice.errors import NotFound
from boxoffice.kit.pagination import PageParams


async def can_see(session: AsyncSession, *, user: User, booking: Booking) -> bool:
    """True when `user` may see `booking`."""
    if user.role == Role.admin or booking.user_id == user.id:
        return True
    if user.role == Role.owner:
        cinema = await repo.get_cinema(session, booking.cinema_id)
        return cinema is not None and cinema.owner_id == user.id
    return False


async def get_visible_booking(
    session: AsyncSession, *, user: User, reference: str, lock: bool = False
) -> Booking:
    """The booking when the caller may see it; 404 `booking_not_found` otherwise (existence not revealed)."""
    booking = await repo.get_booking(session, reference.strip().upper(), lock=lock)
    if booking is None or not await can_see(session, user=user, booking=booking):
        raise NotFound("No such booking.", code="booking_not_found")
    return booking


async def search(
    session: AsyncSession,
    *,
    user: User,
    page: PageParams,
    status: BookingStatus | None = None,
    showtime_id: int | None = None,
    reference: str | None = None,
    email: str | None = None,
    mine_only: bool = False,
) -> tuple[list[Booking], int]:
    """Bookings the caller may see, filtered, newest first."""
    user_id = user.id if mine_only or user.role == Role.customer else None
    owner_id = user.id if user_id is None and user.role == Role.owner else None
    rows, total = await repo.search_bookings(
        session,
        user_id=user_id,
        owner_id=owner_id,
        status=status,
        showtime_id=showtime_id,
        reference=reference,
        email=email if user.role == Role.admin else None,
        offset=page.offset,
        limit=page.per_page,
    )
    return list(rows), total
