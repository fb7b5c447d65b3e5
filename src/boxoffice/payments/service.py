"""Payment records: charges split over bookings, refunds through the provider, webhook bookkeeping."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.errors import ServiceUnavailable
from boxoffice.payments import repository
from boxoffice.payments.models import Payment, PaymentItem, PaymentStatus, Refund
from boxoffice.payments.providers import ChargeResult, PaymentProvider, ProviderError

log = logging.getLogger("boxoffice.payments")


async def record_charge(
    session: AsyncSession,
    *,
    user_id: int | None,
    provider: PaymentProvider,
    result: ChargeResult,
    currency: str,
    allocations: list[tuple[int, int]],
) -> Payment:
    """Store the outcome of a charge and which booking it paid how much of."""
    status = {
        "succeeded": PaymentStatus.succeeded,
        "declined": PaymentStatus.declined,
        "pending": PaymentStatus.pending,
    }[result.status]
    payment = Payment(
        user_id=user_id,
        provider=provider.name,
        provider_ref=result.provider_ref,
        amount=sum(amount for _, amount in allocations),
        currency=currency,
        status=status,
        card_last4=result.card_last4,
        failure_message=(result.message or None) if status == PaymentStatus.declined else None,
        items=[PaymentItem(booking_id=booking_id, amount=amount) for booking_id, amount in allocations],
    )
    session.add(payment)
    await session.flush()
    return payment


async def refund_booking(
    session: AsyncSession,
    *,
    provider: PaymentProvider,
    booking_id: int,
    amount: int,
    reason: str,
) -> int:
    """Refund up to `amount` of what was paid for the booking (newest charges first); returns the amount."""
    remaining = amount
    refunded = 0
    payments = await repository.payments_for_booking(session, booking_id)
    for payment in reversed(payments):
        if remaining <= 0:
            break
        if payment.status not in (PaymentStatus.succeeded, PaymentStatus.refunded):
            continue
        paid_here = sum(i.amount for i in payment.items if i.booking_id == booking_id)
        given_back = sum(
            r.amount
            for r in await repository.refunds_for_booking(session, booking_id)
            if r.payment_id == payment.id
        )
        available = min(paid_here - given_back, payment.amount - payment.refunded_amount)
        part = min(available, remaining)
        if part <= 0 or payment.provider_ref is None:
            continue
        try:
            result = await provider.refund(
                provider_ref=payment.provider_ref,
                amount=part,
                idempotency_key=f"refund-{payment.id}-{booking_id}-{payment.refunded_amount}-{part}",
            )
        except ProviderError as exc:
            log.warning("refund failed: %s", exc)
            raise ServiceUnavailable(
                "The payment provider could not refund right now; nothing was changed.",
                code="payment_provider_unavailable",
            ) from exc
        session.add(
            Refund(
                payment_id=payment.id,
                booking_id=booking_id,
                amount=part,
                provider_ref=result.provider_ref,
                reason=reason,
            )
        )
        payment.refunded_amount += part
        if payment.refunded_amount >= payment.amount:
            payment.status = PaymentStatus.refunded
        remaining -= part
        refunded += part
    await session.flush()
    return refunded


async def amount_paid(session: AsyncSession, *, booking_id: int) -> int:
    """What was charged for the booking minus what was refunded."""
    paid = 0
    for payment in await repository.payments_for_booking(session, booking_id):
        if payment.status in (PaymentStatus.succeeded, PaymentStatus.refunded):
            paid += sum(i.amount for i in payment.items if i.booking_id == booking_id)
    refunded = sum(r.amount for r in await repository.refunds_for_booking(session, booking_id))
    return paid - refunded


async def has_pending(session: AsyncSession, *, booking_id: int) -> bool:
    """True while a charge for the booking waits for the provider."""
    return await repository.pending_payment_exists(session, booking_id)
