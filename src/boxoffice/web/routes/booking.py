"""Booking pages: checkout with countdown and card form, confirmation with QR tickets, my bookings, cancel."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.booking import cancellation, payflow, presenters, queries
from boxoffice.booking import service as booking_service
from boxoffice.booking.deps import ContextDep
from boxoffice.booking.schemas import BookingRead, PaymentCreate
from boxoffice.booking.settlement import PayOutcome
from boxoffice.booking.tickets import qr_svg
from boxoffice.deps import SessionDep
from boxoffice.errors import AppError
from boxoffice.kit.clock import utc_now
from boxoffice.kit.pagination import PageParams
from boxoffice.payments.providers import PaymentDetails
from boxoffice.showtimes.service import ShowtimeContext
from boxoffice.web.deps import SignedInUser
from boxoffice.web.forms import FormError, parse
from boxoffice.web.pages import see_other, start_over
from boxoffice.web.templating import money, render, web_session

router = APIRouter()

Reference = Annotated[str, Form(max_length=16)]


def qr_data_uri(code: str) -> str:
    """A ticket code as an SVG QR image in a data: URI (allowed by the pages' CSP)."""
    return "data:image/svg+xml;base64," + base64.b64encode(qr_svg(code).encode()).decode()


async def _read(session: SessionDep, user: SignedInUser, reference: str) -> BookingRead:
    booking = await booking_service.get_own_booking(session, user=user, reference=reference)
    return await presenters.booking_read(session, booking)


def _checkout(
    request: Request, booking: BookingRead, *, error: str | None = None, status: int = 200
) -> Response:
    return render(
        request,
        "booking/checkout.html",
        {"booking": booking, "error": error, "now": utc_now()},
        status=status,
    )


@router.get("/bookings/{reference}/checkout", response_class=HTMLResponse)
async def checkout_page(
    request: Request, session: SessionDep, user: SignedInUser, reference: str
) -> Response:
    """The held seats with a countdown to expiry, and the card form."""
    booking = await _read(session, user, reference)
    if booking.status != "held":
        return see_other(f"/bookings/{booking.reference}")
    return _checkout(request, booking)


@router.post("/bookings/{reference}/pay", response_class=HTMLResponse)
async def pay_submit(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    user: SignedInUser,
    reference: str,
    card_number: Annotated[str, Form(max_length=40)],
    expiry: Annotated[str, Form(max_length=7)] = "",
    cvc: Annotated[str, Form(max_length=4)] = "",
) -> Response:
    """Pay with the simulated provider: confirmed, declined (hold kept) or expired."""

    async def present(_session: AsyncSession, outcome: PayOutcome) -> tuple[int, Any]:
        return 200, {"status": outcome.result.status, "message": outcome.result.message}

    try:
        data = parse(PaymentCreate, card_number=card_number.strip(), expiry=expiry, cvc=cvc)
        found = await booking_service.get_own_booking(session, user=user, reference=reference)
        answer = await payflow.pay(
            session,
            ctx=ctx,
            user=user,
            booking_ids=[found.id],
            details=PaymentDetails("card", data.card_number, None),
            idem=None,
            present=present,
        )
    except FormError as exc:
        return _checkout(request, await _read(session, user, reference), error=exc.message, status=422)
    except AppError as exc:
        if exc.code == "booking_not_found":
            raise
        await start_over(session, user)  # the pay flow may have committed its attempt already
        fresh = await _read(session, user, reference)
        if exc.code == "hold_expired":
            return render(request, "booking/expired.html", {"booking": fresh}, status=409)
        if fresh.status != "held":
            return see_other(f"/bookings/{fresh.reference}")
        return _checkout(request, fresh, error=exc.message, status=exc.status)
    status = answer.body["status"]
    if status == "declined":
        fresh = await _read(session, user, reference)
        message = (answer.body["message"] or "The card was declined.") + (
            " Your seats stay held until the timer runs out."
        )
        return _checkout(request, fresh, error=message, status=402)
    if status != "succeeded":
        web_session(request).flash("Your payment is being processed; we will email your tickets.", "info")
        return see_other(f"/bookings/{found.reference}")
    fresh = await _read(session, user, reference)
    if fresh.status != "confirmed":  # the money came too late for these seats: it is on its way back
        web_session(request).flash(
            "The payment arrived after the seats could no longer be sold; it is being refunded.", "error"
        )
        return see_other(f"/bookings/{found.reference}")
    web_session(request).flash("Payment received. Enjoy the show!", "success")
    return see_other(f"/bookings/{found.reference}")


@router.get("/bookings/{reference}", response_class=HTMLResponse)
async def booking_page(request: Request, session: SessionDep, user: SignedInUser, reference: str) -> Response:
    """A booking: tickets with QR codes, PDF and calendar links, and cancellation with its refund shown."""
    found = await queries.get_visible_booking(session, user=user, reference=reference)
    booking = await presenters.booking_read(session, found, include_email=found.user_id != user.id)
    if booking.status == "held" and found.user_id == user.id:
        return see_other(f"/bookings/{booking.reference}/checkout")
    quote, _after = await cancellation.quote(session, user=user, booking=found)
    return render(
        request,
        "booking/detail.html",
        {
            "booking": booking,
            "quote": quote,
            "qr": {t.id: qr_data_uri(t.code) for t in booking.tickets if t.status != "void"},
            "mine": found.user_id == user.id,
        },
    )


@router.post("/bookings/{reference}/cancel", response_class=HTMLResponse)
async def cancel_submit(
    request: Request, session: SessionDep, ctx: ContextDep, user: SignedInUser, reference: str
) -> Response:
    """Cancel (a hold) or refund (a paid booking) as the policy allows."""
    try:
        booking, refund = await cancellation.cancel_by_reference(
            session, ctx=ctx, user=user, reference=reference
        )
    except AppError as exc:
        if exc.status == 404:
            raise
        await session.rollback()
        web_session(request).flash(exc.message, "error")
        return see_other(f"/bookings/{reference.upper()}")
    if refund:
        back = money(refund, booking.currency)
        text = f"Booking {booking.reference} is cancelled; {back} is on its way back to your card."
    else:
        text = f"Booking {booking.reference} is cancelled."
    web_session(request).flash(text, "success")
    return see_other(f"/bookings/{booking.reference}")


@router.get("/my/bookings", response_class=HTMLResponse)
async def my_bookings(request: Request, session: SessionDep, user: SignedInUser) -> HTMLResponse:
    """The caller's bookings: upcoming and past."""
    rows, _total = await queries.search(session, user=user, page=PageParams(1, 100), mine_only=True)
    contexts: dict[int, ShowtimeContext] = {}
    items = [await presenters.booking_read(session, b, contexts=contexts) for b in rows]
    now = utc_now()
    upcoming = [b for b in items if b.showtime.ends_at > now and b.status in ("held", "confirmed")]
    past = [b for b in items if b not in upcoming]
    return render(request, "booking/list.html", {"upcoming": upcoming, "past": past})
