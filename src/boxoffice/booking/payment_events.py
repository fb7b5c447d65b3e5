"""Apply provider events to bookings through `settlement.apply_charge_result`, the pay flow's own step 3.

Events may come late, twice or out of order: an attempt already resolved ignores a later failure, and a
success that lands after the hold expired (or the showtime was cancelled) confirms only if the booking may
still be sold, else the money is owed back. An event for a PaymentIntent we never recorded (a crash
between the charge and the commit of its id) is matched to our attempt by its metadata.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.booking.deps import context_for_app
from boxoffice.booking.settlement import apply_charge_result
from boxoffice.payments import repository as pay_repo
from boxoffice.payments.models import Payment
from boxoffice.payments.providers import ChargeResult
from boxoffice.payments.webhooks import register_payment_listener

log = logging.getLogger("boxoffice.booking")


async def find_attempt(session: AsyncSession, provider: str, data: dict[str, Any]) -> Payment | None:
    """Our attempt for a provider object: by its id, else by the attempt key in its metadata."""
    intent_id = str(data.get("id", ""))
    payment = await pay_repo.payment_by_provider_ref(session, provider, intent_id) if intent_id else None
    if payment is None:
        metadata = data.get("metadata") or {}
        key = str(metadata.get("attempt") or "")
        payment = await pay_repo.payment_by_key(session, key) if key else None
        if payment is not None and payment.provider != provider:
            return None
    return payment


def result_of_event(event_type: str, data: dict[str, Any]) -> ChargeResult | None:
    """The charge result an event reports, or None for events that settle nothing."""
    ref = str(data.get("id", "")) or None
    if event_type == "payment_intent.succeeded":
        return ChargeResult("succeeded", ref)
    if event_type in ("payment_intent.payment_failed", "payment_intent.canceled"):
        error = data.get("last_payment_error") or {}
        return ChargeResult("declined", ref, str(error.get("message") or "The payment failed.")[:300])
    return None


async def on_payment_event(
    session: AsyncSession, app: FastAPI, event_type: str, data: dict[str, Any], provider: str = "stripe"
) -> None:
    """Apply a PaymentIntent event to the attempt it answers (once)."""
    if not event_type.startswith("payment_intent."):
        return
    result = result_of_event(event_type, data)
    if result is None:
        return
    payment = await find_attempt(session, provider, data)
    if payment is None:
        log.warning("event %s for an unknown PaymentIntent %s ignored", event_type, data.get("id"))
        return
    await apply_charge_result(session, ctx=context_for_app(app), payment_id=payment.id, result=result)


def register() -> None:
    """Listen to payment provider events (called once by the app factory)."""
    register_payment_listener(on_payment_event)
