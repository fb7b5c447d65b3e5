"""Queries on payments, refunds and webhook events."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from boxoffice.payments.models import Payment, PaymentItem, PaymentStatus, Refund, WebhookEvent


async def payments_for_booking(session: AsyncSession, booking_id: int) -> Sequence[Payment]:
    """Every payment that paid (part of) the booking, oldest first, with their items."""
    rows = await session.scalars(
        select(Payment)
        .join(PaymentItem, PaymentItem.payment_id == Payment.id)
        .where(PaymentItem.booking_id == booking_id)
        .options(selectinload(Payment.items))
        .order_by(Payment.id)
    )
    return rows.unique().all()


async def payment_by_provider_ref(session: AsyncSession, provider: str, provider_ref: str) -> Payment | None:
    """The payment the provider knows as `provider_ref`, locked for update on PostgreSQL."""
    return await session.scalar(
        select(Payment)
        .where(Payment.provider == provider, Payment.provider_ref == provider_ref)
        .options(selectinload(Payment.items))
        .with_for_update()
    )


async def refunds_for_booking(session: AsyncSession, booking_id: int) -> Sequence[Refund]:
    """Refunds given for the booking, oldest first."""
    rows = await session.scalars(select(Refund).where(Refund.booking_id == booking_id).order_by(Refund.id))
    return rows.all()


async def pending_payment_exists(session: AsyncSession, booking_id: int) -> bool:
    """True while a charge for the booking waits for the provider."""
    found = await session.scalar(
        select(Payment.id)
        .join(PaymentItem, PaymentItem.payment_id == Payment.id)
        .where(PaymentItem.booking_id == booking_id, Payment.status == PaymentStatus.pending)
        .limit(1)
    )
    return found is not None


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
