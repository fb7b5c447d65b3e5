"""Paying: three steps, so that no provider call happens inside a database transaction.

1. Transaction 1 locks the bookings (showtimes, then bookings in id order), checks that each may be paid
   now (`transitions`: a late payment on a cancelled, closed or started showtime is 409 `sales_closed`),
   secures their seats, writes a `pending` attempt with its own idempotency key (and the caller's
   Idempotency-Key record pointing at it), and COMMITS.
2. The provider is called with the attempt's key, outside any transaction. When it cannot be reached, it
   is asked once whether it saw the attempt (`lookup`).
3. Transaction 2 applies the answer with `settlement.apply_charge_result`, the function the webhook and
   the reconciliation sweep use, and stores the answer for retries.

A crash between 1 and 3 leaves a `pending` attempt, which the reconciliation sweep (`reconcile`) resolves
by asking the provider: confirmed and charged once, or not confirmed and not charged (or refunded).
This module is the one place in the booking domain that ends transactions itself (docs/booking.md).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from boxoffice.accounts.models import User
from boxoffice.booking import idempotency, settlement, transitions
from boxoffice.booking import repository as repo
from boxoffice.booking.deps import BookingContext
from boxoffice.booking.models import Booking
from boxoffice.booking.settlement import PayOutcome
from boxoffice.db import run_after_commit, transaction
from boxoffice.errors import AppError, Conflict, ServiceUnavailable
from boxoffice.kit.clock import utc_now
from boxoffice.kit.faults import crash_point
from boxoffice.payments import repository as pay_repo
from boxoffice.payments import service as payments
from boxoffice.payments.models import Payment, PaymentStatus
from boxoffice.payments.providers import ChargeResult, PaymentDetails, PaymentProvider, ProviderError

log = logging.getLogger("boxoffice.booking")

# Builds the HTTP answer (status, body) of an outcome, inside transaction 2 (routes own the shape).
Present = Callable[[AsyncSession, PayOutcome], Awaitable[tuple[int, Any]]]
NOT_REACHED = "The payment never reached the provider; nothing was charged."
REPLAY_WAIT_SECONDS = 15.0  # a duplicate waits this long for the first request's answer, then 409


@dataclasses.dataclass(frozen=True)
class IdemRequest:
    """The caller's Idempotency-Key for this operation."""

    scope: str
    key: str
    request_hash: str


class _Duplicate(Exception):
    """Another request with the same Idempotency-Key reserved it first."""


@dataclasses.dataclass(frozen=True)
class Answer:
    """What the route sends back, and whether it is a replay of an earlier answer."""

    status: int
    body: Any
    replayed: bool = False


def idem_request(key: str | None, *, scope: str, payload: Any) -> IdemRequest | None:
    """The Idempotency-Key of a request, validated, or None without one."""
    if key is None:
        return None
    return IdemRequest(scope, idempotency.normalise_key(key), idempotency.fingerprint(payload))


async def commit(session: AsyncSession) -> None:
    """End the current transaction and run what waited for its commit (emails, events, refunds)."""
    await session.commit()
    await run_after_commit(session)


async def _replay(
    session: AsyncSession, *, ctx: BookingContext, user: User, idem: IdemRequest, present: Present
) -> Answer | None:
    """The answer to a retry: the stored one, the fate of its attempt, or None (run afresh)."""
    record = await idempotency.find(
        session, user_id=user.id, scope=idem.scope, key=idem.key, request_hash=idem.request_hash
    )
    if record is None:
        return None
    if record.status_code is not None:
        return Answer(record.status_code, record.response_body, replayed=True)
    payment = await pay_repo.get_payment(session, record.payment_id) if record.payment_id else None
    if payment is None or payment.status == PaymentStatus.pending:
        raise Conflict("The first payment with this key is still being processed.", code="payment_pending")
    # The attempt was resolved by the webhook or the reconciliation sweep: answer with its outcome.
    bookings, _ = await transitions.lock(session, [i.booking_id for i in payment.items])
    status, body = await present(session, PayOutcome(bookings, payment, settlement.result_of(payment)))
    record.status_code, record.response_body = status, body
    await session.flush()
    return Answer(status, body, replayed=True)


