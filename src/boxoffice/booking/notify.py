"""Side effects that follow a booking change: live seat events (after commit) and emails (outbox)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.booking.models import Booking, Ticket
from boxoffice.booking.tickets import CalendarEntry, TicketSheet, calendar_ics
from boxoffice.db import after_commit
from boxoffice.kit.events import EventBus, seats_event
from boxoffice.kit.money import fmt
from boxoffice.notifications.service import queue_email
from boxoffice.showtimes.service import ShowtimeContext

log = logging.getLogger("boxoffice.booking")

TICKETS_ATTACHMENT = "booking_tickets"  # rendered by booking/attachments.py when the email is sent


def publish_seats(
    session: AsyncSession, events: EventBus, showtime_id: int, changes: Sequence[tuple[int, str]]
) -> None:
    """Publish a seat change once the transaction has committed."""
    if not changes:
        return
    payload = seats_event(showtime_id, list(changes))

    async def _send() -> None:
        await events.publish(showtime_id, payload)

    after_commit(session, _send)


def ticket_sheets(booking: Booking, tickets: Sequence[Ticket], ctx: ShowtimeContext) -> list[TicketSheet]:
    """What the tickets PDF prints."""
    return [
        TicketSheet(
            code=t.code,
            cinema=ctx.cinema.name,
            address=", ".join(p for p in (ctx.cinema.address, ctx.cinema.city) if p),
            screen=ctx.screen.name,
            movie=ctx.movie.title,
            starts_at=ctx.showtime.starts_at,
            timezone=ctx.cinema.timezone,
            seat=f"{t.row}{t.number}",
            price=t.price,
            currency=booking.currency,
            reference=booking.reference,
        )
        for t in tickets
    ]


def calendar_entry(booking: Booking, ctx: ShowtimeContext, base_domain: str = "boxoffice") -> CalendarEntry:
    """What the calendar file of the booking's showtime says."""
    return CalendarEntry(
        uid=f"{booking.reference}@{base_domain}",
        movie=ctx.movie.title,
        cinema=ctx.cinema.name,
        address=", ".join(p for p in (ctx.cinema.address, ctx.cinema.city) if p),
        screen=ctx.screen.name,
        starts_at=ctx.showtime.starts_at,
        ends_at=ctx.showtime.ends_at,
        seats=", ".join(f"{i.row}{i.number}" for i in booking.items),
    )


def booking_ics(booking: Booking, ctx: ShowtimeContext, base_domain: str = "boxoffice") -> bytes:
    """The calendar entry of the booking's showtime."""
    return calendar_ics(calendar_entry(booking, ctx, base_domain))


def _booking_context(name: str, booking: Booking, ctx: ShowtimeContext) -> dict[str, str]:
    """What every booking email says about the booking and its showtime (local time)."""
    return {
        "name": name,
        "reference": booking.reference,
        "movie": ctx.movie.title,
        "cinema": ctx.cinema.name,
        "screen": ctx.screen.name,
        "starts": ctx.local(ctx.showtime.starts_at).strftime("%A %d %B %Y, %H:%M"),
    }


async def email_confirmation(
    session: AsyncSession,
    *,
    to: str,
    name: str,
    booking: Booking,
    tickets: Sequence[Ticket],
    ctx: ShowtimeContext,
) -> None:
    """The confirmation email; the outbox sender attaches the tickets PDF and the calendar entry when it
    sends it (booking/attachments.py), so that paying never renders a PDF."""
    await queue_email(
        session,
        to=to,
        subject=f"Your tickets for {ctx.movie.title} ({booking.reference})",
        template="booking_confirmed",
        context={
            **_booking_context(name, booking, ctx),
            "seats": ", ".join(f"{t.row}{t.number}" for t in tickets),
            "total": fmt(booking.total_amount, booking.currency),
        },
        deferred=[(TICKETS_ATTACHMENT, {"booking_id": booking.id})],
    )


async def email_seats_changed(
    session: AsyncSession,
    *,
    to: str,
    name: str,
    booking: Booking,
    old_seats: Sequence[str],
    charged: int,
    refunded: int,
    ctx: ShowtimeContext,
) -> None:
    """Tell the customer their new seats, with the new tickets attached (rendered when sent)."""
    await queue_email(
        session,
        to=to,
        subject=f"New seats for {ctx.movie.title} ({booking.reference})",
        template="booking_seats_changed",
        context={
            **_booking_context(name, booking, ctx),
            "old_seats": ", ".join(old_seats),
            "seats": ", ".join(f"{i.row}{i.number}" for i in booking.items),
            "charged": fmt(charged, booking.currency) if charged else "",
            "refunded": fmt(refunded, booking.currency) if refunded else "",
            "total": fmt(booking.total_amount, booking.currency),
        },
        deferred=[(TICKETS_ATTACHMENT, {"booking_id": booking.id})],
    )


async def email_refund(
    session: AsyncSession,
    *,
    to: str,
    name: str,
    booking: Booking,
    refund: int,
    ctx: ShowtimeContext,
    reason: str,
) -> None:
    """Tell the customer their booking was cancelled and what comes back."""
    await queue_email(
        session,
        to=to,
        subject=f"Booking {booking.reference} cancelled",
        template="booking_cancelled",
        context={
            **_booking_context(name, booking, ctx),
            "refund": fmt(refund, booking.currency),
            "reason": reason,
        },
    )
