"""Seat change pages: review the new seats and the money either way, confirm, then the confirmation.

The seat map in change mode (`/showtimes/{id}?change=REF`) links here with the picked seats; nothing
changes until the customer confirms the review with a POST.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.models import User
from boxoffice.booking import changes, presenters
from boxoffice.booking import service as booking_service
from boxoffice.booking.changes import ChangePlan
from boxoffice.booking.deps import BookingContext, ContextDep
from boxoffice.booking.policy import policy_for
from boxoffice.booking.schemas import MAX_SEATS_INPUT, BookingRead, PaymentCreate
from boxoffice.deps import SessionDep
from boxoffice.errors import AppError
from boxoffice.kit.clock import utc_now
from boxoffice.payments.providers import PaymentDetails
from boxoffice.showtimes import seatmap
from boxoffice.web.deps import SignedInUser
from boxoffice.web.forms import FormError, parse
from boxoffice.web.pages import see_other, start_over
from boxoffice.web.templating import money, render, web_session

router = APIRouter()

SeatsQuery = Annotated[str, Query(max_length=800)]
SeatsForm = Annotated[str, Form(max_length=800)]
_MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class SeatLine:
    """A seat as the review lists it."""

    label: str
    seat_type: str
    price: int


@dataclass(frozen=True)
class MoneyLine:
    """The money sentence of a review: `kind` is pay, refund, no_refund, none, checkout or same."""

    kind: str
    amount: int = 0
    note: str = ""


def parse_seats(raw: str) -> list[int]:
    """ "12,13" -> [12, 13] (duplicates dropped, order kept), or FormError."""
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if not parts:
        raise FormError("Pick at least one seat.")
    if len(parts) > MAX_SEATS_INPUT or not all(p.isdigit() and 1 <= int(p) <= _MAX_ID for p in parts):
        raise FormError("That seat list is not valid; please pick the seats again.")
    return list(dict.fromkeys(int(p) for p in parts))


def _window_words(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    for size, unit in ((24 * 60, "day"), (60, "hour")):
        if minutes % size == 0:
            n = minutes // size
            return f"{n} {unit}" + ("s" if n != 1 else "")
    return f"{minutes} minutes"


def money_of(ctx: BookingContext, booking: BookingRead, plan: ChangePlan) -> MoneyLine:
    """What the customer pays or gets back by confirming `plan`, in words the template shows."""
    if not plan.add and not plan.remove:
        return MoneyLine("same")
    if not plan.confirmed:
        return MoneyLine("checkout", plan.new_total)
    if plan.charge:
        return MoneyLine("pay", plan.charge)
    if plan.difference == 0:
        return MoneyLine("none")
    if plan.refund:
        note = "" if plan.refund_percent == 100 else f"{plan.refund_percent}% of the difference"
        return MoneyLine("refund", plan.refund, note)
    policy = policy_for(ctx.settings.cancellation_policy)
    quote = policy.quote(paid=-plan.difference, starts_at=booking.showtime.starts_at, now=utc_now())
    if quote.allowed:
        return MoneyLine("no_refund", note="the cancellation policy gives nothing back at this time")
    window = _window_words(policy.steps[-1].before)
    return MoneyLine("no_refund", note=f"changes in the last {window} before the start are not refunded")


def current_seats(booking: BookingRead) -> list[SeatLine]:
    """The booking's seats as they are."""
    return [SeatLine(s.label, s.seat_type, s.price.amount) for s in booking.seats]


def new_seats(booking: BookingRead, plan: ChangePlan) -> list[SeatLine]:
    """The seats after the change: the kept ones at the price paid, the added ones at today's price."""
    lines = [
        (s.row, s.number, SeatLine(s.label, s.seat_type, s.price.amount))
        for s in booking.seats
        if s.seat_id not in plan.remove
    ]
    for seat_id in plan.add:
        r = plan.rows[seat_id]
        lines.append((r.row, r.number, SeatLine(f"{r.row}{r.number}", r.seat_type, r.price)))
    return [line for _row, _number, line in sorted(lines, key=lambda t: (t[0], t[1]))]


def _seat_map_url(booking: BookingRead, seat_ids: list[int] | None = None) -> str:
    url = f"/showtimes/{booking.showtime.id}?change={booking.reference}"
    return url + (f"&seats={','.join(map(str, seat_ids))}" if seat_ids else "")


async def _read(session: AsyncSession, user: User, reference: str) -> BookingRead:
    booking = await booking_service.get_own_booking(session, user=user, reference=reference)
    return await presenters.booking_read(session, booking)


async def _explain(session: AsyncSession, user: User, booking: BookingRead, exc: AppError) -> str:
    """A refused change in plain words; taken or admitted seats are named by their labels."""
    ids = [int(s) for s in exc.extra.get("seats", [])]
    if exc.code == "seats_unavailable" and ids:
        answer = await seatmap.build_seat_map(session, showtime_id=booking.showtime.id, user_id=user.id)
        assert answer is not None
        labels = {s["seat_id"]: f"{s['row']}{s['number']}" for s in answer.body["seats"]}
        names = ", ".join(labels.get(i, str(i)) for i in ids)
        if len(ids) == 1:
            return f"Seat {names} was just taken by someone else. Please pick another seat."
        return f"Seats {names} were just taken by someone else. Please pick other seats."
    if exc.code == "already_admitted" and ids:
        labels = {s.seat_id: s.label for s in booking.seats}
        names = ", ".join(labels.get(i, str(i)) for i in ids)
        return f"Seat {names} was already admitted at the door, so it cannot be changed any more."
    if exc.code == "unknown_seats":
        return "Some of those seats are not in this showtime. Please pick the seats again."
    return exc.message


