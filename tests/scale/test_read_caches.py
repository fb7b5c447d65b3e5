"""The read caches of the hot paths never hide a change from the process that made it (both backends).

The anonymous seat map (`showtimes/seatmap_cache.py`) and the showtime listing
(`showtimes/listing_cache.py`) are served from memory; these tests read them, change seats through the
API, and read again within the same second: the change must show at once. The cross-process case (a
hold on node A drops node B's cached map) is in test_two_nodes.py.
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.conftest import FrozenClock
from tests.factories.accounts import auth_headers, make_user
from tests.factories.showtimes import make_showtime

API = "/api/v1"


async def test_anonymous_seat_map_shows_a_hold_at_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    """Read (cached), hold two seats, read again: the two seats are held, the ETag changed."""
    show = await make_showtime(app, rows=3, seats_per_row=4)
    buyer = await make_user(app)
    url = f"{API}/showtimes/{show.showtime_id}/seats"
    first = await client.get(url)
    again = await client.get(url)  # served from the cache
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert first.headers["etag"] == again.headers["etag"]
    assert first.json()["counts"]["available"] == 12

    held = await client.post(
        f"{API}/bookings",
        json={"showtime_id": show.showtime_id, "seat_ids": show.seat_ids[:2]},
        headers=auth_headers(app, buyer),
    )
    assert held.status_code == 201, held.text

    after = await client.get(url)
    assert after.json()["counts"]["held"] == 2
    assert after.headers["etag"] != first.headers["etag"]
    statuses = {s["seat_id"]: s["status"] for s in after.json()["seats"]}
    assert [statuses[s] for s in show.seat_ids[:3]] == ["held", "held", "available"]
    # A conditional request with the old ETag gets the new map, with the current one a 304.
    assert (await client.get(url, headers={"If-None-Match": first.headers["etag"]})).status_code == 200
    assert (await client.get(url, headers={"If-None-Match": after.headers["etag"]})).status_code == 304


async def test_cached_seat_map_ends_when_a_hold_expires(
    app: FastAPI, client: httpx.AsyncClient, frozen_clock: FrozenClock
) -> None:
    """A hold that expires frees its seat with no write at all: the cached map must not outlive it."""
    show = await make_showtime(app, rows=1, seats_per_row=4)
    buyer = await make_user(app)
    held = await client.post(
        f"{API}/bookings",
        json={"showtime_id": show.showtime_id, "seat_ids": [show.seat_ids[0]]},
        headers=auth_headers(app, buyer),
    )
    assert held.status_code == 201, held.text
    url = f"{API}/showtimes/{show.showtime_id}/seats"
    assert (await client.get(url)).json()["counts"]["held"] == 1
    frozen_clock.advance(minutes=60)
    assert (await client.get(url)).json()["counts"]["held"] == 0


async def test_listing_shows_seats_taken_and_new_showtimes_at_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The listing's seats-for-sale count drops right after a hold made through this process."""
    show = await make_showtime(app, rows=2, seats_per_row=5)
    buyer = await make_user(app)
    url = f"{API}/showtimes?cinema_id={show.cinema_id}"

    def available(page: httpx.Response) -> int:
        item = next(i for i in page.json()["items"] if i["id"] == show.showtime_id)
        return int(item["seats_available"])

    before = await client.get(url)
    assert before.status_code == 200
    assert available(before) == 10
    assert (await client.get(url)).json() == before.json()  # cached, identical

    held = await client.post(
        f"{API}/bookings",
        json={"showtime_id": show.showtime_id, "seat_ids": show.seat_ids[:3]},
        headers=auth_headers(app, buyer),
    )
    assert held.status_code == 201, held.text
    assert available(await client.get(url)) == 7
