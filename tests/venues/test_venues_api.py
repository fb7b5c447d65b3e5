"""Cinemas and screens through the API: roles, owners A and B, timezones, layouts, deletion rules."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from boxoffice.db import transaction
from boxoffice.kit.clock import utc_now
from boxoffice.showtimes.models import SeatStatus, ShowtimeSeat
from tests.factories.catalog import API, api_cinema, api_screen, make_staff, make_venue


async def test_owner_creates_and_owns_a_cinema_reads_are_public(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    staff = await make_staff(app)
    cinema = await api_cinema(client, staff.owner_a, name="Cine Tejo", timezone="Europe/Lisbon")
    assert cinema["owner_id"] == staff.owner_a_id
    assert cinema["screen_count"] == 0
    await api_screen(client, staff.owner_a, cinema["id"])
    anonymous = await client.get(f"{API}/cinemas/{cinema['id']}")
    assert anonymous.status_code == 200
    assert anonymous.json()["screen_count"] == 1
    listing = await client.get(f"{API}/cinemas", params={"city": "lisbon"})
    assert [c["id"] for c in listing.json()["items"]] == [cinema["id"]]


async def test_customers_and_anonymous_callers_cannot_write(app: FastAPI, client: httpx.AsyncClient) -> None:
    staff = await make_staff(app)
    body = {"name": "X", "city": "Porto", "timezone": "Europe/Lisbon"}
    assert (await client.post(f"{API}/cinemas", json=body)).status_code == 401
    refused = await client.post(f"{API}/cinemas", json=body, headers=staff.customer)
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"


async def test_owner_b_cannot_touch_owner_a_cinema_or_screens(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    staff = await make_staff(app)
    cinema = await api_cinema(client, staff.owner_a)
    screen = await api_screen(client, staff.owner_a, cinema["id"])
    cid, sid = cinema["id"], screen["id"]
    for method, url, body in [
        ("PATCH", f"{API}/cinemas/{cid}", {"name": "Hijacked"}),
        ("DELETE", f"{API}/cinemas/{cid}", None),
        ("POST", f"{API}/cinemas/{cid}/screens", {"name": "S9", "layout": ["AAA"]}),
        ("PATCH", f"{API}/screens/{sid}", {"name": "Hijacked"}),
        ("DELETE", f"{API}/screens/{sid}", None),
    ]:
        answer = await client.request(method, url, json=body, headers=staff.owner_b)
        assert answer.status_code == 404, (method, url, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    # the admin may, and owner A may
    assert (
        await client.patch(f"{API}/cinemas/{cid}", json={"name": "By admin"}, headers=staff.admin)
    ).status_code == 200
    renamed = await client.patch(f"{API}/screens/{sid}", json={"name": "Big one"}, headers=staff.owner_a)
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Big one"


async def test_admin_assigns_owner_an_owner_cannot(app: FastAPI, client: httpx.AsyncClient) -> None:
    staff = await make_staff(app)
    cinema = await api_cinema(client, staff.admin, owner_id=staff.owner_b_id)
    assert cinema["owner_id"] == staff.owner_b_id
    mine = await api_cinema(client, staff.owner_a, owner_id=staff.owner_b_id)
    assert mine["owner_id"] == staff.owner_a_id  # an owner always owns what it creates
    refused = await client.patch(
        f"{API}/cinemas/{mine['id']}", json={"owner_id": staff.owner_b_id}, headers=staff.owner_a
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "owner_change_forbidden"
    bad_owner = await client.post(
        f"{API}/cinemas",
        json={"name": "X", "city": "Y", "timezone": "UTC", "owner_id": staff.customer_id},
        headers=staff.admin,
    )
    assert bad_owner.status_code == 422
    assert bad_owner.json()["code"] == "invalid_owner"


async def test_unknown_timezone_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    staff = await make_staff(app)
    for tz in ("Mars/Olympus_Mons", "../../etc/passwd", "Europe/"):
        answer = await client.post(
            f"{API}/cinemas", json={"name": "X", "city": "Y", "timezone": tz}, headers=staff.owner_a
        )
        assert answer.status_code == 422, tz
        assert answer.json()["code"] == "unknown_timezone"
    cinema = await api_cinema(client, staff.owner_a)
    answer = await client.patch(
        f"{API}/cinemas/{cinema['id']}", json={"timezone": "Nowhere"}, headers=staff.owner_a
    )
    assert answer.json()["code"] == "unknown_timezone"


async def test_screen_layout_becomes_seats(app: FastAPI, client: httpx.AsyncClient) -> None:
    staff = await make_staff(app)
    cinema = await api_cinema(client, staff.owner_a)
    screen = await api_screen(
        client, staff.owner_a, cinema["id"], formats=["2d", "imax"], layout=["_AAAA_", "PPPPPP", "WC__CW"]
    )
    assert screen["formats"] == ["2D", "IMAX"]
    assert screen["seat_count"] == 14
    seats = screen["seats"]
    assert (seats[0]["row"], seats[0]["number"], seats[0]["x"], seats[0]["y"]) == ("A", 1, 1, 0)
    assert [s["type"] for s in seats if s["row"] == "C"] == [
        "wheelchair",
        "companion",
        "companion",
        "wheelchair",
    ]
    listed = await client.get(f"{API}/cinemas/{cinema['id']}/screens")
    assert listed.json()[0]["layout"] == ["_AAAA", "PPPPPP", "WC__CW"]


async def test_explicit_seat_list(app: FastAPI, client: httpx.AsyncClient) -> None:
    staff = await make_staff(app)
    cinema = await api_cinema(client, staff.owner_a)
    seats = [
        {"row": "A", "number": 1, "x": 0, "y": 0},
        {"row": "A", "number": 2, "x": 1, "y": 0, "type": "premium"},
        {"row": "B", "number": 1, "x": 0, "y": 2, "type": "wheelchair"},
    ]
    screen = await api_screen(client, staff.owner_a, cinema["id"], layout=None, seats=seats)
    assert screen["seat_count"] == 3
    assert screen["layout"] == ["AP", "", "W"]


async def test_bad_layouts_answer_422_naming_row_and_column(app: FastAPI, client: httpx.AsyncClient) -> None:
    staff = await make_staff(app)
    cinema = await api_cinema(client, staff.owner_a)
    url = f"{API}/cinemas/{cinema['id']}/screens"
    bad = await client.post(url, json={"name": "S", "layout": ["AAAA", "AAZA"]}, headers=staff.owner_a)
    assert bad.status_code == 422
    problem = bad.json()
    assert problem["code"] == "invalid_layout"
    assert "Row 2, column 3" in problem["detail"]
    assert (problem["row"], problem["column"]) == (2, 3)
    for body in (
        {"name": "S"},  # neither layout nor seats
        {"name": "S", "layout": ["AA"], "seats": [{"row": "A", "number": 1, "x": 0, "y": 0}]},
        {"name": "S", "layout": "AAAA"},  # wrong type
        {"name": "S", "layout": ["AA"], "colour": "red"},  # unknown field
        {"name": "", "layout": ["AA"]},
    ):
        answer = await client.post(url, json=body, headers=staff.owner_a)
        assert answer.status_code == 422, body
        assert answer.json()["code"] == "validation_error"
    dup = await client.post(
        url,
        json={
            "name": "S",
            "seats": [{"row": "A", "number": 1, "x": 0, "y": 0}, {"row": "A", "number": 1, "x": 1, "y": 0}],
        },
        headers=staff.owner_a,
    )
    assert dup.json()["code"] == "invalid_layout"
    unknown_format = await client.post(
        url, json={"name": "S", "layout": ["AA"], "formats": ["8K"]}, headers=staff.owner_a
    )
    assert unknown_format.json()["code"] == "unknown_format"


async def test_screen_names_are_unique_per_cinema(app: FastAPI, client: httpx.AsyncClient) -> None:
    staff = await make_staff(app)
    cinema = await api_cinema(client, staff.owner_a)
    await api_screen(client, staff.owner_a, cinema["id"], name="Sala 1")
    again = await client.post(
        f"{API}/cinemas/{cinema['id']}/screens",
        json={"name": "Sala 1", "layout": ["AA"]},
        headers=staff.owner_a,
    )
    assert again.status_code == 409
    assert again.json()["code"] == "screen_name_taken"


async def test_unknown_ids_answer_404(app: FastAPI, client: httpx.AsyncClient) -> None:
    for url in (f"{API}/cinemas/999999", f"{API}/screens/999999", f"{API}/cinemas/999999/screens"):
        answer = await client.get(url)
        assert answer.status_code == 404
        assert answer.json()["code"] in {"cinema_not_found", "screen_not_found"}
    assert (await client.get(f"{API}/cinemas/abc")).status_code == 422
    assert (await client.get(f"{API}/cinemas", params={"per_page": 101})).status_code == 422
    assert (await client.get(f"{API}/cinemas", params={"page": 0})).status_code == 422


async def test_layout_cannot_change_once_showtimes_exist(app: FastAPI, client: httpx.AsyncClient) -> None:
    staff = await make_staff(app)
    venue = await make_venue(client, staff)
    answer = await client.patch(
        f"{API}/screens/{venue.screen['id']}", json={"layout": ["AAAA"]}, headers=staff.owner_a
    )
    assert answer.status_code == 409
    assert answer.json()["code"] == "screen_in_use"


async def test_new_layout_replaces_seats_while_unused(app: FastAPI, client: httpx.AsyncClient) -> None:
    staff = await make_staff(app)
    cinema = await api_cinema(client, staff.owner_a)
    screen = await api_screen(client, staff.owner_a, cinema["id"])
    answer = await client.patch(
        f"{API}/screens/{screen['id']}", json={"layout": ["RRRR"]}, headers=staff.owner_a
    )
    assert answer.status_code == 200
    assert answer.json()["seat_count"] == 4
    assert {s["type"] for s in answer.json()["seats"]} == {"recliner"}


async def _sell_one_seat(app: FastAPI, showtime_id: int) -> None:
    async with transaction(app.state.sessionmaker) as session:
        seat_id = (
            await session.scalars(
                ShowtimeSeat.__table__.select().where(ShowtimeSeat.showtime_id == showtime_id)
            )
        ).first()
        await session.execute(
            update(ShowtimeSeat)
            .where(ShowtimeSeat.showtime_id == showtime_id, ShowtimeSeat.seat_id == seat_id)
            .values(status=SeatStatus.sold, booking_id=1, version=ShowtimeSeat.version + 1)
        )


async def test_deleting_screen_or_cinema_with_sold_tickets_is_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    staff = await make_staff(app)
    venue = await make_venue(client, staff)
    await _sell_one_seat(app, venue.showtime["id"])
    for url in (f"{API}/screens/{venue.screen['id']}", f"{API}/cinemas/{venue.cinema['id']}"):
        answer = await client.delete(url, headers=staff.owner_a)
        assert answer.status_code == 409, url
        assert answer.json()["code"] == "has_bookings"


async def test_deleting_an_unsold_screen_and_cinema(app: FastAPI, client: httpx.AsyncClient) -> None:
    staff = await make_staff(app)
    venue = await make_venue(client, staff)
    # a held seat whose hold has expired does not count as a booking
    async with transaction(app.state.sessionmaker) as session:
        await session.execute(
            update(ShowtimeSeat)
            .where(ShowtimeSeat.showtime_id == venue.showtime["id"])
            .values(status=SeatStatus.held, hold_expires_at=utc_now().replace(year=2000))
        )
    assert (
        await client.delete(f"{API}/screens/{venue.screen['id']}", headers=staff.owner_a)
    ).status_code == 204
    assert (await client.get(f"{API}/showtimes/{venue.showtime['id']}")).status_code == 404
    assert (
        await client.delete(f"{API}/cinemas/{venue.cinema['id']}", headers=staff.admin)
    ).status_code == 204
    assert (await client.get(f"{API}/cinemas/{venue.cinema['id']}")).status_code == 404
