"""Build catalogue objects (genres, people, movies, cinemas, screens, showtimes) through the HTTP API."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from boxoffice.accounts.models import Role
from tests.factories.accounts import auth_headers, make_user

API = "/api/v1"
SMALL_LAYOUT = ["AAAAAAAA", "AAAAAAAA", "PPPPPPPP", "WC_AA_CW"]
PRICES = {"standard": 1100, "premium": 1500, "wheelchair": 1100, "companion": 1100}


@dataclass
class Staff:
    """Signed-in callers of each role (two owners, to test that they cannot see each other's venues)."""

    admin: dict[str, str]
    owner_a: dict[str, str]
    owner_b: dict[str, str]
    customer: dict[str, str]
    owner_a_id: int
    owner_b_id: int
    customer_id: int


async def make_staff(app: FastAPI) -> Staff:
    """An admin, two owners and a customer with bearer headers."""
    admin = await make_user(app, role=Role.admin)
    owner_a = await make_user(app, role=Role.owner)
    owner_b = await make_user(app, role=Role.owner)
    customer = await make_user(app, role=Role.customer)
    return Staff(
        admin=auth_headers(app, admin),
        owner_a=auth_headers(app, owner_a),
        owner_b=auth_headers(app, owner_b),
        customer=auth_headers(app, customer),
        owner_a_id=owner_a.id,
        owner_b_id=owner_b.id,
        customer_id=customer.id,
    )


def later(**delta: float) -> str:
    """An ISO 8601 UTC time `delta` from now, on a whole minute."""
    moment = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(**delta)
    return moment.isoformat()


async def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def api_cinema(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    """Create a cinema (Lisbon unless told otherwise)."""
    body = {"name": f"Cinema {secrets.token_hex(3)}", "city": "Lisbon", "timezone": "Europe/Lisbon", **fields}
    return await _created(await client.post(f"{API}/cinemas", json=body, headers=headers))


async def api_screen(
    client: httpx.AsyncClient, headers: dict[str, str], cinema_id: int, **fields: Any
) -> dict[str, Any]:
    """Create a screen (a small 2D/3D layout with premium, wheelchair and companion seats by default)."""
    body = {
        "name": f"Screen {secrets.token_hex(3)}",
        "formats": ["2D", "3D"],
        "layout": SMALL_LAYOUT,
        **fields,
    }
    return await _created(await client.post(f"{API}/cinemas/{cinema_id}/screens", json=body, headers=headers))


async def api_movie(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    """Create a 100-minute movie."""
    body = {"title": f"Movie {secrets.token_hex(3)}", "runtime_minutes": 100, **fields}
    return await _created(await client.post(f"{API}/movies", json=body, headers=headers))


async def api_showtime(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    *,
    movie_id: int,
    screen_id: int,
    starts_at: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Schedule a showtime (in two days by default)."""
    body = {
        "movie_id": movie_id,
        "screen_id": screen_id,
        "starts_at": starts_at or later(days=2),
        "prices": PRICES,
        "currency": "EUR",
        **fields,
    }
    return await _created(await client.post(f"{API}/showtimes", json=body, headers=headers))


@dataclass
class Venue:
    """A cinema of owner A with one screen, a movie and a showtime."""

    cinema: dict[str, Any]
    screen: dict[str, Any]
    movie: dict[str, Any]
    showtime: dict[str, Any]


async def make_venue(client: httpx.AsyncClient, staff: Staff, **screen_fields: Any) -> Venue:
    """Owner A's cinema, screen, movie and a showtime in two days."""
    cinema = await api_cinema(client, staff.owner_a)
    screen = await api_screen(client, staff.owner_a, cinema["id"], **screen_fields)
    movie = await api_movie(client, staff.owner_a)
    showtime = await api_showtime(client, staff.owner_a, movie_id=movie["id"], screen_id=screen["id"])
    return Venue(cinema, screen, movie, showtime)
