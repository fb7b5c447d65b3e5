"""The tickets of the confirmation email, rendered by the outbox sender when it sends the email.

Paying only queues `("booking_tickets", {"booking_id": ...})` (booking/notify.py): the PDF (fpdf2, a QR code
per seat) and the calendar file are made at send time from the booking as it is then, in the sender's render
process. The builds name `tickets_pdf` and `calendar_ics` with plain dataclasses, so that process imports
booking/tickets.py (and fpdf2, icalendar) but none of the database code. A booking that is no longer
confirmed (refunded or cancelled before the email went out) has no valid tickets: its confirmation is
skipped, and the refund email tells the customer what happened.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.booking import notify
from boxoffice.booking import repository as repo
from boxoffice.booking.models import BookingStatus
from boxoffice.booking.tickets import calendar_ics, tickets_pdf
from boxoffice.notifications.attachments import Build, Obsolete, register_renderer
from boxoffice.showtimes.service import load_showtime_context


async def load_tickets(session: AsyncSession, args: dict[str, Any]) -> list[Build]:
    """Read the booking's live tickets and showtime; the builds returned draw the PDF and the .ics."""
    booking = await repo.get_booking_by_id(session, int(args["booking_id"]))
    if booking is None:
        raise Obsolete(f"booking {args['booking_id']} no longer exists")
    if booking.status != BookingStatus.confirmed:
        raise Obsolete(f"booking {booking.reference} is {booking.status.value}: its tickets are void")
    tickets = await repo.tickets_of_booking(session, booking.id)
    if not tickets:
        raise Obsolete(f"booking {booking.reference} has no valid tickets")
    ctx = await load_showtime_context(session, showtime_id=booking.showtime_id)
    sheets = notify.ticket_sheets(booking, tickets, ctx)
    entry = notify.calendar_entry(booking, ctx)
    return [
        Build(f"tickets-{booking.reference}.pdf", "application/pdf", tickets_pdf, (sheets,)),
        Build(f"showtime-{booking.reference}.ics", "text/calendar", calendar_ics, (entry,)),
    ]


def register() -> None:
    """Let the outbox sender render the tickets (called once by the booking routes module)."""
    register_renderer(notify.TICKETS_ATTACHMENT, load_tickets)
