"""Payment records: charge attempts written before the provider is called, refunds owed as durable jobs.

No function here talks to the provider: the attempt is committed first and the caller charges outside any
transaction (booking/payflow.py); refunds are sent by the worker in payments/refunds.py.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.db import after_commit
from boxoffice.payments import repository
from boxoffice.payments.models import (
    Payment,
    PaymentItem,
    PaymentPurpose,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from boxoffice.payments.providers import ChargeResult
from boxoffice.payments.signal import wake_refunds


def new_key(prefix: str) -> str:
    """A provider idempotency key that is never reused: `bo_pay_<32 hex>`, `bo_ref_<32 hex>`."""
    return f"{prefix}_{secrets.token_hex(16)}"


async def start_attempt(
    session: AsyncSession,
    *,
    user_id: int | None,
    provider: str,
    currency: str,
    allocations: Sequence[tuple[int, int]],
    client_key: str | None = None,
    purpose: PaymentPurpose = PaymentPurpose.booking,
    plan: dict[str, Any] | None = None,
) -> Payment:
    """Write a `pending` charge attempt with its own idempotency key (committed before the provider call)."""
    payment = Payment(
        user_id=user_id,
        provider=provider,
        idempotency_key=new_key("bo_pay"),
        client_key=client_key,
        purpose=purpose,
        plan=plan,
        amount=sum(amount for _, amount in allocations),
        currency=currency,
        status=PaymentStatus.pending,
        items=[PaymentItem(booking_id=booking_id, amount=amount) for booking_id, amount in allocations],
    )
    session.add(payment)
    await session.flush()
    return payment


def charge_metadata(payment: Payment, references: Sequence[str]) -> dict[str, str]:
    """What the provider keeps with the charge, so that a webhook or a look-up finds our attempt."""
    return {
        "payment_id": str(payment.id),
        "attempt": payment.idempotency_key,
        "bookings": ",".join(references),
        "user_id": str(payment.user_id or ""),
    }


def record_result(payment: Payment, result: ChargeResult) -> None:
    """Write the provider's answer on a pending attempt (the caller holds the payment's lock)."""
    payment.status = {
        "succeeded": PaymentStatus.succeeded,
        "declined": PaymentStatus.declined,
        "pending": PaymentStatus.pending,
    }[result.status]
    payment.provider_ref = result.provider_ref or payment.provider_ref
    payment.card_last4 = result.card_last4 or payment.card_last4
    payment.failure_message = (result.message or None) if result.status == "declined" else None


async def queue_refund(
    session: AsyncSession,
    *,
    booking_id: int,
    amount: int,
    reason: str,
    payment_ids: Sequence[int] | None = None,
) -> int:
    """Owe back up to `amount` of what was paid for the booking (newest charges first, or only from
    `payment_ids`) as refund jobs; returns the amount owed. Payments are locked in id order and change by
    SQL increments; the worker sends the refunds after commit."""
    if amount <= 0:
        return 0
    paid = await repository.payments_for_booking(session, booking_id)
    chosen = [p.id for p in paid if payment_ids is None or p.id in payment_ids]
    payments = await repository.lock_payments(session, chosen)
    taken = await repository.refunded_per_payment(session, booking_id)
    remaining = amount
    owed = 0
    for payment in reversed(payments):
        if remaining <= 0:
            break
        if payment.status not in repository.SETTLED:
            continue
        share = sum(i.amount for i in payment.items if i.booking_id == booking_id)
        available = min(share - taken.get(payment.id, 0), payment.amount - payment.refunded_amount)
        part = min(available, remaining)
        if part <= 0:
            continue
        session.add(
            Refund(
                payment_id=payment.id,
                booking_id=booking_id,
                amount=part,
                reason=reason,
                status=RefundStatus.pending,
                idempotency_key=new_key("bo_ref"),
            )
        )
        await repository.add_refunded(session, payment_id=payment.id, amount=part)
        remaining -= part
        owed += part
    if owed:
        await session.flush()
        after_commit(session, wake_refunds)
    return owed


async def amount_paid(session: AsyncSession, *, booking_id: int) -> int:
    """What was charged for the booking minus what is owed or given back."""
    paid = 0
    for payment in await repository.payments_for_booking(session, booking_id):
        if payment.status in repository.SETTLED:
            paid += sum(i.amount for i in payment.items if i.booking_id == booking_id)
    refunded = sum((await repository.refunded_per_payment(session, booking_id)).values())
    return paid - refunded


async def has_pending(session: AsyncSession, *, booking_id: int, since: datetime | None = None) -> bool:
    """True while a charge for the booking waits for the provider (one written after `since`, if given)."""
    return await repository.pending_payment_exists(session, booking_id, since=since)
