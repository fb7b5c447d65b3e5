"""Seat changes: claim new before releasing old, all or nothing; price differences; tickets replaced."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from boxoffice.db import transaction
from boxoffice.showtimes.models import ShowtimeSeat
from tests.factories.booking import book_and_pay, hold, make_customer
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
    assert [p["amount"]["amount"] for p in body["payments"]] == [2400, 400]
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
