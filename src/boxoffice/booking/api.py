"""Booking routes: hold, read, search, pay (cart, check-in, cancellation and events live beside this file)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from pydantic import StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.deps import CurrentUser
from boxoffice.booking import attachments, export, payflow, presenters, queries, service
from boxoffice.booking.deps import ContextDep
from boxoffice.booking.idempotency import render, run_idempotent
from boxoffice.booking.models import BookingStatus
from boxoffice.booking.schemas import MAX_ID, BookingCreate, BookingList, BookingRead, PaymentCreate
from boxoffice.booking.settlement import PayOutcome
from boxoffice.deps import SessionDep
from boxoffice.kit.pagination import PageDep
from boxoffice.payments.providers import PaymentDetails

router = APIRouter(tags=["booking"])
export.register()  # the bookings section of GET /me/export
attachments.register()  # the tickets PDF and .ics of the confirmation email, rendered by the outbox sender

IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]
Reference = Annotated[str, StringConstraints(min_length=4, max_length=16, pattern=r"^[0-9A-Za-z]+$")]

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    402: {"description": "Payment declined (the hold is kept until it expires)"},
    404: {"description": "No such booking (or not yours)"},
    409: {
        "description": "seats_unavailable, hold_expired, sales_closed, already_paid, booking_cancelled, "
        "payment_pending, idempotency_conflict"
    },
}


def declined_problem(message: str, reference: str | None, expires_at: Any) -> dict[str, Any]:
    """The 402 body of a declined payment."""
    return {
        "type": "https://boxoffice.dev/problems/payment_declined",
        "title": "Payment declined",
        "status": 402,
        "detail": message or "The payment was declined.",
        "code": "payment_declined",
        "reference": reference,
        "expires_at": expires_at.isoformat() if expires_at is not None else None,
    }


def too_late_problem(reference: str, code: str) -> dict[str, Any]:
    """The 409 body of a charge that landed when the booking could no longer be sold (it is refunded)."""
    return {
        "type": f"https://boxoffice.dev/problems/{code}",
        "title": "Conflict",
        "status": 409,
        "detail": "The payment arrived when the booking could no longer be sold; it is refunded in full.",
        "code": code,
        "reference": reference,
    }


@router.post(
    "/bookings",
    status_code=201,
    response_model=BookingRead,
    summary="Hold seats",
    responses={403: {"description": "email_unverified"}, **PROBLEM_RESPONSES},
)
async def create_booking(
    body: BookingCreate,
    user: CurrentUser,
    session: SessionDep,
    ctx: ContextDep,
    idempotency_key: IdemKey = None,
) -> Response:
    """Claim the seats in one atomic step and answer a held booking with its expiry and price."""

    async def action() -> tuple[int, Any]:
        booking = await service.create_hold(
            session,
            ctx=ctx,
            user=user,
            showtime_id=body.showtime_id,
            seat_ids=body.seat_ids,
            count=body.count,
        )
        read = await presenters.booking_read(session, booking)
        return 201, read.model_dump(mode="json")

    return await run_idempotent(
        session,
        user_id=user.id,
        key=idempotency_key,
        scope="POST /bookings",
        payload=body.model_dump(mode="json"),
        action=action,
    )


@router.get("/bookings", response_model=BookingList, summary="Search bookings")
async def list_bookings(
    user: CurrentUser,
    session: SessionDep,
    page: PageDep,
    status: BookingStatus | None = None,
    showtime_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    reference: Annotated[str | None, Query(max_length=16)] = None,
    email: Annotated[str | None, Query(max_length=320)] = None,
) -> BookingList:
    """Own bookings; an owner's are those of its cinemas; an admin's all (also by customer email)."""
    rows, total = await queries.search(
        session,
        user=user,
        page=page,
        status=status,
        showtime_id=showtime_id,
        reference=reference,
        email=email,
    )
    contexts: dict[int, Any] = {}
    staff = user.role.value != "customer"
    items = [await presenters.booking_read(session, b, include_email=staff, contexts=contexts) for b in rows]
    return BookingList(items=items, total=total, page=page.page, per_page=page.per_page)


@router.get("/me/bookings", response_model=BookingList, summary="My bookings")
async def my_bookings(user: CurrentUser, session: SessionDep, page: PageDep) -> BookingList:
    """The caller's own bookings, newest first."""
    rows, total = await queries.search(session, user=user, page=page, mine_only=True)
    contexts: dict[int, Any] = {}
    items = [await presenters.booking_read(session, b, contexts=contexts) for b in rows]
    return BookingList(items=items, total=total, page=page.page, per_page=page.per_page)


@router.get(
    "/bookings/{reference}", response_model=BookingRead, summary="One booking", responses=PROBLEM_RESPONSES
)
async def get_booking(reference: Reference, user: CurrentUser, session: SessionDep) -> BookingRead:
    """The booking with tickets and payments (its customer, the cinema's owner, admins)."""
    booking = await queries.get_visible_booking(session, user=user, reference=reference)
    return await presenters.booking_read(session, booking, include_email=booking.user_id != user.id)


@router.post(
    "/bookings/{reference}/pay",
    response_model=BookingRead,
    summary="Pay a held booking",
    responses={
        202: {"description": "Payment pending (Stripe: confirm with the client secret)"},
        **PROBLEM_RESPONSES,
    },
)
async def pay_booking(
    reference: Reference,
    body: PaymentCreate,
    user: CurrentUser,
    session: SessionDep,
    ctx: ContextDep,
    idempotency_key: IdemKey = None,
) -> Response:
    """Charge the booking; confirmed with tickets, 402 declined (hold kept), 409 hold_expired."""
    booking = await service.get_own_booking(session, user=user, reference=reference)

    async def present(session: AsyncSession, outcome: PayOutcome) -> tuple[int, Any]:
        paid = outcome.bookings[0]
        if outcome.result.status == "declined":
            return 402, declined_problem(outcome.result.message, paid.reference, paid.expires_at)
        if paid.id in outcome.too_late:
            return 409, too_late_problem(paid.reference, outcome.too_late[paid.id])
        read = await presenters.booking_read(session, paid, client_secret=outcome.result.client_secret)
        return (200 if outcome.result.status == "succeeded" else 202), read.model_dump(mode="json")

    answer = await payflow.pay(
        session,
        ctx=ctx,
        user=user,
        booking_ids=[booking.id],
        details=PaymentDetails(body.method, body.card_number, body.payment_method),
        idem=payflow.idem_request(
            idempotency_key,
            scope=f"POST /bookings/{reference.upper()}/pay",
            payload=body.model_dump(mode="json"),
        ),
        present=present,
    )
    return render(answer.status, answer.body, replayed=answer.replayed)
