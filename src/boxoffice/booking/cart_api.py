"""Cart routes: the caller's held bookings, one checkout for all, release all."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.deps import CurrentUser
from boxoffice.booking import cart, payflow, presenters
from boxoffice.booking.api import PROBLEM_RESPONSES, declined_problem
from boxoffice.booking.deps import ContextDep
from boxoffice.booking.idempotency import render
from boxoffice.booking.schemas import BookingRead, CartRead, PaymentCreate
from boxoffice.booking.settlement import PayOutcome
from boxoffice.deps import SessionDep
from boxoffice.kit.money import Money
from boxoffice.payments.providers import PaymentDetails

router = APIRouter(tags=["booking"])


@router.get("/cart", response_model=CartRead, summary="My held bookings")
async def get_cart(user: CurrentUser, session: SessionDep) -> CartRead:
    """The caller's live holds, their total and the earliest expiry."""
    bookings = await cart.cart(session, user=user)
    contexts: dict[int, Any] = {}
    items = [await presenters.booking_read(session, b, contexts=contexts) for b in bookings]
    currencies = {b.currency for b in bookings}
    total = (
        Money(amount=sum(b.total_amount for b in bookings), currency=currencies.pop())
        if len(currencies) == 1
        else None
    )
    return CartRead(items=items, total=total, expires_at=min((b.expires_at for b in bookings), default=None))


@router.post(
    "/cart/checkout",
    response_model=list[BookingRead],
    summary="Pay the whole cart",
    responses=PROBLEM_RESPONSES,
)
async def checkout(
    body: PaymentCreate,
    user: CurrentUser,
    session: SessionDep,
    ctx: ContextDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> Response:
    """One payment for every held booking, all or nothing."""

    async def present(session: AsyncSession, outcome: PayOutcome) -> tuple[int, Any]:
        if outcome.result.status == "declined":
            first = outcome.bookings[0]
            return 402, declined_problem(outcome.result.message, None, first.expires_at)
        contexts: dict[int, Any] = {}
        reads = [
            (
                await presenters.booking_read(
                    session, b, contexts=contexts, client_secret=outcome.result.client_secret
                )
            ).model_dump(mode="json")
            for b in outcome.bookings
        ]
        return (200 if outcome.result.status == "succeeded" else 202), reads

    idem = payflow.idem_request(
        idempotency_key, scope="POST /cart/checkout", payload=body.model_dump(mode="json")
    )
    answer = await payflow.pay(
        session,
        ctx=ctx,
        user=user,
        booking_ids=await cart.checkout_ids(session, user=user),
        details=PaymentDetails(body.method, body.card_number, body.payment_method),
        idem=idem,
        present=present,
    )
    return render(answer.status, answer.body, replayed=answer.replayed)


@router.delete("/cart", status_code=204, summary="Release every hold")
async def clear_cart(user: CurrentUser, session: SessionDep, ctx: ContextDep) -> Response:
    """Cancel every held booking of the caller; the seats are free at once."""
    await cart.clear(session, ctx=ctx, user=user)
    return Response(status_code=204)