async def _await_replay(
    session: AsyncSession, *, ctx: BookingContext, user: User, idem: IdemRequest, present: Present
) -> Answer | None:
    """`_replay`, waiting (no transaction open, no lock held) while the first request with the key is
    still talking to the provider, so that a duplicate sent at once gets the same answer."""
    delay, waited = 0.05, 0.0
    while True:
        try:
            replay = await _replay(session, ctx=ctx, user=user, idem=idem, present=present)
        except Conflict as exc:
            if exc.code != "payment_pending" or waited >= REPLAY_WAIT_SECONDS:
                raise
            await session.commit()  # nothing written; ends the transaction, keeps objects loaded
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 0.5)
            continue
        if replay is not None:
            await commit(session)
        return replay


async def _start(
    session: AsyncSession,
    *,
    ctx: BookingContext,
    user: User,
    booking_ids: Sequence[int],
    idem: IdemRequest | None,
) -> tuple[Payment, list[Booking]]:
    """Transaction 1's work: reserve the key, lock, check, secure, write the attempt (the caller commits)."""
    record = None
    if idem is not None:
        record = await idempotency.reserve(
            session, user_id=user.id, scope=idem.scope, key=idem.key, request_hash=idem.request_hash
        )
        if record is None:
            raise _Duplicate
    now = utc_now()
    bookings, showtimes = await transitions.lock(session, booking_ids)
    for booking in bookings:
        await settlement.secure(
            session,
            ctx=ctx,
            booking=booking,
            showtime=showtimes[booking.showtime_id],
            now=now,
            actor_id=user.id,
        )
    currencies = {b.currency for b in bookings}
    if len(currencies) != 1:
        raise Conflict("Bookings in different currencies cannot be paid together.", code="mixed_currencies")
    payment = await payments.start_attempt(
        session,
        user_id=user.id,
        provider=ctx.provider.name,
        currency=currencies.pop(),
        allocations=[(b.id, b.total_amount) for b in bookings],
        client_key=idem.key if idem else None,
    )
    if record is not None:
        record.payment_id = payment.id
        await session.flush()
    return payment, bookings


async def ask_provider(
    provider: PaymentProvider,
    *,
    call: Callable[[], Awaitable[ChargeResult]],
    payment: Payment,
    metadata: dict[str, str],
) -> ChargeResult | None:
    """The provider's answer to the charge; when it could not be reached, what it knows of the attempt
    (a not-reached attempt is declined); None when even that is unknown (the attempt stays pending)."""
    try:
        return await call()
    except ProviderError as exc:
        log.warning("charge %s: provider error (%s); asking whether it went through", payment.id, exc)
    except AppError:
        raise  # refused before any charge (the caller declines the attempt)
    except Exception:  # a provider client that failed in an unforeseen way: nothing is known either
        log.exception("charge %s: the provider call failed; asking whether it went through", payment.id)
    try:
        found = await provider.lookup(idempotency_key=payment.idempotency_key, metadata=metadata)
    except ProviderError as exc:
        log.warning("charge %s: look-up failed too (%s); left for the reconciliation sweep", payment.id, exc)
        return None
    if found is None and not provider.lookup_is_current:
        return None  # its index may lag behind the charge: the reconciliation sweep asks again later
    return found if found is not None else ChargeResult("declined", None, NOT_REACHED)


