"""Money formatting respects each currency's minor unit."""

from __future__ import annotations

from boxoffice.kit.money import fmt


def test_two_decimal_currency() -> None:
    assert fmt(1250, "EUR") == "12.50 EUR"
    assert fmt(5, "USD") == "0.05 USD"


def test_zero_decimal_currency() -> None:
    assert fmt(1800, "JPY") == "1800 JPY"


def test_negative_amounts_keep_their_sign() -> None:
    assert fmt(-1250, "EUR") == "-12.50 EUR"
