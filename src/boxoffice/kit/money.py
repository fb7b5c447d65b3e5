"""Money as integer minor units with a currency; never floats."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Money(BaseModel):
    """An amount in minor units (cents) and an ISO 4217 currency."""

    amount: int = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")


def fmt(amount: int, currency: str) -> str:
    """Human form, e.g. 1250 EUR -> "12.50 EUR"."""
    return f"{amount // 100}.{amount % 100:02d} {currency}"
