"""The cached seat map and listing answer before FastAPI solves their parameters (showtimes/cache_first.py),
and only what FastAPI itself would have answered: validation, credentials and errors still apply."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from boxoffice.deps import get_session
from tests.conftest import FrozenClock
from tests.factories.accounts import auth_headers, make_user
from tests.factories.showtimes import BuiltShowtime, make_showtime

API = "/api/v1"


async def _no_session() -> AsyncIterator[None]:
    raise AssertionError("the cached answer solved the route's dependencies")
    yield  # pragma: no cover - makes this a generator dependency like get_session


async def _warm(client: httpx.AsyncClient, show: BuiltShowtime) -> tuple[httpx.Response, httpx.Response]:
    """Read the public seat map and the listing once, which caches them."""
    seats = await client.get(f"{API}/showtimes/{show.showtime_id}/seats")
    listing = await client.get(f"{API}/showtimes", params={"cinema_id": show.cinema_id})
    assert seats.status_code == listing.status_code == 200
    return seats, listing


async def test_cached_answers_skip_the_dependencies(
    app: FastAPI, client: httpx.AsyncClient, frozen_clock: FrozenClock
) -> None:
    """Once cached, the public answers come without a session; a signed-in map still asks for one."""
    show = await make_showtime(app, rows=2, seats_per_row=3)
    buyer = await make_user(app)
    seats, listing = await _warm(client, show)
    url = f"{API}/showtimes/{show.showtime_id}/seats"
    app.dependency_overrides[get_session] = _no_session
    try:
        again = await client.get(url)
        assert (again.status_code, again.content, again.headers["etag"]) == (
            200,
            seats.content,
            seats.headers["etag"],
        )
        assert again.headers["content-type"] == "application/json"
        assert again.headers["cache-control"] == "no-cache"
        assert (await client.get(url, headers={"If-None-Match": seats.headers["etag"]})).status_code == 304
        same = await client.get(f"{API}/showtimes", params={"cinema_id": show.cinema_id})
        assert (same.status_code, same.content) == (200, listing.content)
        with pytest.raises(AssertionError, match="solved the route's dependencies"):
            await client.get(url, headers=auth_headers(app, buyer))
    finally:
        app.dependency_overrides.pop(get_session, None)


async def test_cached_answers_still_validate_their_input(
    app: FastAPI, client: httpx.AsyncClient, frozen_clock: FrozenClock
) -> None:
    show = await make_showtime(app, rows=2, seats_per_row=3)
    seats, listing = await _warm(client, show)
    sid = show.showtime_id
    for path in ("0", "2147483648", "x", "1.5"):
        assert (await client.get(f"{API}/showtimes/{path}/seats")).status_code == 422, path
    too_long = await client.get(f"{API}/showtimes/{sid}/seats", headers={"If-None-Match": "x" * 201})
    assert (too_long.status_code, too_long.json()["code"]) == (422, "validation_error")
    # Forms the cached path does not handle itself go through FastAPI, which accepts them.
    padded = await client.get(f"{API}/showtimes/0{sid}/seats")
    assert (padded.status_code, padded.content) == (200, seats.content)
    for query in ({"page": 0}, {"per_page": 101}, {"date": "2026-13-01"}, {"cinema_id": -1}):
        for _ in range(2):  # a refused query is never cached
            refused = await client.get(f"{API}/showtimes", params={"cinema_id": show.cinema_id, **query})
            assert refused.status_code == 422, query
    # The same query with its parameters in another order: another entry, the same answer.
    reordered = await client.get(f"{API}/showtimes?per_page=20&cinema_id={show.cinema_id}")
    assert reordered.json() == listing.json()


async def test_credentials_are_checked_even_when_the_map_is_cached(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    show = await make_showtime(app, rows=2, seats_per_row=3)
    await _warm(client, show)
    url = f"{API}/showtimes/{show.showtime_id}/seats"
    forged = await client.get(url, headers={"Authorization": "Bearer not-a-token"})
    assert (forged.status_code, forged.json()["code"]) == (401, "invalid_token")
    gone = await make_user(app, active=False)
    inactive = await client.get(url, headers=auth_headers(app, gone))
    assert (inactive.status_code, inactive.json()["code"]) == (401, "invalid_token")
