"""Hostile or malformed input answers a clear 4xx on both backends, never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from boxoffice.accounts.models import Role
from tests.factories.accounts import auth_headers, make_user
from tests.factories.catalog import API, make_staff, make_venue

HUGE = 99_999_999_999  # past PostgreSQL's INTEGER


@pytest.mark.parametrize(
    ("method", "path", "body", "params"),
    [
        ("GET", "/showtimes/{huge}", None, None),
        ("GET", "/showtimes/{huge}/seats", None, None),
        ("GET", "/showtimes/{huge}/seats/best", None, {"count": 2}),
        ("GET", "/movies/{huge}", None, None),
        ("GET", "/cinemas/{huge}/screens", None, None),
        ("GET", "/movies", None, {"q": "a\x00b"}),
        ("GET", "/people", None, {"q": "\x00"}),
        ("GET", "/movies", None, {"cinema_id": HUGE}),
        ("GET", "/showtimes", None, {"movie_id": HUGE}),
        ("GET", "/cinemas", None, {"city": "Lis\x00bon"}),
        ("POST", "/people", {"name": "a\x00b"}, None),
        ("POST", "/movies", {"title": "T", "runtime_minutes": HUGE}, None),
        ("POST", "/movies", {"title": "T", "runtime_minutes": 90, "genre_ids": [HUGE]}, None),
        (
            "POST",
            "/movies",
            {"title": "T", "runtime_minutes": 90, "credits": [{"person_id": HUGE, "role": "actor"}]},
            None,
        ),
        ("POST", "/cinemas", {"name": "x", "city": "y", "timezone": "UTC", "address": "\x00"}, None),
        ("POST", "/cinemas", {"name": "x", "city": "y", "timezone": "UTC\x00"}, None),
        (
            "POST",
            "/showtimes",
            {
                "movie_id": HUGE,
                "screen_id": 1,
                "starts_at": "2030-01-01T00:00:00Z",
                "prices": {"standard": 1},
            },
            None,
        ),
        (
            "POST",
            "/showtimes",
            {
                "movie_id": 1,
                "screen_id": 1,
                "starts_at": "2030-01-01T00:00:00Z",
                "prices": {"standard": HUGE},
            },
            None,
        ),
        (
            "POST",
            "/showtimes",
            {"movie_id": 1, "screen_id": 1, "starts_at": "2030-01-01T00:00:00Z", "prices": []},
            None,
        ),
        ("POST", "/showtimes", None, None),
        ("PATCH", "/movies/{huge}", {"title": "x"}, None),
        ("DELETE", "/cinemas/{huge}", None, None),
    ],
)
async def test_malformed_input_is_a_422(
    app: FastAPI, client: httpx.AsyncClient, method: str, path: str, body: Any, params: Any
) -> None:
    admin = auth_headers(app, await make_user(app, role=Role.admin))
    answer = await client.request(
        method, API + path.format(huge=HUGE), json=body, params=params, headers=admin
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "validation_error"


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
async def test_dates_at_the_ends_of_the_calendar(app: FastAPI, client: httpx.AsyncClient, day: str) -> None:
    staff = await make_staff(app)
    venue = await make_venue(client, staff)  # a cinema exists, so the local-day windows are computed
    for url, params in (
        ("/showtimes", {"date": day}),
        ("/movies", {"date": day}),
        ("/movies", {"date": day, "cinema_id": venue.cinema["id"]}),
    ):
        answer = await client.get(API + url, params=params)
        assert answer.status_code == 200, answer.text
        assert answer.json()["total"] == 0
    far = await client.post(
        f"{API}/showtimes",
        json={
            "movie_id": venue.movie["id"],
            "screen_id": venue.screen["id"],
            "starts_at": "9999-12-31T23:00:00+00:00",
            "prices": {"standard": 1, "premium": 1, "wheelchair": 1, "companion": 1},
        },
        headers=staff.owner_a,
    )
    assert far.status_code == 422, far.text
    assert far.json()["code"] == "showtime_too_far"


async def test_genre_id_past_integer_range_is_simply_unknown(client: httpx.AsyncClient) -> None:
    answer = await client.get(f"{API}/movies", params={"genre": str(HUGE)})
    assert (answer.status_code, answer.json()["total"]) == (200, 0)
