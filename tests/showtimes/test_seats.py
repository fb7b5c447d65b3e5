"""Seat map (statuses, counts, `mine`, ETag/304), best available over HTTP, and the booking hooks."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, update

from boxoffice.accounts.models import User
from boxoffice.db import transaction
from boxoffice.errors import NotFound
from boxoffice.kit.clock import utc_now
from boxoffice.showtimes import service
from boxoffice.showtimes.models import SeatStatus, ShowtimeSeat, ShowtimeStatus
from tests.conftest import FrozenClock
from tests.factories.catalog import (
    API,
    api_cinema,
    api_movie,
    api_screen,
    api_showtime,
    make_staff,
    make_venue,
)


async def _set(app: FastAPI, showtime_id: int, seat_ids: list[int], **values: object) -> None:
    """Change seats behind the booking engine's back, then publish the seat event it would publish
    (which also drops the anonymous seat-map cache)."""
    async with transaction(app.state.sessionmaker) as session:
        await session.execute(
            update(ShowtimeSeat)
            .where(ShowtimeSeat.showtime_id == showtime_id, ShowtimeSeat.seat_id.in_(seat_ids))
            .values(version=ShowtimeSeat.version + 1, **values)
        )
    await app.state.events.publish(showtime_id, {"type": "seats", "seat_ids": seat_ids})
    cache = getattr(app.state, "seat_map_cache", None)
    if cache is not None:
        cache.invalidate(showtime_id)


async def test_seat_map_statuses_counts_mine_and_expired_holds(
    app: FastAPI, client: httpx.AsyncClient, frozen_clock: FrozenClock
) -> None:
    staff = await make_staff(app)
    venue = await make_venue(client, staff)
    sid = venue.showtime["id"]
    seat_ids = [s["id"] for s in venue.screen["seats"]]
    await _set(app, sid, seat_ids[0:2], status=SeatStatus.sold, holder_id=staff.customer_id, booking_id=7)
    await _set(
        app,
        sid,
        seat_ids[2:3],
        status=SeatStatus.held,
        holder_id=staff.owner_b_id,
        hold_expires_at=frozen_clock.now + timedelta(minutes=10),
    )
    await _set(app, sid, seat_ids[3:4], status=SeatStatus.blocked)
    mine = await client.get(f"{API}/showtimes/{sid}/seats", headers=staff.customer)
    assert mine.status_code == 200
    body = mine.json()
    total = len(seat_ids)
    assert body["counts"] == {"available": total - 4, "held": 1, "sold": 2, "blocked": 1, "total": total}
    by_id = {s["seat_id"]: s for s in body["seats"]}
    assert [by_id[i]["mine"] for i in seat_ids[:4]] == [True, True, False, False]
    assert by_id[seat_ids[0]]["price"] == {"amount": 1100, "currency": "EUR"}
    anonymous = (await client.get(f"{API}/showtimes/{sid}/seats")).json()
    assert not any(s["mine"] for s in anonymous["seats"])
    # the hold expires: the seat reads as available without any write (a caller with seats gets a map
    # built for them; the public map's cache entry ends at the first hold's expiry)
    frozen_clock.advance(minutes=11)
    later = (await client.get(f"{API}/showtimes/{sid}/seats", headers=staff.customer)).json()
    assert later["counts"]["held"] == 0
    assert later["counts"]["available"] == total - 3


async def test_seat_map_etag_and_304_public_and_personal(
    app: FastAPI, client: httpx.AsyncClient, frozen_clock: FrozenClock
) -> None:
    staff = await make_staff(app)
    venue = await make_venue(client, staff)
    sid = venue.showtime["id"]
    url = f"{API}/showtimes/{sid}/seats"
    me = staff.customer
    anonymous = await client.get(url)
    public_etag = anonymous.headers["etag"]
    assert public_etag.startswith('W/"')
    # Signed in without a seat of this showtime: the public map, byte for byte, and its ETag.
    for caller in (me, staff.owner_b):
        signed_in = await client.get(url, headers=caller)
        assert (signed_in.status_code, signed_in.headers["etag"]) == (200, public_etag)
        assert signed_in.content == anonymous.content
    same = await client.get(url, headers={**me, "If-None-Match": public_etag})
    assert (same.status_code, same.content, same.headers["etag"]) == (304, b"", public_etag)
    assert (await client.get(url, headers={"If-None-Match": public_etag})).status_code == 304

    # The customer holds a seat: a map of their own, marking it `mine`, under an ETag of its own.
    seat = venue.screen["seats"][0]["id"]
    expires = frozen_clock.now + timedelta(minutes=5)
    await _set(app, sid, [seat], status=SeatStatus.held, holder_id=staff.customer_id, hold_expires_at=expires)
    mine = await client.get(url, headers={**me, "If-None-Match": public_etag})
    assert mine.status_code == 200
    personal_etag = mine.headers["etag"]
    assert [s["seat_id"] for s in mine.json()["seats"] if s["mine"]] == [seat]
    # The seat event dropped the cached public map: everyone else sees the seat held, not theirs.
    others = await client.get(url, headers={"If-None-Match": public_etag})
    assert others.status_code == 200
    held_etag = others.headers["etag"]
    assert held_etag not in (public_etag, personal_etag)
    assert not any(s["mine"] for s in others.json()["seats"])
    assert next(s for s in others.json()["seats"] if s["seat_id"] == seat)["status"] == "held"
    other_caller = await client.get(url, headers=staff.owner_b)
    assert (other_caller.headers["etag"], other_caller.content) == (held_etag, others.content)
    # Each ETag revalidates only its own map.
    assert (await client.get(url, headers={**me, "If-None-Match": personal_etag})).status_code == 304
    assert (await client.get(url, headers={**me, "If-None-Match": held_etag})).status_code == 200
    assert (await client.get(url, headers={"If-None-Match": personal_etag})).status_code == 200
    assert (await client.get(url, headers={"If-None-Match": held_etag})).status_code == 304

    # The hold expires (no write): the customer has no seat left and gets the public map again.
    frozen_clock.advance(minutes=6)
    after = await client.get(url, headers={**me, "If-None-Match": personal_etag})
    assert after.status_code == 200
    assert not any(s["mine"] for s in after.json()["seats"])
    assert after.json()["counts"]["held"] == 0
    assert after.headers["etag"] == (await client.get(url)).headers["etag"] != held_etag


async def test_seat_map_of_unknown_showtime(client: httpx.AsyncClient) -> None:
    answer = await client.get(f"{API}/showtimes/999999/seats")
    assert (answer.status_code, answer.json()["code"]) == (404, "showtime_not_found")
    assert (await client.get(f"{API}/showtimes/x/seats")).status_code == 422


async def test_best_available_over_http(app: FastAPI, client: httpx.AsyncClient) -> None:
    staff = await make_staff(app)
    cinema = await api_cinema(client, staff.owner_a)
    layout = ["AAAAAAAAAA"] * 6 + ["WC_AAAAAA_CW"]
    screen = await api_screen(client, staff.owner_a, cinema["id"], layout=layout)
    movie = await api_movie(client, staff.owner_a)
    showtime = await api_showtime(client, staff.owner_a, movie_id=movie["id"], screen_id=screen["id"])
    url = f"{API}/showtimes/{showtime['id']}/seats/best"
    best = (await client.get(url, params={"count": 4})).json()
    # rows A..G (y 0..6): two thirds back is y 4 (row E); the screen's centre line is x 5.5 (the widest
    # row spans x 0..11), so the block is x 4..7: seats 5 to 8 of row E
    assert [(s["row"], s["number"]) for s in best["seats"]] == [("E", 5), ("E", 6), ("E", 7), ("E", 8)]
    assert best["total"] == {"amount": 4400, "currency": "EUR"}
    assert all(s["type"] == "standard" for s in best["seats"])
    accessible = (await client.get(url, params={"count": 2, "accessible": "true"})).json()
    assert sorted(s["type"] for s in accessible["seats"]) == ["companion", "wheelchair"]
    too_many = await client.get(url, params={"count": 11})
    assert (too_many.status_code, too_many.json()["code"]) == (409, "no_block_available")
    for bad in ({"count": 0}, {"count": 21}, {"count": "two"}, {}):
        assert (await client.get(url, params=bad)).status_code == 422, bad
    assert (await client.get(f"{API}/showtimes/999999/seats/best", params={"count": 2})).status_code == 404


async def test_booking_hooks_cancel_permission_and_context(app: FastAPI, client: httpx.AsyncClient) -> None:
    staff = await make_staff(app)
    venue = await make_venue(client, staff)
    sid = venue.showtime["id"]
    async with transaction(app.state.sessionmaker) as session:
        owner_a = await session.get(User, staff.owner_a_id)
        owner_b = await session.get(User, staff.owner_b_id)
        assert owner_a is not None
        assert owner_b is not None
        with pytest.raises(NotFound):
            await service.get_showtime_for_staff(session, showtime_id=sid, user=owner_b)
        showtime = await service.get_showtime_for_staff(session, showtime_id=sid, user=owner_a)
        ctx = await service.load_showtime_context(session, showtime_id=sid)
        assert (ctx.movie.id, ctx.screen.id, ctx.cinema.id) == (
            venue.movie["id"],
            venue.screen["id"],
            venue.cinema["id"],
        )
        assert ctx.starts_at_local.utcoffset() is not None
        cancelled = await service.cancel_showtime(session, showtime=showtime, actor=owner_a)
        assert cancelled.status == ShowtimeStatus.cancelled
        assert cancelled.sales_close_at <= utc_now()
    detail = (await client.get(f"{API}/showtimes/{sid}")).json()
    assert detail["status"] == "cancelled"
    best = await client.get(f"{API}/showtimes/{sid}/seats/best", params={"count": 2})
    assert (best.status_code, best.json()["code"]) == (409, "sales_closed")
    # a cancelled showtime frees its screen and leaves the default listing
    listing = (await client.get(f"{API}/showtimes", params={"cinema_id": venue.cinema["id"]})).json()
    assert listing["total"] == 0
    await api_showtime(
        client,
        staff.owner_a,
        movie_id=venue.movie["id"],
        screen_id=venue.screen["id"],
        starts_at=venue.showtime["starts_at"],
    )


async def _database_use(app: FastAPI, request: Awaitable[httpx.Response]) -> tuple[list[str], int]:
    """The SELECT statements one request sends, and how many connections it takes from the pool."""
    statements: list[str] = []
    checkouts: list[object] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    def checkout(dbapi_connection: object, *_args: object) -> None:
        checkouts.append(dbapi_connection)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    event.listen(engine, "checkout", checkout)
    try:
        assert (await request).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
        event.remove(engine, "checkout", checkout)
    return statements, len(checkouts)


async def test_seat_map_database_work_per_caller(app: FastAPI, client: httpx.AsyncClient) -> None:
    staff = await make_staff(app)
    venue = await make_venue(client, staff)
    sid = venue.showtime["id"]
    url = f"{API}/showtimes/{sid}/seats"
    statements, _ = await _database_use(app, client.get(url))
    assert len([s for s in statements if "showtime_seats" in s]) == 1, statements  # built once, one query
    # Cached and anonymous: not even a connection is taken.
    assert await _database_use(app, client.get(url)) == ([], 0)
    # Signed in without a seat here: the account and one EXISTS; the map itself comes from the cache.
    statements, checkouts = await _database_use(app, client.get(url, headers=staff.customer))
    seat_queries = [s for s in statements if "showtime_seats" in s]
    assert len(statements) == 2, statements
    assert ["EXISTS" in s.upper() for s in seat_queries] == [True], statements
    assert checkouts == 1
    # With a seat of their own: the same two, then exactly one query for their map.
    seat = venue.screen["seats"][0]["id"]
    await _set(app, sid, [seat], status=SeatStatus.sold, holder_id=staff.customer_id, booking_id=7)
    statements, _ = await _database_use(app, client.get(url, headers=staff.customer))
    seat_queries = [s for s in statements if "showtime_seats" in s]
    assert len(statements) == 3, statements
    assert len([s for s in seat_queries if "EXISTS" not in s.upper()]) == 1, statements
