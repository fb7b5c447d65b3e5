"""Booking management routes: seat changes, cancellation (with its quote), tickets PDF, calendar entry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from boxoffice.accounts.deps import CurrentUser, StaffUser
from boxoffice.booking import cancellation, changes, notify, presenters, queries
from boxoffice.booking import repository as repo
from boxoffice.booking.api import PROBLEM_RESPONSES, Reference
from boxoffice.booking.deps import ContextDep
from boxoffice.booking.models import BookingStatus
from boxoffice.booking.schemas import MAX_ID, BookingRead, BookingUpdate, CancelQuoteRead
from boxoffice.booking.tickets import tickets_pdf
from boxoffice.deps import SessionDep
from boxoffice.errors import Conflict
from boxoffice.kit.money import Money
from boxoffice.payments.providers import PaymentDetails
from boxoffice.showtimes.service import load_showtime_context

router = APIRouter(tags=["booking"])


@router.patch(
    "/bookings/{reference}", response_model=BookingRead, summary="Change seats", responses=PROBLEM_RESPONSES
)
async def change_booking(
    reference: Reference, body: BookingUpdate, user: CurrentUser, session: SessionDep, ctx: ContextDep
) -> BookingRead:
    """Change the seats of a held or confirmed booking (same showtime); the price difference is settled."""
    booking = await changes.change_seats(
        session,
        ctx=ctx,
        user=user,
        reference=reference,
        seat_ids=body.seat_ids,
        details=PaymentDetails(body.method, body.card_number, body.payment_method),
    )
    return await presenters.booking_read(session, booking)


@router.get(
    "/bookings/{reference}/cancel-quote",
    response_model=CancelQuoteRead,
    summary="What cancelling would refund",
)
async def cancel_quote(reference: Reference, user: CurrentUser, session: SessionDep) -> CancelQuoteRead:
    """The refund the caller would get by cancelling now (nothing changes)."""
    booking, quote, after = await cancellation.quote_for(session, user=user, reference=reference)
    return CancelQuoteRead(
        reference=booking.reference,
        allowed=quote.allowed,
        percent=quote.percent,
        refund=Money(amount=quote.refund, currency=booking.currency),
        reason=quote.reason,
        status_after=after.value,
    )


@router.post(
    "/bookings/{reference}/cancel", response_model=BookingRead, summary="Cancel", responses=PROBLEM_RESPONSES
)
async def cancel_booking(
    reference: Reference, user: CurrentUser, session: SessionDep, ctx: ContextDep
) -> BookingRead:
    """Cancel (held) or refund (confirmed) per the cancellation policy; staff refund in full."""
    booking, _refund = await cancellation.cancel_by_reference(
        session, ctx=ctx, user=user, reference=reference
    )
    return await presenters.booking_read(session, booking, include_email=booking.user_id != user.id)


@router.get(
    "/bookings/{reference}/tickets.pdf",
    response_class=Response,
    summary="E-tickets (PDF)",
    responses={200: {"content": {"application/pdf": {}}}, **PROBLEM_RESPONSES},
)
async def tickets_file(reference: Reference, user: CurrentUser, session: SessionDep) -> Response:
    """One page per ticket with its signed QR code."""
    booking = await queries.get_visible_booking(session, user=user, reference=reference)
    if booking.status != BookingStatus.confirmed:
        raise Conflict("Tickets exist once the booking is paid.", code="invalid_state")
    sctx = await load_showtime_context(session, showtime_id=booking.showtime_id)
    tickets = list(await repo.tickets_of_booking(session, booking.id))
    body = tickets_pdf(notify.ticket_sheets(booking, tickets, sctx))
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="tickets-{booking.reference}.pdf"'},
    )


@router.get(
    "/bookings/{reference}/calendar.ics",
    response_class=Response,
    summary="Calendar entry",
    responses={200: {"content": {"text/calendar": {}}}, **PROBLEM_RESPONSES},
)
async def calendar_file(reference: Reference, user: CurrentUser, session: SessionDep) -> Response:
    """The showtime as an iCalendar event."""
    booking = await queries.get_visible_booking(session, user=user, reference=reference)
    sctx = await load_showtime_context(session, showtime_id=booking.showtime_id)
    return Response(
        notify.booking_ics(booking, sctx),
        media_type="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="showtime-{booking.reference}.ics"'},
    )


@router.post("/showtimes/{showtime_id}/cancel", tags=["showtimes"], summary="Cancel a showtime")
async def cancel_showtime(
    showtime_id: Annotated[int, Path(ge=1, le=MAX_ID)], user: StaffUser, session: SessionDep, ctx: ContextDep
) -> dict[str, int]:
    """Cancel the showtime: every booking is refunded in full and every buyer emailed."""
    done = await cancellation.cancel_showtime(session, ctx=ctx, actor=user, showtime_id=showtime_id)
    return {
        "showtime_id": done.showtime_id,
        "bookings_cancelled": done.bookings_cancelled,
        "bookings_refunded": done.bookings_refunded,
        "refunded_total": done.refunded_total,
    }