async def pay(
    session: AsyncSession,
    *,
    ctx: BookingContext,
    user: User,
    booking_ids: Sequence[int],
    details: PaymentDetails,
    idem: IdemRequest | None,
    present: Present,
) -> Answer:
    """Pay the bookings in one charge (the three steps above); the answer comes from `present`."""
    if idem is not None:
        replay = await _await_replay(session, ctx=ctx, user=user, idem=idem, present=present)
        if replay is not None:
            return replay
    if not booking_ids:
        raise Conflict("The cart is empty.", code="cart_empty")
    try:
        payment, bookings = await _start(session, ctx=ctx, user=user, booking_ids=booking_ids, idem=idem)
    except _Duplicate:  # a request with the same key got there first: its answer is ours
        assert idem is not None
        await session.commit()  # only the failed savepoint was written (rolled back)
        replay = await _await_replay(session, ctx=ctx, user=user, idem=idem, present=present)
        if replay is None:
            raise Conflict(
                "A concurrent request with this key failed; retry.", code="idempotency_in_progress"
            ) from None
        return replay
    references = [b.reference for b in bookings]
    metadata = payments.charge_metadata(payment, references)
    amount, currency, key, payment_id = payment.amount, payment.currency, payment.idempotency_key, payment.id
    await commit(session)
    crash_point("payment.attempt_committed")

    async def charge() -> ChargeResult:
        return await ctx.provider.charge(
            amount=amount,
            currency=currency,
            details=details,
            idempotency_key=key,
            description="boxoffice " + " ".join(references),
            metadata=metadata,
        )

    try:
        result = await ask_provider(ctx.provider, call=charge, payment=payment, metadata=metadata)
    except AppError as refused:  # refused before any charge (e.g. Stripe without a payment method)
        await settlement.apply_charge_result(
            session, ctx=ctx, payment_id=payment_id, result=ChargeResult("declined", None, refused.message)
        )
        if idem is not None:
            await repo.forget_idempotency_of_payment(session, payment_id=payment_id)
        await commit(session)
        raise
    crash_point("payment.provider_answered")
    if result is None:
        raise ServiceUnavailable(
            "The payment provider did not answer. If the charge went through, your booking is confirmed "
            "automatically (or refunded); please check your bookings in a minute.",
            code="payment_provider_unavailable",
        )
    outcome = await settlement.apply_charge_result(session, ctx=ctx, payment_id=payment_id, result=result)
    assert outcome is not None
    if result.message == NOT_REACHED:
        if idem is not None:  # nothing happened: a retry with the same key runs afresh
            await repo.forget_idempotency_of_payment(session, payment_id=payment_id)
        await commit(session)
        raise ServiceUnavailable(
            "The payment provider is unavailable; nothing was charged, please retry.",
            code="payment_provider_unavailable",
        )
    status, body = await present(session, outcome)
    if idem is not None:
        await repo.store_idempotent_answer(session, payment_id=payment_id, status=status, body=body)
    crash_point("payment.result_applied")
    await commit(session)
    return Answer(status, body)


async def reconcile_one(
    factory: async_sessionmaker[AsyncSession], *, ctx: BookingContext, payment_id: int
) -> str:
    """Ask the provider about one attempt left pending and apply its answer; returns what happened."""
    async with transaction(factory, write=False) as session:
        payment = await pay_repo.get_payment(session, payment_id)
        refs = [b.reference for b in await _bookings(session, payment)] if payment else []
    if payment is None or payment.status != PaymentStatus.pending:
        return "resolved"
    metadata = payments.charge_metadata(payment, refs)
    try:
        found = await ctx.provider.lookup(idempotency_key=payment.idempotency_key, metadata=metadata)
    except ProviderError as exc:
        log.warning("reconcile %s: provider unavailable (%s)", payment_id, exc)
        return "unknown"
    if found is not None and found.status == "pending":
        return "pending"  # waiting for the customer (3-D Secure): the webhook decides
    result = found if found is not None else ChargeResult("declined", None, NOT_REACHED)
    async with transaction(factory) as session:
        await settlement.apply_charge_result(session, ctx=ctx, payment_id=payment_id, result=result)
    log.info("reconciled payment %s: %s", payment_id, result.status)
    return result.status


async def _bookings(session: AsyncSession, payment: Payment) -> list[Booking]:
    found = [await repo.get_booking_by_id(session, i.booking_id) for i in payment.items]
    return [b for b in found if b is not None]


async def reconcile(
    factory: async_sessionmaker[AsyncSession], *, ctx: BookingContext, older_than: timedelta
) -> dict[str, int]:
    """Resolve every attempt left pending for longer than `older_than`; counts by outcome."""
    async with transaction(factory, write=False) as session:
        ids = list(await pay_repo.stale_attempts(session, before=utc_now() - older_than))
    counts: dict[str, int] = {}
    for payment_id in ids:
        outcome = await reconcile_one(factory, ctx=ctx, payment_id=payment_id)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts
