"""Check-in at the door: a genuine, live ticket of the right showtime is admitted once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.models import Role, User
from boxoffice.audit.service import log_action
from boxoffice.booking import repository as repo
from boxoffice.booking import transitions
from boxoffice.booking.models import Booking, Ticket, TicketStatus
from boxoffice.booking.tickets import verify_ticket
from boxoffice.booking.transitions import Event
from boxoffice.errors import Conflict, NotFound
from boxoffice.kit.clock import utc_now

OPENS_BEFORE = timedelta(minutes=60)


def _invalid() -> NotFound:
    return NotFound("This is not a valid ticket.", code="invalid_ticket")


async def check_in(
    session: AsyncSession, *, secret_key: str, actor: User, code: str, showtime_id: int | None
) -> tuple[Ticket, Booking]:
    """Admit the ticket: 404 invalid_ticket (forged, unknown, void, not this owner's), 409 otherwise."""
    claims = verify_ticket(secret_key, code)
    if claims is None:
        raise _invalid()
    ticket = await repo.get_ticket(session, claims.ticket_id)
    if (
        ticket is None
        or ticket.booking_id != claims.booking_id
        or ticket.showtime_id != claims.showtime_id
        or ticket.seat_id != claims.seat_id
        or ticket.status == TicketStatus.void
    ):
        raise _invalid()
    showtime = await repo.get_showtime(session, ticket.showtime_id)
    cinema = None if showtime is None else await repo.get_cinema(session, showtime.cinema_id)
    if showtime is None or cinema is None or (actor.role != Role.admin and cinema.owner_id != actor.id):
        raise _invalid()
    found = await repo.get_booking_by_id(session, ticket.booking_id)
    if found is None:
        raise _invalid()
    [booking], showtimes = await transitions.lock(session, [found.id])  # a refund in flight finishes first
    showtime = showtimes[booking.showtime_id]
    if showtime_id is not None and showtime_id != ticket.showtime_id:
        raise Conflict("This ticket is for another showtime.", code="wrong_showtime")
    ticket = await repo.get_ticket(session, ticket.id)
    if ticket is None or ticket.status == TicketStatus.void:
        raise _invalid()
    if ticket.status == TicketStatus.used:
        raise Conflict("This ticket was already admitted.", code="already_admitted")
    now = utc_now()
    if not transitions.allows(booking, Event.admit, showtime=showtime, now=now):
        raise _invalid()
    if now < showtime.starts_at - OPENS_BEFORE:
        raise Conflict("Check-in opens 60 minutes before the start.", code="checkin_not_open")
    if now > showtime.ends_at:
        raise Conflict("The showtime is over.", code="checkin_closed")
    if not await repo.admit_ticket(session, ticket_id=ticket.id, now=now, by=actor.id):
        raise Conflict("This ticket was already admitted.", code="already_admitted")
    await log_action(
        session,
        action="ticket.admitted",
        actor_id=actor.id,
        subject_type="booking",
        subject_id=booking.reference,
        data={"ticket_id": ticket.id, "seat_id": ticket.seat_id},
    )
    refreshed = await repo.get_ticket(session, ticket.id)
    assert refreshed is not None
    return refreshed, booking