def _page(
    request: Request,
    *,
    booking: BookingRead,
    seat_ids: list[int],
    plan: ChangePlan | None = None,
    money_line: MoneyLine | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "booking/change_review.html",
        {
            "booking": booking,
            "plan": plan,
            "money_line": money_line,
            "current_seats": current_seats(booking),
            "new_seats": new_seats(booking, plan) if plan else [],
            "seats_value": ",".join(map(str, seat_ids)),
            "back_url": _seat_map_url(booking, seat_ids),
            "error": error,
        },
        status=status,
    )


async def _review(
    request: Request,
    session: AsyncSession,
    ctx: BookingContext,
    user: User,
    booking: BookingRead,
    seat_ids: list[int],
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    """Quote the change and render the review; a refused quote renders its reason instead."""
    try:
        _found, plan = await changes.quote_change(
            session, ctx=ctx, user=user, reference=booking.reference, seat_ids=seat_ids
        )
    except AppError as exc:
        if exc.code == "booking_not_found":
            raise
        reason = await _explain(session, user, booking, exc)
        text = f"{error} {reason}" if error else reason
        return _page(
            request, booking=booking, seat_ids=seat_ids, error=text, status=status if error else exc.status
        )
    return _page(
        request,
        booking=booking,
        seat_ids=seat_ids,
        plan=plan,
        money_line=money_of(ctx, booking, plan),
        error=error,
        status=status,
    )


@router.get("/bookings/{reference}/change", response_class=HTMLResponse)
async def change_review(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    user: SignedInUser,
    reference: str,
    seats: SeatsQuery = "",
) -> Response:
    """The review of a seat change: current and new seats, both totals, and what is paid or refunded."""
    booking = await _read(session, user, reference)
    try:
        seat_ids = parse_seats(seats)
    except FormError as exc:
        return _page(request, booking=booking, seat_ids=[], error=exc.message, status=422)
    return await _review(request, session, ctx, user, booking, seat_ids)


@router.post("/bookings/{reference}/change", response_class=HTMLResponse)
async def change_submit(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    user: SignedInUser,
    reference: str,
    seats: SeatsForm = "",  # checked after the booking's owner is (a stranger gets 404, not 422)
    card_number: Annotated[str, Form(max_length=40)] = "",
    expiry: Annotated[str, Form(max_length=7)] = "",
    cvc: Annotated[str, Form(max_length=4)] = "",
) -> Response:
    """Confirm the change: pay the difference (or have it refunded), then the booking with its new tickets."""
    found = await booking_service.get_own_booking(session, user=user, reference=reference)
    before = (found.total_amount, found.refunded_amount)  # plain values: a rollback below expires `found`
    try:
        seat_ids = parse_seats(seats)
    except FormError as exc:
        return _page(
            request, booking=await _read(session, user, reference), seat_ids=[], error=exc.message, status=422
        )
    try:
        card = parse(PaymentCreate, card_number=card_number.strip(), expiry=expiry, cvc=cvc)
        await changes.change_seats(
            session,
            ctx=ctx,
            user=user,
            reference=reference,
            seat_ids=seat_ids,
            details=PaymentDetails("card", card.card_number, None),
        )
    except FormError as exc:
        booking = await _read(session, user, reference)
        return await _review(request, session, ctx, user, booking, seat_ids, error=exc.message, status=422)
    except AppError as exc:
        if exc.code == "booking_not_found":
            raise
        await start_over(session, user)  # the service may have committed its payment attempt already
        fresh = await _read(session, user, reference)
        message = exc.message
        if exc.status == 402:
            message += " Your seats have not changed; you can try another card."
        return await _review(request, session, ctx, user, fresh, seat_ids, error=message, status=exc.status)
    after = await _read(session, user, reference)
    if sorted(s.seat_id for s in after.seats) != sorted(seat_ids):  # the payment is still on its way
        web_session(request).flash(
            "Your payment is being processed; your seats change as soon as it is through.", "info"
        )
        return see_other(f"/bookings/{after.reference}")
    web_session(request).flash(_confirmation(before, after), "success")
    return see_other(f"/bookings/{after.reference}")


def _confirmation(before: tuple[int, int], after: BookingRead) -> str:
    """ "Your seats are now A3, A4. €4.00 was charged to your card. Your new tickets are on their way..." """
    labels = ", ".join(s.label for s in after.seats)
    parts = [f"Your seats are now {labels}."]
    currency = after.total.currency
    if after.status != "confirmed":
        parts.append(f"The new total, {money(after.total.amount, currency)}, is paid at checkout.")
        return " ".join(parts)
    old_total, old_refunded = before
    charged = after.total.amount - old_total
    refunded = after.refunded.amount - old_refunded
    if charged > 0:
        parts.append(f"{money(charged, currency)} was charged to your card.")
    if refunded > 0:
        parts.append(f"{money(refunded, currency)} will be refunded to your card.")
    parts.append("Your new tickets are on their way by email.")
    return " ".join(parts)
