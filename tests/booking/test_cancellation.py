"""Cancellations: the refund policy step by step, staff full refunds, showtime cancellation, state machine."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from boxoffice.accounts.models import Role
from boxoffice.audit.models import AuditEntry
from boxoffice.booking.policy import CancellationPolicy
from boxoffice.db import transaction
from boxoffice.notifications.models import OutboxEmail
from boxoffice.payments.models import Refund, RefundStatus
from tests.conftest import FrozenClock
from tests.factories.booking import book_and_pay, drain_refunds, hold, make_customer, simulated_ledger
from tests.factories.showtimes import make_showtime


@pytest.mark.parametrize(
    ("ahead", "allowed", "percent", "refund"),
    [
        (timedelta(days=3), True, 100, 2400),
        (timedelta(hours=24), True, 100, 2400),
        (timedelta(hours=23, minutes=59), True, 75, 1800),
        (timedelta(hours=2), True, 75, 1800),
        (timedelta(hours=1, minutes=59), True, 50, 1200),
        (timedelta(minutes=30), True, 50, 1200),
        (timedelta(minutes=29), False, 0, 0),
    ],
)
async def test_customer_refund_steps_with_the_policy(
    app: FastAPI,
    client: httpx.AsyncClient,
    frozen_clock: FrozenClock,
    ahead: timedelta,
    allowed: bool,
    percent: int,
    refund: int,
) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4, starts_in=timedelta(days=5))
    alice = await make_customer(app)
    booking = await book_and_pay(client, alice, st.showtime_id, st.seat_ids[:2])
    ref = booking["reference"]
    frozen_clock.now = frozen_clock.now + timedelta(days=5) - ahead
    from tests.factories.accounts import auth_headers

    alice.headers = auth_headers(app, alice.user)  # a fresh token at the new "now"
    quote = (await client.get(f"/api/v1/bookings/{ref}/cancel-quote", headers=alice.headers)).json()
    assert (quote["allowed"], quote["percent"], quote["refund"]["amount"]) == (allowed, percent, refund)
    response = await client.post(f"/api/v1/bookings/{ref}/cancel", headers=alice.headers)
    if not allowed:
        assert (response.status_code, response.json()["code"]) == (409, "cancellation_closed")
        return
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "refunded"
    assert body["refunded"]["amount"] == refund
    assert body["tickets"] == []
    again = await hold(client, await make_customer(app), st.showtime_id, st.seat_ids[:2])
    assert again["status"] == "held"


def test_policy_parsing_rejects_nonsense() -> None:
    policy = CancellationPolicy.parse("2h:80, 2d:100")
    assert [s.percent for s in policy.steps] == [100, 80]
    for bad in ("", "24x:100", "24h:101", "24h"):
        with pytest.raises(ValueError):
            CancellationPolicy.parse(bad)


async def test_owner_and_admin_cancel_with_full_refund_even_late(
    app: FastAPI, client: httpx.AsyncClient, frozen_clock: FrozenClock
) -> None:
    owner = await make_customer(app, role=Role.owner)
    admin = await make_customer(app, role=Role.admin)
    st = await make_showtime(
        app, rows=1, seats_per_row=4, owner_id=owner.user.id, starts_in=timedelta(minutes=20)
    )
    alice = await make_customer(app)
    one = await book_and_pay(client, alice, st.showtime_id, st.seat_ids[:1])
    two = await book_and_pay(client, alice, st.showtime_id, st.seat_ids[1:2])
    closed = await client.post(f"/api/v1/bookings/{one['reference']}/cancel", headers=alice.headers)
    assert closed.status_code == 409
    by_owner = await client.post(f"/api/v1/bookings/{one['reference']}/cancel", headers=owner.headers)
    assert by_owner.status_code == 200, by_owner.text
    assert by_owner.json()["refunded"]["amount"] == 1200
    by_admin = await client.post(f"/api/v1/bookings/{two['reference']}/cancel", headers=admin.headers)
    assert by_admin.json()["refunded"]["amount"] == 1200
    async with transaction(app.state.sessionmaker, write=False) as session:
        entries = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "booking.refunded"))
        ).all()
        assert sorted(e.actor_id for e in entries) == sorted([owner.user.id, admin.user.id])
        emails = (
            await session.scalars(select(OutboxEmail).where(OutboxEmail.subject.like("%cancelled%")))
        ).all()
        assert len(emails) == 2


async def test_other_owner_and_stranger_cannot_cancel(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await make_customer(app, role=Role.owner)
    other_owner = await make_customer(app, role=Role.owner)
    st = await make_showtime(app, rows=1, seats_per_row=4, owner_id=owner.user.id)
    alice, mallory = await make_customer(app), await make_customer(app)
    booking = await book_and_pay(client, alice, st.showtime_id, st.seat_ids[:1])
    for who in (other_owner, mallory):
        response = await client.post(f"/api/v1/bookings/{booking['reference']}/cancel", headers=who.headers)
        assert (response.status_code, response.json()["code"]) == (404, "booking_not_found")


async def test_state_machine_refuses_illegal_steps(app: FastAPI, client: httpx.AsyncClient) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    alice = await make_customer(app)
    held = await hold(client, alice, st.showtime_id, st.seat_ids[:1])
    cancelled = await client.post(f"/api/v1/bookings/{held['reference']}/cancel", headers=alice.headers)
    assert cancelled.json()["status"] == "cancelled"
    twice = await client.post(f"/api/v1/bookings/{held['reference']}/cancel", headers=alice.headers)
    assert (twice.status_code, twice.json()["code"]) == (409, "booking_cancelled")
    pay = await client.post(
        f"/api/v1/bookings/{held['reference']}/pay",
        json={"card_number": "4242424242424242"},
        headers=alice.headers,
    )
    assert (pay.status_code, pay.json()["code"]) == (409, "booking_cancelled")
    change = await client.patch(
        f"/api/v1/bookings/{held['reference']}", json={"seat_ids": st.seat_ids[2:3]}, headers=alice.headers
    )
    assert (change.status_code, change.json()["code"]) == (409, "booking_cancelled")
    paid = await book_and_pay(client, alice, st.showtime_id, st.seat_ids[1:2])
    await client.post(f"/api/v1/bookings/{paid['reference']}/cancel", headers=alice.headers)
    again = await client.post(f"/api/v1/bookings/{paid['reference']}/cancel", headers=alice.headers)
    assert (again.status_code, again.json()["code"]) == (409, "booking_cancelled")
    async with transaction(app.state.sessionmaker, write=False) as session:
        actions = (
            await session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.subject_id == paid["reference"])
                .order_by(AuditEntry.id)
            )
        ).all()
        assert actions == [
            "booking.held",
            "booking.secured",
            "booking.payment_succeeded",
            "booking.confirmed",
            "booking.refunded",
        ]


async def test_cancelling_a_showtime_refunds_and_emails_every_buyer(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await make_customer(app, role=Role.owner)
    st = await make_showtime(app, rows=1, seats_per_row=6, owner_id=owner.user.id)
    buyers = [await make_customer(app) for _ in range(3)]
    for i, buyer in enumerate(buyers[:2]):
        await book_and_pay(client, buyer, st.showtime_id, st.seat_ids[2 * i : 2 * i + 2])
    await hold(client, buyers[2], st.showtime_id, st.seat_ids[4:5])
    stranger = await make_customer(app, role=Role.owner)
    hidden = await client.post(f"/api/v1/showtimes/{st.showtime_id}/cancel", headers=stranger.headers)
    assert hidden.status_code == 404
    customer = await client.post(f"/api/v1/showtimes/{st.showtime_id}/cancel", headers=buyers[0].headers)
    assert customer.status_code == 403
    done = await client.post(f"/api/v1/showtimes/{st.showtime_id}/cancel", headers=owner.headers)
    assert done.status_code == 200, done.text
    assert done.json() == {
        "showtime_id": st.showtime_id,
        "bookings_cancelled": 1,
        "bookings_refunded": 2,
        "refunded_total": 4800,
    }
    async with transaction(app.state.sessionmaker, write=False) as session:
        refunds = (await session.scalars(select(Refund))).all()
        assert sorted(r.amount for r in refunds) == [2400, 2400]
        assert {r.status for r in refunds} == {RefundStatus.pending}  # owed, sent by the worker
        to = (
            await session.scalars(
                select(OutboxEmail.to_address).where(OutboxEmail.subject.like("%cancelled%"))
            )
        ).all()
        assert sorted(to) == sorted(b.user.email for b in buyers[:2])
    assert await drain_refunds(app) == 2
    assert await drain_refunds(app) == 0  # sent once
    async with transaction(app.state.sessionmaker, write=False) as session:
        sent = (await session.scalars(select(Refund))).all()
        assert {r.status for r in sent} == {RefundStatus.succeeded}
        refs = {r.provider_ref for r in sent}
    ledger_refunds = simulated_ledger(app).refunded_by_ref()
    assert sum(ledger_refunds.values()) >= 4800
    assert all(refs)
    twice = await client.post(f"/api/v1/showtimes/{st.showtime_id}/cancel", headers=owner.headers)
    assert twice.status_code == 409
