"""Book through the API in one call: customers, holds, paid bookings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from boxoffice.accounts.models import Role, User
from boxoffice.payments.refunds import send_due_refunds
from boxoffice.payments.simulated import Ledger, SimulatedProvider
from tests.factories.accounts import auth_headers, make_user

GOOD_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"


@dataclass
class Customer:
    """A user and its bearer header."""

    user: User
    headers: dict[str, str]


async def make_customer(app: FastAPI, *, role: Role = Role.customer, verified: bool = True) -> Customer:
    """A verified customer (or another role) ready to call the API."""
    user = await make_user(app, role=role, verified=verified)
    return Customer(user, auth_headers(app, user))


async def hold(
    client: httpx.AsyncClient, who: Customer, showtime_id: int, seat_ids: list[int], *, expect: int = 201
) -> dict[str, Any]:
    """POST /bookings for explicit seats; asserts the status."""
    response = await client.post(
        "/api/v1/bookings", json={"showtime_id": showtime_id, "seat_ids": seat_ids}, headers=who.headers
    )
    assert response.status_code == expect, response.text
    body: dict[str, Any] = response.json()
    return body


async def pay(
    client: httpx.AsyncClient, who: Customer, reference: str, *, card: str = GOOD_CARD, expect: int = 200
) -> dict[str, Any]:
    """POST /bookings/{ref}/pay with a card; asserts the status."""
    response = await client.post(
        f"/api/v1/bookings/{reference}/pay", json={"method": "card", "card_number": card}, headers=who.headers
    )
    assert response.status_code == expect, response.text
    body: dict[str, Any] = response.json()
    return body


async def book_and_pay(
    client: httpx.AsyncClient, who: Customer, showtime_id: int, seat_ids: list[int]
) -> dict[str, Any]:
    """A confirmed booking with tickets."""
    held = await hold(client, who, showtime_id, seat_ids)
    return await pay(client, who, held["reference"])


def simulated_ledger(app: FastAPI) -> Ledger:
    """The simulated provider's ledger of the app under test (charges, refunds, events, faults)."""
    from boxoffice.booking.deps import context_for_app

    provider = context_for_app(app).provider
    assert isinstance(provider, SimulatedProvider)
    return provider.ledger


def charged_for(app: FastAPI, reference: str) -> list[dict[str, Any]]:
    """The simulated provider's charges (any status) made for a booking reference."""
    return [c for c in simulated_ledger(app).charges() if reference in c["metadata"].get("bookings", "")]


async def drain_refunds(app: FastAPI) -> int:
    """Run the refund worker once, as the app's background loop does; returns how many were sent."""
    from boxoffice.booking.deps import context_for_app

    return await send_due_refunds(app.state.sessionmaker, context_for_app(app).provider)
