"""Queries on payment attempts, refund jobs and webhook events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from boxoffice.payments.models import (
    Payment,
    PaymentItem,
    PaymentStatus,
    Refund,
    RefundStatus,
    WebhookEvent,
)

SETTLED = (PaymentStatus.succeeded, PaymentStatus.refunded)


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def payments_for_booking(session: AsyncSession, booking_id: int) -> Sequence[Payment]:
    """Every payment that paid (part of) the booking, oldest first, with their items."""
    rows = await session.scalars(
        select(Payment)
        .join(PaymentItem, PaymentItem.payment_id == Payment.id)
        .where(PaymentItem.booking_id == booking_id)
        .options(selectinload(Payment.items))
        .order_by(Payment.id)
        .execution_options(populate_existing=True)
    )
    return rows.unique().all()


async def lock_payments(session: AsyncSession, payment_ids: Sequence[int]) -> list[Payment]:
    """The payments with their items, re-read and locked in id order (PostgreSQL)."""
    if not payment_ids:
        return []
    stmt = (
        select(Payment)
        .where(Payment.id.in_(sorted(set(payment_ids))))
        .order_by(Payment.id)
        .options(selectinload(Payment.items))
        .execution_options(populate_existing=True)
    )
    if _is_postgres(session):
        stmt = stmt.with_for_update(of=Payment)
    return list((await session.scalars(stmt)).all())


async def get_payment(session: AsyncSession, payment_id: int) -> Payment | None:
    """A payment with its items, freshly read, without a lock."""
    return await session.scalar(
        select(Payment)
        .where(Payment.id == payment_id)
        .options(selectinload(Payment.items))
        .execution_options(populate_existing=True)
    )


async def payment_by_provider_ref(session: AsyncSession, provider: str, provider_ref: str) -> Payment | None:
    """The payment the provider knows as `provider_ref`, without a lock."""
    return await session.scalar(
        select(Payment)
        .where(Payment.provider == provider, Payment.provider_ref == provider_ref)
        .options(selectinload(Payment.items))
    )


async def payment_by_key(session: AsyncSession, idempotency_key: str) -> Payment | None:
    """The attempt sent to the provider with `idempotency_key`."""
    return await session.scalar(
        select(Payment).where(Payment.idempotency_key == idempotency_key).options(selectinload(Payment.items))
    )


async def refunds_for_booking(session: AsyncSession, booking_id: int) -> Sequence[Refund]:
    """Refunds owed or given for the booking, oldest first."""
    rows = await session.scalars(
        select(Refund)
        .where(Refund.booking_id == booking_id)
        .order_by(Refund.id)
        .execution_options(populate_existing=True)
    )
    return rows.all()


async def pending_payment_exists(
    session: AsyncSession, booking_id: int, *, since: datetime | None = None
) -> bool:
    """True while a charge for the booking (written after `since`, if given) waits for the provider."""
    stmt = (
        select(Payment.id)
        .join(PaymentItem, PaymentItem.payment_id == Payment.id)
        .where(PaymentItem.booking_id == booking_id, Payment.status == PaymentStatus.pending)
    )
    if since is not None:
        stmt = stmt.where(Payment.created_at >= since)
    found = await session.scalar(stmt.limit(1))
    return found is not None


async def stale_attempts(session: AsyncSession, *, before: datetime, limit: int = 100) -> Sequence[int]:
    """Ids of attempts still pending that were written before `before` (the reconciliation's work)."""
    rows = await session.scalars(
        select(Payment.id)
        .where(Payment.status == PaymentStatus.pending, Payment.created_at < before)
        .order_by(Payment.id)
        .limit(limit)
    )
    return rows.all()


async def add_refunded(session: AsyncSession, *, payment_id: int, amount: int) -> None:
    """`refunded_amount += amount` in SQL; the payment becomes `refunded` once nothing is left."""
    new_total = Payment.refunded_amount + amount
    await session.execute(
        update(Payment)
        .where(Payment.id == payment_id)
        .values(
            refunded_amount=new_total,
            status=case((new_total >= Payment.amount, PaymentStatus.refunded), else_=Payment.status),
        )
        .execution_options(synchronize_session=False)
    )


async def refunded_per_payment(session: AsyncSession, booking_id: int) -> dict[int, int]:
    """What refunds (owed or given) took back from each payment for this booking."""
    rows = await session.execute(
        select(Refund.payment_id, func.sum(Refund.amount))
        .where(Refund.booking_id == booking_id)
        .group_by(Refund.payment_id)
    )
    return {int(pid): int(total or 0) for pid, total in rows.all()}


async def claim_due_refunds(
    session: AsyncSession, *, now: datetime, lease: timedelta, limit: int
) -> Sequence[Refund]:
    """Take up to `limit` due refund jobs: count the attempt and lease them (rows another worker has
    locked are skipped on PostgreSQL)."""
    stmt = (
        select(Refund)
        .where(Refund.status == RefundStatus.pending, Refund.next_attempt_at <= now)
        .order_by(Refund.next_attempt_at, Refund.id)
        .limit(limit)
    )
    if _is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    rows = (await session.scalars(stmt)).all()
    for row in rows:
        row.attempts += 1
        row.next_attempt_at = now + lease
    await session.flush()
    return rows


async def update_refund(session: AsyncSession, *, refund_id: int, values: dict[str, object]) -> None:
    """Record the outcome of a refund attempt (only while the job is still pending)."""
    await session.execute(
        update(Refund)
        .where(Refund.id == refund_id, Refund.status == RefundStatus.pending)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def claim_event(session: AsyncSession, *, event_id: str, provider: str, type_: str) -> bool:
    """Record a webhook event id; False when it was already recorded (a replay)."""
    existing = await session.get(WebhookEvent, event_id)
    if existing is not None:
        return False
    try:
        async with session.begin_nested():
            session.add(WebhookEvent(id=event_id, provider=provider, type=type_))
            await session.flush()
    except IntegrityError:
        return False
    return True
