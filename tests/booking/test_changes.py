"""Seat changes: claim new before releasing old, all or nothing; price differences; tickets replaced."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from boxoffice.accounts.models import Role
from boxoffice.db import transaction
from boxoffice.notifications.models import OutboxEmail
from boxoffice.payments.models import Payment, Refund, RefundStatus
from boxoffice.showtimes.models import ShowtimeSeat
from tests.factories.booking import (
    DECLINED_CARD,
    book_and_pay,
    charged_for,
    drain_refunds,
    hold,
    make_customer,
    simulated_ledger,
)
from tests.factories.showtimes import make_showtime


async def test_change_of_held_seats_is_all_or_nothing(app: FastAPI, client: httpx.AsyncClient) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=6)
    alice, bob = await make_customer(app), await make_customer(app)
    mine = await hold(client, alice, st.showtime_id, st.seat_ids[:2])
    await hold(client, bob, st.showtime_id, st.seat_ids[3:4])
    refused = await client.patch(
        f"/api/v1/bookings/{mine['reference']}", json={"seat_ids": st.seat_ids[2:4]}, headers=alice.headers
    )
    assert (refused.status_code, refused.json()["code"], refused.json()["seats"]) == (
        409,
        "seats_unavailable",
        [st.seat_ids[3]],
    )
    unchanged = (await client.get(f"/api/v1/bookings/{mine['reference']}", headers=alice.headers)).json()
    assert [s["seat_id"] for s in unchanged["seats"]] == st.seat_ids[:2]
    await hold(client, bob, st.showtime_id, st.seat_ids[2:3])  # seat 3 was not kept by the failed change
    moved = await client.patch(
        f"/api/v1/bookings/{mine['reference']}",
        json={"seat_ids": [st.seat_ids[1], st.seat_ids[4]]},
        headers=alice.headers,
    )
    assert moved.status_code == 200, moved.text
    assert sorted(s["seat_id"] for s in moved.json()["seats"]) == [st.seat_ids[1], st.seat_ids[4]]
    await hold(client, bob, st.showtime_id, st.seat_ids[:1])  # the released seat is free at once
    foreign = await client.patch(
        f"/api/v1/bookings/{mine['reference']}", json={"seat_ids": [999999]}, headers=alice.headers
    )
    assert (foreign.status_code, foreign.json()["code"]) == (422, "unknown_seats")
    stranger = await client.patch(
        f"/api/v1/bookings/{mine['reference']}", json={"seat_ids": st.seat_ids[5:6]}, headers=bob.headers
    )
    assert stranger.status_code == 404


async def test_confirmed_change_charges_difference_and_replaces_tickets(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=6)
    async with transaction(app.state.sessionmaker) as session:  # make seat 6 a premium-priced seat
        await session.execute(
            update(ShowtimeSeat).where(ShowtimeSeat.seat_id == st.seat_ids[5]).values(price=1600)
        )
    alice = await make_customer(app)
    booking = await book_and_pay(client, alice, st.showtime_id, st.seat_ids[:2])
    old_codes = [t["code"] for t in booking["tickets"]]
    ref = booking["reference"]
    no_card = await client.patch(
        f"/api/v1/bookings/{ref}", json={"seat_ids": [st.seat_ids[0], st.seat_ids[5]]}, headers=alice.headers
    )
    assert (no_card.status_code, no_card.json()["code"]) == (422, "payment_details_required")
    declined = await client.patch(
        f"/api/v1/bookings/{ref}",
        json={"seat_ids": [st.seat_ids[0], st.seat_ids[5]], "card_number": "4000000000000002"},
        headers=alice.headers,
    )
    assert (declined.status_code, declined.json()["code"]) == (402, "payment_declined")
    up = await client.patch(
        f"/api/v1/bookings/{ref}",
        json={"seat_ids": [st.seat_ids[0], st.seat_ids[5]], "card_number": "4242424242424242"},
        headers=alice.headers,
    )
    assert up.status_code == 200, up.text
    body = up.json()
    assert body["total"]["amount"] == 2800
    # The declined attempt stays on record; the difference was charged once, by an attempt of its own.
    assert [(p["amount"]["amount"], p["status"]) for p in body["payments"]] == [
        (2400, "succeeded"),
        (400, "declined"),
        (400, "succeeded"),
    ]
    new_codes = [t["code"] for t in body["tickets"]]
    assert len(new_codes) == 2
    assert not set(new_codes) & set(old_codes)
    owner_check = await client.post("/api/v1/checkin", json={"code": old_codes[0]}, headers=alice.headers)
    assert owner_check.status_code == 403  # customers cannot check in; old-code refusal is tested in tickets
    down = await client.patch(
        f"/api/v1/bookings/{ref}", json={"seat_ids": [st.seat_ids[0]]}, headers=alice.headers
    )
    assert down.status_code == 200
    assert down.json()["total"]["amount"] == 1200
    assert down.json()["refunded"]["amount"] == 1600
    assert len(down.json()["tickets"]) == 1


async def _premium(app: FastAPI, seat_id: int) -> None:
    async with transaction(app.state.sessionmaker) as session:
        await session.execute(update(ShowtimeSeat).where(ShowtimeSeat.seat_id == seat_id).values(price=1600))


async def test_back_and_forth_charges_and_refunds_each_difference_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A -> B -> A -> B -> A: each move to the dearer seat is an attempt of its own (a new provider key,
    never a replay of the first), each move back refunds the difference once."""
    st = await make_showtime(app, rows=1, seats_per_row=4)
    a, b = st.seat_ids[0], st.seat_ids[3]
    await _premium(app, b)
    alice = await make_customer(app)
    booking = await book_and_pay(client, alice, st.showtime_id, [a])
    ref = booking["reference"]
    for target in (b, a, b, a):
        moved = await client.patch(
            f"/api/v1/bookings/{ref}",
            json={"seat_ids": [target], "card_number": "4242424242424242"},
            headers=alice.headers,
        )
        assert moved.status_code == 200, moved.text
        assert [s["seat_id"] for s in moved.json()["seats"]] == [target]
    body = moved.json()
    assert body["total"]["amount"] == 1200
    assert body["refunded"]["amount"] == 800
    assert [(p["amount"]["amount"], p["status"]) for p in body["payments"]] == [
        (1200, "succeeded"),
        (400, "refunded"),  # refunds take from the newest charges first
        (400, "refunded"),
    ]
    assert await drain_refunds(app) == 2
    async with transaction(app.state.sessionmaker, write=False) as session:
        keys = (await session.scalars(select(Payment.idempotency_key))).all()
        refunds = (await session.scalars(select(Refund).order_by(Refund.id))).all()
    assert len(set(keys)) == 3
    assert [(r.amount, r.reason, r.status) for r in refunds] == [
        (400, "seat_change", RefundStatus.succeeded)
    ] * 2
    charges = [c for c in charged_for(app, ref) if c["status"] == "succeeded"]
    assert sorted(c["amount"] for c in charges) == [400, 400, 1200]
    refunded = simulated_ledger(app).refunded_by_ref()
    assert sum(refunded.get(c["ref"], 0) for c in charges) == 800  # paid 2000, back 800: the seat's 1200


