"""Payments when the provider misbehaves: the attempt is committed before the call, so every outcome ends
in exactly one of: confirmed and charged once, or not confirmed and not charged (or refunded).

Faults are armed in the simulated provider's ledger (as a test in another process would); "charged" is
read from that ledger, which plays the provider's own books.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from boxoffice.booking import payflow
from boxoffice.booking.deps import context_for_app
from boxoffice.db import transaction
from boxoffice.payments.models import Payment, PaymentStatus, Refund, RefundStatus
from boxoffice.payments.providers import RefundRefused
from boxoffice.payments.refunds import backoff
from boxoffice.payments.simulated import deliver
from tests.conftest import FrozenClock
from tests.factories.accounts import auth_headers
from tests.factories.booking import charged_for, drain_refunds, hold, make_customer, simulated_ledger
from tests.factories.showtimes import make_showtime

CARD = {"method": "card", "card_number": "4242424242424242"}


async def _payments(app: FastAPI) -> list[Payment]:
    async with transaction(app.state.sessionmaker, write=False) as session:
        return list((await session.scalars(select(Payment).order_by(Payment.id))).all())


async def test_charge_that_fails_after_charging_is_found_and_confirmed(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    alice = await make_customer(app)
    held = await hold(client, alice, st.showtime_id, st.seat_ids[:1])
    simulated_ledger(app).arm("fail_after_charge")
    paid = await client.post(f"/api/v1/bookings/{held['reference']}/pay", json=CARD, headers=alice.headers)
    assert paid.status_code == 200, paid.text  # the look-up after the error found the charge
    assert paid.json()["status"] == "confirmed"
    assert [c["status"] for c in charged_for(app, held["reference"])] == ["succeeded"]
    [attempt] = await _payments(app)
    assert attempt.status == PaymentStatus.succeeded


async def test_a_charge_that_never_reached_the_provider_can_be_retried(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    alice = await make_customer(app)
    held = await hold(client, alice, st.showtime_id, st.seat_ids[:1])
    simulated_ledger(app).arm("timeout")
    url = f"/api/v1/bookings/{held['reference']}/pay"
    headers = {**alice.headers, "Idempotency-Key": "retry-me"}
    failed = await client.post(url, json=CARD, headers=headers)
    assert (failed.status_code, failed.json()["code"]) == (503, "payment_provider_unavailable")
    assert charged_for(app, held["reference"]) == []
    [attempt] = await _payments(app)
    assert (attempt.status, attempt.failure_message) == (PaymentStatus.declined, payflow.NOT_REACHED)
    retry = await client.post(url, json=CARD, headers=headers)  # same key: runs afresh, nothing was done
    assert retry.status_code == 200, retry.text
    assert [c["status"] for c in charged_for(app, held["reference"])] == ["succeeded"]
    assert [p.status for p in await _payments(app)] == [PaymentStatus.declined, PaymentStatus.succeeded]


async def test_unknown_outcome_stays_pending_until_reconciled(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Charged, then the provider cannot even be asked: the attempt stays pending (seats secured), a
    second payment is refused, and the sweep confirms it once the provider answers again."""
    st = await make_showtime(app, rows=1, seats_per_row=4)
    alice = await make_customer(app)
    held = await hold(client, alice, st.showtime_id, st.seat_ids[:1])
    ledger = simulated_ledger(app)
    ledger.arm("fail_after_charge")
    ledger.arm("lookup_unavailable")
    url = f"/api/v1/bookings/{held['reference']}/pay"
    unknown = await client.post(url, json=CARD, headers=alice.headers)
    assert (unknown.status_code, unknown.json()["code"]) == (503, "payment_provider_unavailable")
    again = await client.post(url, json=CARD, headers=alice.headers)
    assert (again.status_code, again.json()["code"]) == (409, "payment_pending")
    ctx = context_for_app(app)
    assert await payflow.reconcile(app.state.sessionmaker, ctx=ctx, older_than=timedelta(hours=1)) == {}
    assert await payflow.reconcile(app.state.sessionmaker, ctx=ctx, older_than=timedelta(0)) == {
        "succeeded": 1
    }
    booking = (await client.get(f"/api/v1/bookings/{held['reference']}", headers=alice.headers)).json()
    assert booking["status"] == "confirmed"
    assert [c["status"] for c in charged_for(app, held["reference"])] == ["succeeded"]


async def test_an_attempt_that_never_reached_the_provider_is_declined_by_the_sweep(
    app: FastAPI, client: httpx.AsyncClient, frozen_clock: FrozenClock
) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    alice = await make_customer(app)
    held = await hold(client, alice, st.showtime_id, st.seat_ids[:1])
    ledger = simulated_ledger(app)
    ledger.arm("timeout")
    ledger.arm("lookup_unavailable")
    pay = await client.post(f"/api/v1/bookings/{held['reference']}/pay", json=CARD, headers=alice.headers)
    assert pay.status_code == 503
    frozen_clock.advance(minutes=2)
    ctx = context_for_app(app)
    assert await payflow.reconcile(app.state.sessionmaker, ctx=ctx, older_than=timedelta(minutes=1)) == {
        "declined": 1
    }
    headers = auth_headers(app, alice.user)
    paid = await client.post(f"/api/v1/bookings/{held['reference']}/pay", json=CARD, headers=headers)
    assert paid.status_code == 200, paid.text  # the hold's grace was used, but its seats are still free
    assert [c["status"] for c in charged_for(app, held["reference"])] == ["succeeded"]


