"""The demo catalogue: looks like a real chain, is idempotent, and is served by the API."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from boxoffice.demo import load_demo
from tests.conftest import make_settings
from tests.factories.catalog import API


async def _counts(client: httpx.AsyncClient) -> tuple[int, int, int, int]:
    cinemas = (await client.get(f"{API}/cinemas")).json()
    movies = (await client.get(f"{API}/movies", params={"per_page": 100})).json()
    showtimes = (await client.get(f"{API}/showtimes", params={"per_page": 1})).json()
    screens = sum(c["screen_count"] for c in cinemas["items"])
    return cinemas["total"], screens, movies["total"], showtimes["total"]


async def test_demo_catalogue_is_realistic_and_idempotent(
    app: FastAPI, client: httpx.AsyncClient, db_url: str, tmp_path: Path
) -> None:
    settings = make_settings(db_url, tmp_path)
    summary = await load_demo(settings)
    assert "3 cinemas, 8 screens, 24 movies" in summary
    first = await _counts(client)
    assert first[:3] == (3, 8, 24)
    assert first[3] > 150  # a week of showtimes on eight screens

    cinemas = (await client.get(f"{API}/cinemas")).json()["items"]
    assert len({c["timezone"] for c in cinemas}) == 3
    owners = [c["owner_id"] for c in cinemas]
    assert sum(1 for o in owners if o is not None and owners.count(o) == 2) == 2  # the demo owner runs two
    seat_types: set[str] = set()
    largest = 0
    for cinema in cinemas:
        for screen in (await client.get(f"{API}/cinemas/{cinema['id']}/screens")).json():
            largest = max(largest, screen["seat_count"])
            detail = (await client.get(f"{API}/screens/{screen['id']}")).json()
            seat_types |= {s["type"] for s in detail["seats"]}
    assert largest >= 300
    assert seat_types == {"standard", "premium", "recliner", "wheelchair", "companion"}

    movies = (await client.get(f"{API}/movies", params={"per_page": 100})).json()["items"]
    assert {m["status"] for m in movies} >= {"now_showing", "coming_soon"}
    detail = (await client.get(f"{API}/movies/{movies[0]['id']}")).json()
    assert detail["cast"]
    assert detail["crew"]
    poster = await client.get(detail["poster_url"])
    assert poster.status_code == 200
    assert poster.text.startswith("<svg")

    again = await load_demo(settings)
    assert "0 new showtimes" in again
    assert await _counts(client) == first
