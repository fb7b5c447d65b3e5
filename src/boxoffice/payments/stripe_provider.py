"""The Stripe provider: one PaymentIntent per payment (official SDK, async), refunds, webhook verification."""

from __future__ import annotations

from typing import Any

import stripe

from boxoffice.config import Settings
from boxoffice.errors import BadRequest
from boxoffice.payments.providers import ChargeResult, PaymentDetails, ProviderError, RefundResult


class StripeProvider:
    """Charges through Stripe PaymentIntents; `stripe_api_base` points the SDK elsewhere (tests)."""

    name = "stripe"

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
                    "metadata": metadata,
                    "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.CardError as exc:
            return ChargeResult("declined", None, exc.user_message or "The card was declined.")
        except stripe.StripeError as exc:
            raise ProviderError(f"Stripe error: {type(exc).__name__}") from exc
        last4 = _last4(intent)
        if intent.status == "succeeded":
            return ChargeResult("succeeded", intent.id, card_last4=last4)
        if intent.status in ("requires_payment_method", "canceled"):
            return ChargeResult("declined", intent.id, "The payment was not accepted.", last4)
        return ChargeResult("pending", intent.id, card_last4=last4, client_secret=intent.client_secret)

    async def refund(self, *, provider_ref: str, amount: int, idempotency_key: str) -> RefundResult:
        """Refund part or all of a PaymentIntent."""
        try:
            refund = await self._client.v1.refunds.create_async(
                params={"payment_intent": provider_ref, "amount": amount},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise ProviderError(f"Stripe refund failed: {type(exc).__name__}") from exc
        return RefundResult(refund.id)


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