async def test_refunds_are_retried_with_backoff_and_sent_once(
    app: FastAPI, client: httpx.AsyncClient, frozen_clock: FrozenClock
) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    alice = await make_customer(app)
    held = await hold(client, alice, st.showtime_id, st.seat_ids[:1])
    assert (
        await client.post(f"/api/v1/bookings/{held['reference']}/pay", json=CARD, headers=alice.headers)
    ).status_code == 200
    cancelled = await client.post(f"/api/v1/bookings/{held['reference']}/cancel", headers=alice.headers)
    assert cancelled.json()["status"] == "refunded"
    ledger = simulated_ledger(app)
    ledger.arm("refund_unavailable", times=2)
    url = f"/api/v1/bookings/{held['reference']}"
    owed = (await client.get(url, headers=alice.headers)).json()["refunds"]
    assert [(r["amount"]["amount"], r["status"], r["reason"]) for r in owed] == [
        (1200, "pending", "customer_cancelled")
    ]
    assert await drain_refunds(app) == 0
    frozen_clock.advance(seconds=backoff(1).total_seconds() - 1)
    assert await drain_refunds(app) == 0  # not due yet: no call made
    assert len(ledger.armed()) == 1
    frozen_clock.advance(seconds=2)
    assert await drain_refunds(app) == 0  # the second failure
    frozen_clock.advance(seconds=backoff(2).total_seconds() + 1)
    assert await drain_refunds(app) == 1
    frozen_clock.advance(hours=2)
    assert await drain_refunds(app) == 0
    async with transaction(app.state.sessionmaker, write=False) as session:
        [refund] = (await session.scalars(select(Refund))).all()
    assert (refund.status, refund.attempts, refund.amount) == (RefundStatus.succeeded, 3, 1200)
    [charge] = charged_for(app, held["reference"])
    assert ledger.refunded_by_ref()[charge["ref"]] == 1200
    headers = auth_headers(app, alice.user)
    [given] = (await client.get(url, headers=headers)).json()["refunds"]
    assert given["status"] == "succeeded"
    assert given["completed_at"] is not None


async def test_an_abandoned_3ds_attempt_does_not_lock_the_booking(
    app: FastAPI, client: httpx.AsyncClient, frozen_clock: FrozenClock
) -> None:
    """The customer walks away from 3-D Secure: a second payment is refused while the first may still
    complete, then allowed; if the first completes after all, that money goes back."""
    st = await make_showtime(app, rows=1, seats_per_row=4)
    alice = await make_customer(app)
    held = await hold(client, alice, st.showtime_id, st.seat_ids[:1])
    url = f"/api/v1/bookings/{held['reference']}/pay"
    three_ds = {"method": "card", "card_number": "4000002500003155"}
    assert (await client.post(url, json=three_ds, headers=alice.headers)).status_code == 202
    soon = await client.post(url, json=CARD, headers=alice.headers)
    assert (soon.status_code, soon.json()["code"]) == (409, "payment_pending")
    frozen_clock.advance(seconds=app.state.settings.payment_reconcile_seconds + 1)
    headers = auth_headers(app, alice.user)
    paid = await client.post(url, json=CARD, headers=headers)
    assert paid.status_code == 200, paid.text
    first = (await _payments(app))[0]
    assert first.provider_ref is not None
    provider = context_for_app(app).provider
    await provider.complete_pending(first.provider_ref, True)  # type: ignore[attr-defined]
    [event] = [
        e
        for e in simulated_ledger(app).events("payment_intent.succeeded")
        if e["data"]["id"] == first.provider_ref
    ]
    assert await deliver(app, event)
    assert await drain_refunds(app) == 1
    booking = (await client.get(f"/api/v1/bookings/{held['reference']}", headers=headers)).json()
    assert booking["status"] == "confirmed"
    assert [(r["amount"]["amount"], r["reason"]) for r in booking["refunds"]] == [(1200, "late_payment")]
    charged = [c for c in charged_for(app, held["reference"]) if c["status"] == "succeeded"]
    assert len(charged) == 2
    assert simulated_ledger(app).refunded_by_ref()[first.provider_ref] == 1200


async def test_a_refund_the_provider_refuses_for_good_fails_at_once(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    alice = await make_customer(app)
    held = await hold(client, alice, st.showtime_id, st.seat_ids[:1])
    assert (
        await client.post(f"/api/v1/bookings/{held['reference']}/pay", json=CARD, headers=alice.headers)
    ).status_code == 200
    assert (
        await client.post(f"/api/v1/bookings/{held['reference']}/cancel", headers=alice.headers)
    ).status_code == 200
    provider = context_for_app(app).provider

    async def refused(**_: object) -> None:
        raise RefundRefused("charge_already_refunded")

    monkeypatch.setattr(provider, "refund", refused)
    assert await drain_refunds(app) == 0
    async with transaction(app.state.sessionmaker, write=False) as session:
        [refund] = (await session.scalars(select(Refund))).all()
    assert (refund.status, refund.attempts) == (RefundStatus.failed, 1)
    assert "charge_already_refunded" in (refund.last_error or "")


async def test_a_provider_client_that_crashes_is_a_503_not_a_500(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the provider's client raises, the attempt is resolved by asking the provider (here: it
    never saw it), never left as a 500 with the customer not knowing whether they paid."""
    st = await make_showtime(app, rows=1, seats_per_row=4)
    alice = await make_customer(app)
    held = await hold(client, alice, st.showtime_id, st.seat_ids[:1])
    provider = context_for_app(app).provider

    async def crashing(**_: object) -> None:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(provider, "charge", crashing)
    answer = await client.post(f"/api/v1/bookings/{held['reference']}/pay", json=CARD, headers=alice.headers)
    assert (answer.status_code, answer.json()["code"]) == (503, "payment_provider_unavailable")
    [attempt] = await _payments(app)
    assert (attempt.status, attempt.failure_message) == (PaymentStatus.declined, payflow.NOT_REACHED)
