"""Payment providers behind one interface: `simulated` (test cards) and `stripe` (see stripe_provider.py).

A provider charges and refunds; it never stores or logs a card number, only hands back its last four digits.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from typing import Literal, Protocol

from boxoffice.config import Settings

ChargeStatus = Literal["succeeded", "declined", "pending"]

TEST_CARD_OK = "4242424242424242"
TEST_CARD_DECLINED = "4000000000000002"


@dataclasses.dataclass(frozen=True)
class PaymentDetails:
    """What the customer handed over: a card number (simulated) or a provider payment method id (Stripe)."""

    method: str = "card"
    card_number: str | None = None
    payment_method: str | None = None

    @property
    def card_last4(self) -> str | None:
        """The last four digits of the card, the only part ever kept."""
        digits = re.sub(r"\D", "", self.card_number or "")
        return digits[-4:] if len(digits) >= 4 else None


@dataclasses.dataclass(frozen=True)
class ChargeResult:
    """The provider's answer to a charge."""

    status: ChargeStatus
    provider_ref: str | None
    message: str = ""
    card_last4: str | None = None
    client_secret: str | None = None


@dataclasses.dataclass(frozen=True)
class RefundResult:
    """The provider's answer to a refund."""

    provider_ref: str | None


class ProviderError(Exception):
    """The provider could not be reached or answered nonsense; nothing is known to be charged."""


class PaymentProvider(Protocol):
    """Charges and refunds with one payment service."""

    name: str

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
        """Charge `amount` minor units; succeeded, declined, or pending (confirmed later by a webhook)."""
        ...

    async def refund(self, *, provider_ref: str, amount: int, idempotency_key: str) -> RefundResult:
        """Give back `amount` minor units of the charge `provider_ref`."""
        ...


class SimulatedProvider:
    """A provider's test mode: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 and anything else decline."""

    name = "simulated"

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
        """Succeed for the success test card, decline everything else with a clear message."""
        digits = re.sub(r"[\s-]", "", details.card_number or "")
        last4 = details.card_last4
        if digits == TEST_CARD_OK:
            return ChargeResult("succeeded", f"sim_ch_{secrets.token_hex(8)}", card_last4=last4)
        if digits == TEST_CARD_DECLINED:
            return ChargeResult(
                "declined", None, "The card was declined (test card 4000 0000 0000 0002).", last4
            )
        if not digits:
            return ChargeResult("declined", None, "A card number is required.", None)
        return ChargeResult(
            "declined",
            None,
            "The simulated provider only accepts the test card 4242 4242 4242 4242.",
            last4,
        )

    async def refund(self, *, provider_ref: str, amount: int, idempotency_key: str) -> RefundResult:
        """Always succeeds."""
        return RefundResult(f"sim_re_{secrets.token_hex(8)}")


def get_provider(settings: Settings) -> PaymentProvider:
    """The configured provider."""
    if settings.payment_provider == "stripe":
        from boxoffice.payments.stripe_provider import StripeProvider

        return StripeProvider(settings)
    return SimulatedProvider()
