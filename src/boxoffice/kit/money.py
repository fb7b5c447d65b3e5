"""Money as integer minor units with a currency; never floats."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Money(BaseModel):
    """An amount in minor units (cents) and an ISO 4217 currency."""

    amount: int = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")


# ISO 4217 currencies whose minor unit is the major unit (no decimals).
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF", "PYG", "RWF"})


def fmt(amount: int, currency: str) -> str:
    """Human form in the currency's own decimals, e.g. 1250 EUR -> "12.50 EUR", 1800 JPY -> "1800 JPY"."""
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if currency.upper() in ZERO_DECIMAL_CURRENCIES:
        return f"{sign}{amount} {currency}"
    return f"{sign}{amount // 100}.{amount % 100:02d} {currency}"
