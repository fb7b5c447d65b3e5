"""The Stripe provider: one PaymentIntent per attempt (official SDK, async), refunds, lookups, webhooks.

Each PaymentIntent carries the attempt's idempotency key in `metadata["attempt"]`, which is how `lookup`
finds it again through Stripe's search API.
"""

from __future__ import annotations

from typing import Any

import stripe

from boxoffice.config import Settings
from boxoffice.errors import BadRequest
from boxoffice.payments.providers import (
    ChargeResult,
    IdempotencyKeyReused,
    PaymentDetails,
    ProviderError,
    RefundRefused,
    RefundResult,
)

# Refund errors that no retry will fix.
_REFUSED_CODES = {"charge_already_refunded", "amount_too_large", "resource_missing"}


class StripeProvider:
    """Charges through Stripe PaymentIntents; `stripe_api_base` points the SDK elsewhere (tests)."""

    name = "stripe"
    lookup_is_current = False

    def __init__(self, settings: Settings) -> None:
        if not settings.stripe_secret_key:
            raise ProviderError("BOXOFFICE_STRIPE_SECRET_KEY is not set")
        base: Any = {"api": settings.stripe_api_base} if settings.stripe_api_base else None
        self._client = stripe.StripeClient(
            settings.stripe_secret_key,
            base_addresses=base,
            http_client=stripe.HTTPXClient(timeout=20),
            max_network_retries=2,
        )

    async def charge(
        self,
        *,
        amount: int,
        currency: str,
        details: PaymentDetails,
        idempotency_key: str,
        description: str,
        metadata: dict[str, str],
    ) -> ChargeResult:
        """Create and confirm a PaymentIntent; 3-D Secure and friends leave it pending (webhook decides)."""
        if not details.payment_method:
            raise BadRequest(
                "Stripe payments need a `payment_method` id (e.g. from Stripe.js).",
                code="payment_method_required",
            )
        try:
            intent = await self._client.v1.payment_intents.create_async(
                params={
                    "amount": amount,
                    "currency": currency.lower(),
                    "payment_method": details.payment_method,
                    "confirm": True,
                    "description": description,
                    "metadata": {"attempt": idempotency_key, **metadata},
                    "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.CardError as exc:
            ref = _get(_get(exc.error, "payment_intent"), "id")
            return ChargeResult("declined", ref, exc.user_message or "The card was declined.")
        except stripe.IdempotencyError as exc:
            raise IdempotencyKeyReused(f"Stripe idempotency error: {exc.user_message}") from exc
        except stripe.StripeError as exc:
            raise ProviderError(f"Stripe error: {type(exc).__name__}") from exc
        return _result(intent)

    async def lookup(self, *, idempotency_key: str, metadata: dict[str, str]) -> ChargeResult | None:
        """The PaymentIntent made for this attempt (by `metadata['attempt']`), or None when Stripe has none.

        Stripe's search is eventually consistent (usually under a minute): ask only about attempts older
        than that, as the reconciliation sweep does.
        """
        quoted = idempotency_key.replace("\\", "\\\\").replace("'", "\\'")
        try:
            found = await self._client.v1.payment_intents.search_async(
                params={"query": f"metadata['attempt']:'{quoted}'", "limit": 10}
            )
        except stripe.StripeError as exc:
            raise ProviderError(f"Stripe search failed: {type(exc).__name__}") from exc
        intents = list(found.data)
        if not intents:
            return None
        return _result(next((i for i in intents if i.status == "succeeded"), intents[0]))

    async def refund(self, *, provider_ref: str, amount: int, idempotency_key: str) -> RefundResult:
        """Refund part or all of a PaymentIntent."""
        try:
            refund = await self._client.v1.refunds.create_async(
                params={"payment_intent": provider_ref, "amount": amount},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.IdempotencyError as exc:
            raise IdempotencyKeyReused(f"Stripe idempotency error: {exc.user_message}") from exc
        except stripe.InvalidRequestError as exc:
            if exc.code in _REFUSED_CODES:
                raise RefundRefused(f"Stripe refused the refund: {exc.code}") from exc
            raise ProviderError(f"Stripe refund failed: {type(exc).__name__}") from exc
        except stripe.StripeError as exc:
            raise ProviderError(f"Stripe refund failed: {type(exc).__name__}") from exc
        return RefundResult(refund.id)


def _result(intent: Any) -> ChargeResult:
    last4 = _last4(intent)
    if intent.status == "succeeded":
        return ChargeResult("succeeded", intent.id, card_last4=last4)
    if intent.status in ("requires_payment_method", "canceled"):
        return ChargeResult("declined", intent.id, "The payment was not accepted.", last4)
    return ChargeResult("pending", intent.id, card_last4=last4, client_secret=intent.client_secret)


def _get(obj: Any, name: str) -> Any:
    try:
        return obj.get(name) if obj is not None else None
    except (AttributeError, TypeError):
        return getattr(obj, name, None)


def _last4(intent: Any) -> str | None:
    try:
        charge = intent.get("latest_charge")
        if isinstance(charge, dict) or hasattr(charge, "get"):
            details = charge.get("payment_method_details") or {}
            card = details.get("card") or {}
            last4 = card.get("last4")
            return str(last4) if last4 else None
    except (AttributeError, KeyError, TypeError):
        return None
    return None


def verify_webhook(settings: Settings, payload: bytes, signature: str | None) -> Any:
    """The event, if `payload` is signed with our webhook secret; BadRequest otherwise."""
    if not settings.stripe_webhook_secret:
        raise BadRequest("Stripe webhooks are not configured.", code="webhook_not_configured")
    try:
        return stripe.Webhook.construct_event(payload, signature, settings.stripe_webhook_secret)
    except (ValueError, stripe.SignatureVerificationError) as exc:
        raise BadRequest("The webhook signature is invalid.", code="invalid_signature") from exc