async def test_dropping_a_seat_in_the_no_refund_window_refunds_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4, starts_in=timedelta(minutes=20))
    alice = await make_customer(app)
    booking = await book_and_pay(client, alice, st.showtime_id, st.seat_ids[:2])
    ref = booking["reference"]
    cancel = await client.post(f"/api/v1/bookings/{ref}/cancel", headers=alice.headers)
    assert (cancel.status_code, cancel.json()["code"]) == (409, "cancellation_closed")
    dropped = await client.patch(
        f"/api/v1/bookings/{ref}", json={"seat_ids": st.seat_ids[:1]}, headers=alice.headers
    )
    assert dropped.status_code == 200, dropped.text
    assert (dropped.json()["total"]["amount"], dropped.json()["refunded"]["amount"]) == (1200, 0)
    async with transaction(app.state.sessionmaker, write=False) as session:
        assert (await session.scalars(select(Refund))).all() == []


async def test_new_tickets_are_emailed_old_codes_refused_new_ones_admit(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await make_customer(app, role=Role.owner)
    st = await make_showtime(
        app, rows=1, seats_per_row=4, owner_id=owner.user.id, starts_in=timedelta(minutes=45)
    )
    alice = await make_customer(app)
    booking = await book_and_pay(client, alice, st.showtime_id, st.seat_ids[:2])
    ref = booking["reference"]
    old = [t["code"] for t in booking["tickets"]]
    moved = await client.patch(
        f"/api/v1/bookings/{ref}", json={"seat_ids": [st.seat_ids[0], st.seat_ids[2]]}, headers=alice.headers
    )
    assert moved.status_code == 200, moved.text
    new = [t["code"] for t in moved.json()["tickets"]]
    assert len(new) == 2
    assert not set(new) & set(old)
    async with transaction(app.state.sessionmaker, write=False) as session:
        emails = (
            await session.scalars(select(OutboxEmail).where(OutboxEmail.to_address == alice.user.email))
        ).all()
    change = [e for e in emails if e.subject.startswith("New seats for")]
    assert len(change) == 1
    assert change[0].attachments == [{"render": "booking_tickets", "args": {"booking_id": booking_id(moved)}}]
    assert "Before: A1, A2" in change[0].text_body
    assert "Now: A1, A3" in change[0].text_body
    for code in old:
        refused = await client.post("/api/v1/checkin", json={"code": code}, headers=owner.headers)
        assert (refused.status_code, refused.json()["code"]) == (404, "invalid_ticket")
    for code in new:
        admitted = await client.post("/api/v1/checkin", json={"code": code}, headers=owner.headers)
        assert admitted.status_code == 200, admitted.text


def booking_id(answer: httpx.Response) -> int:
    """The booking's id, read from its tickets (the API shows references, the outbox ids)."""
    from boxoffice.booking.tickets import verify_ticket
    from tests.conftest import TEST_SECRET

    claims = verify_ticket(TEST_SECRET, answer.json()["tickets"][0]["code"])
    assert claims is not None
    return claims.booking_id


async def test_admitted_seats_cannot_be_changed(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await make_customer(app, role=Role.owner)
    st = await make_showtime(
        app, rows=1, seats_per_row=4, owner_id=owner.user.id, starts_in=timedelta(minutes=45)
    )
    alice = await make_customer(app)
    booking = await book_and_pay(client, alice, st.showtime_id, st.seat_ids[:2])
    ref = booking["reference"]
    first = booking["tickets"][0]
    assert (
        await client.post("/api/v1/checkin", json={"code": first["code"]}, headers=owner.headers)
    ).status_code == 200
    away = await client.patch(
        f"/api/v1/bookings/{ref}", json={"seat_ids": st.seat_ids[2:4]}, headers=alice.headers
    )
    assert (away.status_code, away.json()["code"], away.json()["seats"]) == (
        409,
        "already_admitted",
        [first["seat_id"]],
    )
    keep = await client.patch(
        f"/api/v1/bookings/{ref}",
        json={"seat_ids": [first["seat_id"], st.seat_ids[3]]},
        headers=alice.headers,
    )
    assert keep.status_code == 200, keep.text
    tickets = {t["seat_id"]: t for t in keep.json()["tickets"]}
    assert tickets[first["seat_id"]]["status"] == "used"  # the admitted seat keeps its used ticket
    assert tickets[st.seat_ids[3]]["status"] == "valid"


async def test_a_declined_difference_lets_the_new_seats_go(app: FastAPI, client: httpx.AsyncClient) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    await _premium(app, st.seat_ids[3])
    alice, bob = await make_customer(app), await make_customer(app)
    booking = await book_and_pay(client, alice, st.showtime_id, st.seat_ids[:1])
    declined = await client.patch(
        f"/api/v1/bookings/{booking['reference']}",
        json={"seat_ids": [st.seat_ids[3]], "card_number": DECLINED_CARD},
        headers=alice.headers,
    )
    assert (declined.status_code, declined.json()["code"]) == (402, "payment_declined")
    await hold(client, bob, st.showtime_id, st.seat_ids[3:4])  # free again at once
    mine = (await client.get(f"/api/v1/bookings/{booking['reference']}", headers=alice.headers)).json()
    assert [s["seat_id"] for s in mine["seats"]] == st.seat_ids[:1]
    assert [t["status"] for t in mine["tickets"]] == ["valid"]
