"""The Stripe provider against a stand-in Stripe API on loopback, and real signed webhooks.

The stand-in speaks the part of Stripe's HTTP API the provider uses (PaymentIntents, refunds, PaymentIntent
search), honours Idempotency-Key as Stripe does (a replay answers the first response, other parameters are a
400 `idempotency_error`) and records every call; webhooks are signed exactly as Stripe signs them
(`t=...,v1=HMAC-SHA256(secret, "t.payload")`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import select

from boxoffice.config import Settings
from boxoffice.db import transaction
from boxoffice.main import create_app
from boxoffice.payments.models import Payment, Refund, WebhookEvent
from boxoffice.payments.providers import (
    ChargeResult,
    IdempotencyKeyReused,
    PaymentDetails,
    ProviderError,
    RefundRefused,
)
from boxoffice.payments.stripe_provider import StripeProvider
from tests.conftest import FrozenClock, make_settings, truncate_all
from tests.factories.accounts import auth_headers
from tests.factories.booking import Customer, drain_refunds, hold, make_customer
from tests.factories.showtimes import make_showtime
from tests.standins.stripe import StandIn, _handler

WEBHOOK_SECRET = "whsec_" + secrets.token_hex(16)


@pytest.fixture
def stand_in() -> Iterator[tuple[str, StandIn]]:
    """A stand-in Stripe API on a free loopback port."""
    state = StandIn()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()


@pytest_asyncio.fixture
async def stripe_app(db_url: str, tmp_path: Path, stand_in: tuple[str, StandIn]) -> AsyncIterator[FastAPI]:
    """An app configured for Stripe, pointed at the stand-in."""
    settings = make_settings(
        db_url,
        tmp_path,
        payment_provider="stripe",
        stripe_secret_key="sk_test_" + secrets.token_hex(8),
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=stand_in[0],
    )
    application = create_app(settings, run_background=False)
    try:
        yield application
    finally:
        await truncate_all(application)
        await application.state.shutdown()


@pytest_asyncio.fixture
async def sclient(stripe_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client for the Stripe-configured app."""
    transport = httpx.ASGITransport(app=stripe_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def signed(event: dict[str, Any], secret: str = WEBHOOK_SECRET) -> tuple[bytes, dict[str, str]]:
    """The body and Stripe-Signature header of a webhook, signed like Stripe does."""
    payload = json.dumps(event).encode()
    ts = int(time.time())
    sig = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, {"Stripe-Signature": f"t={ts},v1={sig}", "Content-Type": "application/json"}


def intent_event(kind: str, intent_id: str, event_id: str | None = None) -> dict[str, Any]:
    """A payment_intent.* event."""
    return {
        "id": event_id or "evt_" + secrets.token_hex(8),
        "object": "event",
        "type": f"payment_intent.{kind}",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "data": {"object": {"id": intent_id, "object": "payment_intent", "status": kind}},
    }


async def deliver(client: httpx.AsyncClient, event: dict[str, Any]) -> httpx.Response:
    """POST a signed webhook."""
    body, headers = signed(event)
    return await client.post("/api/v1/payments/webhooks/stripe", content=body, headers=headers)


async def stripe_pay(client: httpx.AsyncClient, who: Customer, reference: str, method: str) -> httpx.Response:
    """POST /pay with a Stripe payment method id."""
    return await client.post(
        f"/api/v1/bookings/{reference}/pay",
        json={"method": "card", "payment_method": method},
        headers={**who.headers, "Idempotency-Key": f"k-{reference}-{method}"},
    )


async def test_payment_intent_succeeds_and_webhook_replays_apply_once(
    stripe_app: FastAPI, sclient: httpx.AsyncClient, stand_in: tuple[str, StandIn]
) -> None:
    st = await make_showtime(stripe_app, rows=1, seats_per_row=4)
    alice = await make_customer(stripe_app)
    held = await hold(sclient, alice, st.showtime_id, st.seat_ids[:2])
    paid = await stripe_pay(sclient, alice, held["reference"], "pm_card_visa")
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "confirmed"
    path, form, key = stand_in[1].calls[0]
    assert path == "/v1/payment_intents"
    assert (form["amount"], form["currency"], form["confirm"]) == (["2400"], ["eur"], ["true"])
    assert key is not None
    intent_id = next(iter(stand_in[1].intents))
    event = intent_event("succeeded", intent_id)
    answers = [await deliver(sclient, event) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert [a.json()["duplicate"] for a in answers] == [False, True, True, True, True]
    again = await stripe_pay(sclient, alice, held["reference"], "pm_card_visa")  # same key: replayed
    assert again.json() == paid.json()
    async with transaction(stripe_app.state.sessionmaker, write=False) as session:
        assert len((await session.scalars(select(Payment))).all()) == 1
        assert len((await session.scalars(select(WebhookEvent))).all()) == 1
    booking = (await sclient.get(f"/api/v1/bookings/{held['reference']}", headers=alice.headers)).json()
    assert len(booking["tickets"]) == 2


async def test_pending_intent_confirmed_by_webhook_and_late_failure_ignored(
    stripe_app: FastAPI, sclient: httpx.AsyncClient, stand_in: tuple[str, StandIn]
) -> None:
    st = await make_showtime(stripe_app, rows=1, seats_per_row=4)
    alice = await make_customer(stripe_app)
    held = await hold(sclient, alice, st.showtime_id, st.seat_ids[:1])
    pending = await stripe_pay(sclient, alice, held["reference"], "pm_card_threeDSecure")
    assert pending.status_code == 202, pending.text
    assert pending.json()["status"] == "held"
    assert pending.json()["payment_client_secret"].endswith("_secret_x")
    busy = await sclient.post(
        f"/api/v1/bookings/{held['reference']}/pay",
        json={"payment_method": "pm_card_visa"},
        headers=alice.headers,
    )
    assert (busy.status_code, busy.json()["code"]) == (409, "payment_pending")
    intent_id = next(iter(stand_in[1].intents))
    for _ in range(5):  # delivered five times, then a stale failure arrives late
        assert (await deliver(sclient, intent_event("succeeded", intent_id, "evt_ok"))).status_code == 200
    assert (await deliver(sclient, intent_event("payment_failed", intent_id))).status_code == 200
    booking = (await sclient.get(f"/api/v1/bookings/{held['reference']}", headers=alice.headers)).json()
    assert booking["status"] == "confirmed"
    assert [p["status"] for p in booking["payments"]] == ["succeeded"]
    assert len(booking["tickets"]) == 1


async def test_failure_then_decline_keeps_the_hold(
    stripe_app: FastAPI, sclient: httpx.AsyncClient, stand_in: tuple[str, StandIn]
) -> None:
    st = await make_showtime(stripe_app, rows=1, seats_per_row=4)
    alice = await make_customer(stripe_app)
    held = await hold(sclient, alice, st.showtime_id, st.seat_ids[:1])
    declined = await stripe_pay(sclient, alice, held["reference"], "pm_card_chargeDeclined")
    assert (declined.status_code, declined.json()["code"]) == (402, "payment_declined")
    pending = await stripe_pay(sclient, alice, held["reference"], "pm_card_threeDSecure")
    assert pending.status_code == 202
    intent_id = next(iter(stand_in[1].intents))
    assert (await deliver(sclient, intent_event("payment_failed", intent_id))).status_code == 200
    booking = (await sclient.get(f"/api/v1/bookings/{held['reference']}", headers=alice.headers)).json()
    assert booking["status"] == "held"
    assert [p["status"] for p in booking["payments"]] == ["declined", "declined"]


async def test_success_after_the_seats_were_taken_is_refunded(
    stripe_app: FastAPI, sclient: httpx.AsyncClient, stand_in: tuple[str, StandIn], frozen_clock: FrozenClock
) -> None:
    st = await make_showtime(stripe_app, rows=1, seats_per_row=4)
    alice, bob = await make_customer(stripe_app), await make_customer(stripe_app)
    held = await hold(sclient, alice, st.showtime_id, st.seat_ids[:2])
    await stripe_pay(sclient, alice, held["reference"], "pm_card_threeDSecure")
    frozen_clock.advance(minutes=13)  # hold (10) and grace (2) are over
    bob.headers = auth_headers(stripe_app, bob.user)
    await hold(sclient, bob, st.showtime_id, st.seat_ids[1:2])
    intent_id = next(iter(stand_in[1].intents))
    assert (await deliver(sclient, intent_event("succeeded", intent_id))).status_code == 200
    assert [c for c in stand_in[1].calls if c[0] == "/v1/refunds"] == []  # owed: a job for the worker
    assert await drain_refunds(stripe_app) == 1
    assert await drain_refunds(stripe_app) == 0
    refunds = [c for c in stand_in[1].calls if c[0] == "/v1/refunds"]
    assert len(refunds) == 1
    assert str(refunds[0][2]).startswith("bo_ref_")  # the job's own idempotency key
    assert refunds[0][1]["amount"] == ["2400"]
    assert refunds[0][1]["payment_intent"] == [intent_id]
    alice.headers = auth_headers(stripe_app, alice.user)
    booking = (await sclient.get(f"/api/v1/bookings/{held['reference']}", headers=alice.headers)).json()
    assert booking["status"] == "expired"
    assert booking["refunded"]["amount"] == 2400
    async with transaction(stripe_app.state.sessionmaker, write=False) as session:
        assert [r.reason for r in (await session.scalars(select(Refund))).all()] == ["late_payment"]


async def test_refund_on_cancel_goes_through_stripe(
    stripe_app: FastAPI, sclient: httpx.AsyncClient, stand_in: tuple[str, StandIn]
) -> None:
    st = await make_showtime(stripe_app, rows=1, seats_per_row=4)
    alice = await make_customer(stripe_app)
    held = await hold(sclient, alice, st.showtime_id, st.seat_ids[:1])
    await stripe_pay(sclient, alice, held["reference"], "pm_card_visa")
    cancelled = await sclient.post(f"/api/v1/bookings/{held['reference']}/cancel", headers=alice.headers)
    assert cancelled.json()["status"] == "refunded"
    assert await drain_refunds(stripe_app) == 1
    refunds = [c for c in stand_in[1].calls if c[0] == "/v1/refunds"]
    assert [r[1]["amount"] for r in refunds] == [["1200"]]


@pytest.mark.parametrize("tamper", ["wrong_secret", "no_header", "altered_body", "old_timestamp"])
async def test_unsigned_or_tampered_webhooks_are_refused(
    stripe_app: FastAPI, sclient: httpx.AsyncClient, tamper: str
) -> None:
    event = intent_event("succeeded", "pi_unknown")
    body, headers = signed(event, "whsec_wrong" if tamper == "wrong_secret" else WEBHOOK_SECRET)
    if tamper == "no_header":
        headers.pop("Stripe-Signature")
    if tamper == "altered_body":
        body = body.replace(b"succeeded", b"canceled")
    if tamper == "old_timestamp":
        ts = int(time.time()) - 3600
        sig = hmac.new(WEBHOOK_SECRET.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
        headers["Stripe-Signature"] = f"t={ts},v1={sig}"
    response = await sclient.post("/api/v1/payments/webhooks/stripe", content=body, headers=headers)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_signature")


def _provider(base: str) -> StripeProvider:
    return StripeProvider(Settings(stripe_secret_key="sk_test_" + secrets.token_hex(8), stripe_api_base=base))


async def _charge(
    provider: StripeProvider, key: str, method: str = "pm_card_visa", amount: int = 1200
) -> ChargeResult:
    return await provider.charge(
        amount=amount,
        currency="EUR",
        details=PaymentDetails(payment_method=method),
        idempotency_key=key,
        description="2 seats",
        metadata={"payment_id": "7", "attempt": key, "bookings": "BK1", "user_id": "3"},
    )


async def test_a_replayed_key_answers_the_first_charge_and_other_parameters_are_refused(
    stand_in: tuple[str, StandIn],
) -> None:
    provider, state = _provider(stand_in[0]), stand_in[1]
    first = await _charge(provider, "bo_pay_1")
    assert first.status == "succeeded"
    assert await _charge(provider, "bo_pay_1") == first
    declined = await _charge(provider, "bo_pay_2", "pm_card_chargeDeclined")
    assert declined.status == "declined"
    assert declined.provider_ref in state.failed_intents
    assert await _charge(provider, "bo_pay_2", "pm_card_chargeDeclined") == declined
    with pytest.raises(IdempotencyKeyReused):
        await _charge(provider, "bo_pay_1", amount=1300)
    assert state.replayed == 2
    assert len(state.intents) + len(state.failed_intents) == 2
    assert [c[1]["metadata[attempt]"] for c in state.calls] == [["bo_pay_1"]] * 2 + [["bo_pay_2"]] * 2 + [
        ["bo_pay_1"]
    ]


async def test_lookup_finds_the_intent_of_an_attempt(stand_in: tuple[str, StandIn]) -> None:
    provider = _provider(stand_in[0])
    made = {
        "bo_pay_ok": await _charge(provider, "bo_pay_ok"),
        "bo_pay_3ds": await _charge(provider, "bo_pay_3ds", "pm_card_threeDSecure"),
        "bo_pay_no": await _charge(provider, "bo_pay_no", "pm_card_chargeDeclined"),
    }
    for key, charged in made.items():
        found = await provider.lookup(idempotency_key=key, metadata={"attempt": key})
        assert found is not None
        assert (found.status, found.provider_ref) == (charged.status, charged.provider_ref)
    pending = await provider.lookup(idempotency_key="bo_pay_3ds", metadata={})
    assert pending is not None
    assert pending.client_secret == made["bo_pay_3ds"].client_secret
    assert await provider.lookup(idempotency_key="bo_pay_never", metadata={}) is None
    assert await provider.lookup(idempotency_key="it's", metadata={}) is None  # quoted, not a broken query
    searches = [c for c in stand_in[1].calls if c[0] == "/v1/payment_intents/search"]
    assert searches[0][1]["query"] == ["metadata['attempt']:'bo_pay_ok'"]


async def test_lookup_sees_a_pending_intent_that_completed(stand_in: tuple[str, StandIn]) -> None:
    provider = _provider(stand_in[0])
    charged = await _charge(provider, "bo_pay_late", "pm_card_threeDSecure")
    assert charged.status == "pending"
    assert charged.provider_ref is not None
    stand_in[1].intents[charged.provider_ref]["status"] = "succeeded"  # the customer passed 3-D Secure
    found = await provider.lookup(idempotency_key="bo_pay_late", metadata={})
    assert found is not None
    assert found.status == "succeeded"


async def test_lookup_and_charge_without_stripe_raise_provider_error() -> None:
    provider = _provider("http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(ProviderError):
        await provider.lookup(idempotency_key="bo_pay_x", metadata={})
    with pytest.raises(ProviderError) as caught:
        await _charge(provider, "bo_pay_x")
    assert not isinstance(caught.value, IdempotencyKeyReused)


async def test_refunds_replay_by_key_and_never_exceed_the_charge(stand_in: tuple[str, StandIn]) -> None:
    provider, state = _provider(stand_in[0]), stand_in[1]
    charged = await _charge(provider, "bo_pay_r", amount=1000)
    assert charged.provider_ref is not None
    ref = charged.provider_ref
    first = await provider.refund(provider_ref=ref, amount=600, idempotency_key="bo_ref_1")
    assert await provider.refund(provider_ref=ref, amount=600, idempotency_key="bo_ref_1") == first
    with pytest.raises(IdempotencyKeyReused):
        await provider.refund(provider_ref=ref, amount=500, idempotency_key="bo_ref_1")
    with pytest.raises(RefundRefused):
        await provider.refund(provider_ref=ref, amount=500, idempotency_key="bo_ref_2")
    await provider.refund(provider_ref=ref, amount=400, idempotency_key="bo_ref_3")
    with pytest.raises(RefundRefused):
        await provider.refund(provider_ref=ref, amount=1, idempotency_key="bo_ref_4")
    with pytest.raises(RefundRefused):
        await provider.refund(provider_ref="pi_unknown", amount=1, idempotency_key="bo_ref_5")
    assert state.refunded == {ref: 1000}
