"""Payment providers behind one interface: `simulated` (simulated.py) and `stripe` (stripe_provider.py).

A provider charges, refunds and answers what became of a charge attempt; it never stores or logs a card
number, only hands back its last four digits.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any, Literal, Protocol

from boxoffice.config import Settings

if TYPE_CHECKING:
    from boxoffice.payments.simulated import SimulatedProvider

__all__ = [
    "TEST_CARD_3DS",
    "TEST_CARD_DECLINED",
    "TEST_CARD_OK",
    "ChargeResult",
    "ChargeStatus",
    "IdempotencyKeyReused",
    "PaymentDetails",
    "PaymentProvider",
    "ProviderError",
    "RefundRefused",
    "RefundResult",
    "SimulatedProvider",
    "get_provider",
]

ChargeStatus = Literal["succeeded", "declined", "pending"]

TEST_CARD_OK = "4242424242424242"
TEST_CARD_DECLINED = "4000000000000002"
TEST_CARD_3DS = "4000002500003155"  # asks for 3-D Secure: pending until completed


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


class IdempotencyKeyReused(ProviderError):
    """The idempotency key was first used with other parameters (Stripe's `idempotency_error`)."""


class RefundRefused(ProviderError):
    """The provider refuses the refund for good: unknown charge, nothing left to refund, amount too large."""


class PaymentProvider(Protocol):
    """Charges, refunds and looks up charge attempts with one payment service."""

    name: str
    # True when `lookup` sees a charge the moment it is made (the simulated ledger); False when its index
    # lags (Stripe's search: up to a minute), so "not found" right after an error proves nothing.
    lookup_is_current: bool

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

    async def lookup(self, *, idempotency_key: str, metadata: dict[str, str]) -> ChargeResult | None:
        """The charge made with this attempt's key, or None when the provider never saw it."""
        ...


def get_provider(settings: Settings) -> PaymentProvider:
    """The configured provider."""
    if settings.payment_provider == "stripe":
        from boxoffice.payments.stripe_provider import StripeProvider

        return StripeProvider(settings)
    from boxoffice.payments.simulated import SimulatedProvider

    return SimulatedProvider(settings)


def __getattr__(name: str) -> Any:
    """`SimulatedProvider` stays importable from here (simulated.py imports this module, hence lazily)."""
    if name == "SimulatedProvider":
        from boxoffice.payments.simulated import SimulatedProvider

        return SimulatedProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
