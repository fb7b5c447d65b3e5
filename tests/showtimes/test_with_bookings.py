"""The catalogue with the booking engine: real holds and payments through the API, then the deletion rules."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.factories.booking import book_and_pay, hold, make_customer
from tests.factories.catalog import API, make_staff, make_venue


async def test_paid_booking_blocks_deletion_and_shows_on_the_seat_map(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    staff = await make_staff(app)
    venue = await make_venue(client, staff)
    sid = venue.showtime["id"]
    buyer = await make_customer(app)
    seats = [s["id"] for s in venue.screen["seats"][:2]]
    await book_and_pay(client, buyer, sid, seats)
    seat_map = (await client.get(f"{API}/showtimes/{sid}/seats", headers=buyer.headers)).json()
    assert seat_map["counts"]["sold"] == 2
    assert [s["mine"] for s in seat_map["seats"] if s["seat_id"] in seats] == [True, True]
    for url in (
        f"{API}/showtimes/{sid}",
        f"{API}/movies/{venue.movie['id']}",
        f"{API}/screens/{venue.screen['id']}",
        f"{API}/cinemas/{venue.cinema['id']}",
    ):
        answer = await client.delete(url, headers=staff.owner_a)
        assert (answer.status_code, answer.json()["code"]) == (409, "has_bookings"), url


async def test_a_cancelled_booking_still_keeps_its_showtime(app: FastAPI, client: httpx.AsyncClient) -> None:
    staff = await make_staff(app)
    venue = await make_venue(client, staff)
    sid = venue.showtime["id"]
    buyer = await make_customer(app)
    booking = await hold(client, buyer, sid, [venue.screen["seats"][0]["id"]])
    held_map = (await client.get(f"{API}/showtimes/{sid}/seats", headers=buyer.headers)).json()
    assert held_map["counts"]["held"] == 1
    cancelled = await client.post(f"{API}/bookings/{booking['reference']}/cancel", headers=buyer.headers)
    assert cancelled.status_code == 200, cancelled.text
    # no sold or held seat is left, but the booking record points at the showtime: 409, not a 500
    answer = await client.delete(f"{API}/showtimes/{sid}", headers=staff.owner_a)
    assert (answer.status_code, answer.json()["code"]) == (409, "has_bookings")
    assert (await client.get(f"{API}/showtimes/{sid}")).status_code == 200
