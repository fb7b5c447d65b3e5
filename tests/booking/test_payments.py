"""Paying: confirmation with tickets, declines, late payments, idempotent retries, the cart."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from boxoffice.booking.models import Booking
from boxoffice.db import transaction
from boxoffice.notifications.models import OutboxEmail
from boxoffice.payments.models import Payment, PaymentStatus
from tests.conftest import FrozenClock
from tests.factories.booking import DECLINED_CARD, book_and_pay, hold, make_customer, pay
from tests.factories.showtimes import make_showtime


async def count(app: FastAPI, model: type) -> int:
    """Rows in a table."""
    async with transaction(app.state.sessionmaker, write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_paying_confirms_issues_tickets_and_emails_them(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    alice = await make_customer(app)
    body = await book_and_pay(client, alice, st.showtime_id, st.seat_ids[:2])
    assert body["status"] == "confirmed"
    assert body["expires_at"] is None
    assert len(body["tickets"]) == 2
    assert all(t["code"].startswith("BX1.") for t in body["tickets"])
    assert body["payments"][0]["card_last4"] == "4242"
    assert body["payments"][0]["status"] == "succeeded"
    async with transaction(app.state.sessionmaker, write=False) as session:
        email = await session.scalar(select(OutboxEmail).where(OutboxEmail.to_address == alice.user.email))
        assert email is not None
        booking_id = await session.scalar(select(Booking.id).where(Booking.reference == body["reference"]))
        # Only what to attach: the sender renders the PDF and the .ics (tests/booking/test_tickets.py).
        assert email.attachments == [{"render": "booking_tickets", "args": {"booking_id": booking_id}}]
        stored = (await session.scalars(select(Payment))).all()
        assert [p.card_last4 for p in stored] == ["4242"]
        assert "4242424242424242" not in repr([p.__dict__ for p in stored])
    again = await client.post(
        f"/api/v1/bookings/{body['reference']}/pay",
        json={"method": "card", "card_number": "4242424242424242"},
        headers=alice.headers,
    )
    assert (again.status_code, again.json()["code"]) == (409, "already_paid")


async def test_declined_payment_keeps_the_hold_with_one_grace_period(
    app: FastAPI, client: httpx.AsyncClient, frozen_clock: FrozenClock
) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    alice, bob = await make_customer(app), await make_customer(app)
    held = await hold(client, alice, st.showtime_id, st.seat_ids[:2])
    frozen_clock.advance(minutes=9)
    declined = await pay(client, alice, held["reference"], card=DECLINED_CARD, expect=402)
    assert declined["code"] == "payment_declined"
    # The grace period: 2 minutes from the start of the payment, granted once.
    assert datetime.fromisoformat(declined["expires_at"]) == frozen_clock.now + timedelta(minutes=2)
    frozen_clock.advance(minutes=1)
    other = await pay(client, alice, held["reference"], card="5555 5555 5555 4444", expect=402)
    assert "4242" in other["detail"]
    assert datetime.fromisoformat(other["expires_at"]) == datetime.fromisoformat(declined["expires_at"])
    await hold(client, bob, st.showtime_id, st.seat_ids[:1], expect=409)
    paid = await pay(client, alice, held["reference"])
    assert paid["status"] == "confirmed"
    assert [p["status"] for p in paid["payments"]] == ["declined", "declined", "succeeded"]


async def test_paying_someone_elses_booking_is_404(app: FastAPI, client: httpx.AsyncClient) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    alice, mallory = await make_customer(app), await make_customer(app)
    held = await hold(client, alice, st.showtime_id, st.seat_ids[:1])
    stolen = await pay(client, mallory, held["reference"], expect=404)
    assert stolen["code"] == "booking_not_found"
    unknown = await pay(client, alice, "ZZZZZZZZZZ", expect=404)
    assert unknown["code"] == "booking_not_found"
    assert await count(app, Payment) == 0


async def test_late_payment_confirms_when_seats_are_still_free(
    app: FastAPI, client: httpx.AsyncClient, frozen_clock: FrozenClock
) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    alice = await make_customer(app)
    held = await hold(client, alice, st.showtime_id, st.seat_ids[:2])
    frozen_clock.advance(minutes=14)  # access tokens live 15 minutes
    from boxoffice.booking.sweeper import sweep_once

    assert await sweep_once(app.state.sessionmaker, app.state.events) == (2, 1)
    expired = (await client.get(f"/api/v1/bookings/{held['reference']}", headers=alice.headers)).json()
    assert expired["status"] == "expired"
    paid = await pay(client, alice, held["reference"])
    assert paid["status"] == "confirmed"
    assert len(paid["tickets"]) == 2


async def test_late_payment_after_seats_were_taken_is_refused_uncharged(
    app: FastAPI, client: httpx.AsyncClient, frozen_clock: FrozenClock
) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    alice, bob = await make_customer(app), await make_customer(app)
    held = await hold(client, alice, st.showtime_id, st.seat_ids[:2])
    frozen_clock.advance(minutes=11)
    await hold(client, bob, st.showtime_id, st.seat_ids[1:2])
    late = await pay(client, alice, held["reference"], expect=409)
    assert late["code"] == "hold_expired"
    assert late["seats"] == [st.seat_ids[1]]
    assert await count(app, Payment) == 0


async def test_idempotent_create_replays_and_conflicts(app: FastAPI, client: httpx.AsyncClient) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=6)
    alice = await make_customer(app)
    headers = {**alice.headers, "Idempotency-Key": "create-1"}
    body = {"showtime_id": st.showtime_id, "seat_ids": st.seat_ids[:2]}
    first = await client.post("/api/v1/bookings", json=body, headers=headers)
    second = await client.post("/api/v1/bookings", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("idempotent-replayed") == "true"
    other = await client.post(
        "/api/v1/bookings",
        json={"showtime_id": st.showtime_id, "seat_ids": st.seat_ids[3:4]},
        headers=headers,
    )
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_conflict")
    assert await count(app, Booking) == 1


async def test_concurrent_duplicates_do_not_both_run(app: FastAPI, client: httpx.AsyncClient) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=6)
    alice = await make_customer(app)
    held = await hold(client, alice, st.showtime_id, st.seat_ids[:2])
    headers = {**alice.headers, "Idempotency-Key": "pay-once"}
    card = {"method": "card", "card_number": "4242424242424242"}
    url = f"/api/v1/bookings/{held['reference']}/pay"
    answers = await asyncio.gather(*(client.post(url, json=card, headers=headers) for _ in range(4)))
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    assert len({a.json()["reference"] for a in answers}) == 1
    assert await count(app, Payment) == 1
    create_headers = {**alice.headers, "Idempotency-Key": "hold-once"}
    create = {"showtime_id": st.showtime_id, "seat_ids": st.seat_ids[4:6]}
    holds = await asyncio.gather(
        *(client.post("/api/v1/bookings", json=create, headers=create_headers) for _ in range(4))
    )
    assert [h.status_code for h in holds] == [201] * 4
    assert len({h.json()["reference"] for h in holds}) == 1
    assert await count(app, Booking) == 2


async def test_declined_payment_is_replayed_not_recharged(app: FastAPI, client: httpx.AsyncClient) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    alice = await make_customer(app)
    held = await hold(client, alice, st.showtime_id, st.seat_ids[:1])
    headers = {**alice.headers, "Idempotency-Key": "k-declined"}
    card = {"method": "card", "card_number": DECLINED_CARD}
    url = f"/api/v1/bookings/{held['reference']}/pay"
    one = await client.post(url, json=card, headers=headers)
    two = await client.post(url, json=card, headers=headers)
    assert one.status_code == two.status_code == 402
    assert one.json() == two.json()
    assert await count(app, Payment) == 1
    bad_key = await client.post(url, json=card, headers={**alice.headers, "Idempotency-Key": " "})
    assert (bad_key.status_code, bad_key.json()["code"]) == (400, "invalid_idempotency_key")


async def test_cart_checkout_pays_all_in_one_payment(app: FastAPI, client: httpx.AsyncClient) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=6)
    alice = await make_customer(app)
    a = await hold(client, alice, st.showtime_id, st.seat_ids[:1])
    b = await hold(client, alice, st.showtime_id, st.seat_ids[2:4])
    cart = (await client.get("/api/v1/cart", headers=alice.headers)).json()
    assert [i["reference"] for i in cart["items"]] == [a["reference"], b["reference"]]
    assert cart["total"] == {"amount": 3600, "currency": "EUR"}
    paid = await client.post(
        "/api/v1/cart/checkout", json={"card_number": "4242 4242 4242 4242"}, headers=alice.headers
    )
    assert paid.status_code == 200, paid.text
    assert [p["status"] for p in paid.json()] == ["confirmed", "confirmed"]
    assert await count(app, Payment) == 1
    empty = (await client.get("/api/v1/cart", headers=alice.headers)).json()
    assert empty["items"] == []
    assert empty["total"] is None
    nothing = await client.post(
        "/api/v1/cart/checkout", json={"card_number": "4242424242424242"}, headers=alice.headers
    )
    assert (nothing.status_code, nothing.json()["code"]) == (409, "cart_empty")


async def test_cart_checkout_is_all_or_nothing(
    app: FastAPI, client: httpx.AsyncClient, frozen_clock: FrozenClock
) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=6)
    alice, bob = await make_customer(app), await make_customer(app)
    a = await hold(client, alice, st.showtime_id, st.seat_ids[:1])
    frozen_clock.advance(minutes=5)
    b = await hold(client, alice, st.showtime_id, st.seat_ids[2:3])
    frozen_clock.advance(minutes=6)  # a expired, b still held
    await hold(client, bob, st.showtime_id, st.seat_ids[:1])
    refused = await client.post(
        "/api/v1/cart/checkout", json={"card_number": "4242424242424242"}, headers=alice.headers
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "hold_expired")
    assert await count(app, Payment) == 0
    still = (await client.get(f"/api/v1/bookings/{b['reference']}", headers=alice.headers)).json()
    assert still["status"] == "held"
    expired = (await client.get(f"/api/v1/bookings/{a['reference']}", headers=alice.headers)).json()
    assert expired["status"] == "expired"  # shown as expired even before the sweeper runs


async def test_delete_cart_releases_every_hold(app: FastAPI, client: httpx.AsyncClient) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    alice, bob = await make_customer(app), await make_customer(app)
    await hold(client, alice, st.showtime_id, st.seat_ids[:2])
    await hold(client, alice, st.showtime_id, st.seat_ids[2:3])
    cleared = await client.delete("/api/v1/cart", headers=alice.headers)
    assert cleared.status_code == 204
    again = await hold(client, bob, st.showtime_id, st.seat_ids[:3])
    assert again["status"] == "held"
    mine = (await client.get("/api/v1/me/bookings", headers=alice.headers)).json()
    assert [i["status"] for i in mine["items"]] == ["cancelled", "cancelled"]


async def test_idempotency_keys_are_forgotten_after_a_day(
    app: FastAPI, client: httpx.AsyncClient, frozen_clock: FrozenClock
) -> None:
    from boxoffice.booking.models import IdempotencyRecord
    from boxoffice.booking.sweeper import sweep_once
    from tests.factories.accounts import auth_headers

    st = await make_showtime(app, rows=1, seats_per_row=4, starts_in=timedelta(days=3))
    alice = await make_customer(app)
    body = {"showtime_id": st.showtime_id, "seat_ids": st.seat_ids[:1]}
    first = await client.post(
        "/api/v1/bookings", json=body, headers={**alice.headers, "Idempotency-Key": "day"}
    )
    assert first.status_code == 201
    await sweep_once(app.state.sessionmaker, app.state.events)
    assert await count(app, IdempotencyRecord) == 1
    frozen_clock.advance(hours=25)
    await sweep_once(app.state.sessionmaker, app.state.events)
    assert await count(app, IdempotencyRecord) == 0
    headers = {**auth_headers(app, alice.user), "Idempotency-Key": "day"}
    again = await client.post("/api/v1/bookings", json=body, headers=headers)
    assert again.status_code == 201
    assert again.json()["reference"] != first.json()["reference"]


async def test_a_charge_whose_result_cannot_be_applied_is_reconciled_once(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Transaction 2 fails after the provider charged: the attempt was committed before the charge, so it
    stays pending; the reconciliation sweep asks the provider and confirms it; a retry with the same
    Idempotency-Key answers the confirmed booking and never charges again."""
    from boxoffice.booking import payflow, settlement
    from boxoffice.booking.deps import context_for_app
    from boxoffice.errors import ServiceUnavailable

    ctx = context_for_app(app)
    charges: list[dict[str, object]] = []
    real_charge, real_confirm = ctx.provider.charge, settlement.confirm

    async def recording_charge(**kwargs: Any) -> Any:
        charges.append(kwargs)
        return await real_charge(**kwargs)

    async def broken_confirm(*args: Any, **kwargs: Any) -> bool:
        raise ServiceUnavailable("The database went away.", code="database_unavailable")

    monkeypatch.setattr(ctx.provider, "charge", recording_charge)
    monkeypatch.setattr(settlement, "confirm", broken_confirm)
    st = await make_showtime(app, rows=1, seats_per_row=4)
    alice = await make_customer(app)
    held = await hold(client, alice, st.showtime_id, st.seat_ids[:1])
    url = f"/api/v1/bookings/{held['reference']}/pay"
    card = {"method": "card", "card_number": "4242424242424242"}
    headers = {**alice.headers, "Idempotency-Key": "k-1"}
    failed = await client.post(url, json=card, headers=headers)
    assert (failed.status_code, failed.json()["code"]) == (503, "database_unavailable")
    async with transaction(app.state.sessionmaker, write=False) as session:
        [attempt] = (await session.scalars(select(Payment))).all()
        assert attempt.status == PaymentStatus.pending
    monkeypatch.setattr(settlement, "confirm", real_confirm)
    done = await payflow.reconcile(app.state.sessionmaker, ctx=ctx, older_than=timedelta(0))
    assert done == {"succeeded": 1}
    retry = await client.post(url, json=card, headers=headers)
    assert retry.status_code == 200, retry.text
    assert retry.json()["status"] == "confirmed"
    assert retry.headers.get("idempotent-replayed") == "true"
    assert len(charges) == 1  # the provider was asked once; the reconciliation only looked it up
    assert await count(app, Payment) == 1
    assert await payflow.reconcile(app.state.sessionmaker, ctx=ctx, older_than=timedelta(0)) == {}
