"""Showtimes through the API: scheduling rules and their codes, roles, owners A and B, listing, deletion."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from boxoffice.db import transaction
from boxoffice.showtimes.models import SeatStatus, ShowtimeSeat
from tests.factories.catalog import (
    API,
    PRICES,
    api_cinema,
    api_movie,
    api_screen,
    api_showtime,
    later,
    make_staff,
    make_venue,
)


async def test_creation_computes_end_local_time_and_inventory(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    staff = await make_staff(app)
    cinema = await api_cinema(client, staff.owner_a, timezone="America/New_York", cleaning_minutes=20)
    screen = await api_screen(client, staff.owner_a, cinema["id"])
    movie = await api_movie(client, staff.owner_a, runtime_minutes=95, original_language="fr")
    starts = (datetime.now(UTC) + timedelta(days=3)).replace(hour=18, minute=30, second=0, microsecond=0)
    showtime = await api_showtime(
        client,
        staff.owner_a,
        movie_id=movie["id"],
        screen_id=screen["id"],
        starts_at=starts.isoformat(),
        sales_close_minutes=30,
        subtitles="en",
    )
    assert datetime.fromisoformat(showtime["ends_at"]) == starts + timedelta(minutes=95 + 20)
    local = datetime.fromisoformat(showtime["starts_at_local"])
    assert local == starts
    assert local.utcoffset() in (timedelta(hours=-5), timedelta(hours=-4))
    assert datetime.fromisoformat(showtime["sales_close_at"]) == starts - timedelta(minutes=30)
    assert showtime["language"] == "fr"  # the movie's original language by default
    assert showtime["prices"]["premium"] == {"amount": 1500, "currency": "EUR"}
    assert showtime["seats_total"] == screen["seat_count"] == showtime["seats_available"]
    seat_map = (await client.get(f"{API}/showtimes/{showtime['id']}/seats")).json()
    assert seat_map["counts"]["total"] == screen["seat_count"]
    assert {s["seat_id"] for s in seat_map["seats"]} == {s["id"] for s in screen["seats"]}


async def test_overlapping_showtimes_answer_screen_busy(app: FastAPI, client: httpx.AsyncClient) -> None:
    staff = await make_staff(app)
    venue = await make_venue(client, staff)
    first_start = datetime.fromisoformat(venue.showtime["starts_at"])
    ends = datetime.fromisoformat(venue.showtime["ends_at"])  # start + 100 + 15
    for start in (
        first_start,
        first_start + timedelta(minutes=60),
        ends - timedelta(minutes=1),
        first_start - timedelta(minutes=100),
    ):
        answer = await client.post(
            f"{API}/showtimes",
            json={
                "movie_id": venue.movie["id"],
                "screen_id": venue.screen["id"],
                "starts_at": start.isoformat(),
                "prices": PRICES,
            },
            headers=staff.owner_a,
        )
        assert answer.status_code == 409, start
        assert answer.json()["code"] == "screen_busy"
        assert answer.json()["conflicting_showtime_id"] == venue.showtime["id"]
    # back to back (after the cleaning time) is fine, and so is the same time on another screen
    await api_showtime(
        client,
        staff.owner_a,
        movie_id=venue.movie["id"],
        screen_id=venue.screen["id"],
        starts_at=ends.isoformat(),
    )
    other = await api_screen(client, staff.owner_a, venue.cinema["id"])
    await api_showtime(
        client,
        staff.owner_a,
        movie_id=venue.movie["id"],
        screen_id=other["id"],
        starts_at=first_start.isoformat(),
    )


async def test_two_concurrent_creations_on_one_screen_exactly_one_wins(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Two owners' requests race on one screen; repeated on several screens so a missing lock shows."""
    staff = await make_staff(app)
    cinema = await api_cinema(client, staff.owner_a)
    movie = await api_movie(client, staff.owner_a)
    starts = datetime.fromisoformat(later(days=5))
    for _ in range(4):
        screen = await api_screen(client, staff.owner_a, cinema["id"])
        bodies = [
            {
                "movie_id": movie["id"],
                "screen_id": screen["id"],
                "starts_at": (starts + timedelta(minutes=m)).isoformat(),
                "prices": PRICES,
            }
            for m in (0, 30)
        ]
        answers = await asyncio.gather(
            client.post(f"{API}/showtimes", json=bodies[0], headers=staff.owner_a),
            client.post(f"{API}/showtimes", json=bodies[1], headers=staff.admin),
        )
        assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
        loser = next(a for a in answers if a.status_code == 409)
        assert loser.json()["code"] == "screen_busy"
    listing = await client.get(f"{API}/showtimes", params={"cinema_id": cinema["id"]})
    assert listing.json()["total"] == 4


async def test_scheduling_rules_and_their_codes(app: FastAPI, client: httpx.AsyncClient) -> None:
    staff = await make_staff(app)
    cinema = await api_cinema(client, staff.owner_a)
    screen = await api_screen(client, staff.owner_a, cinema["id"], formats=["2D"])
    movie = await api_movie(client, staff.owner_a)
    base = {"movie_id": movie["id"], "screen_id": screen["id"], "starts_at": later(days=1), "prices": PRICES}
    cases = [
        ({"starts_at": later(minutes=-5)}, 422, "showtime_in_past"),
        ({"format": "IMAX"}, 422, "format_not_supported"),
        ({"format": "Smell-O-Vision"}, 422, "unknown_format"),
        ({"prices": {**PRICES, "standard": -1}}, 422, "negative_price"),
        ({"prices": {"standard": 1000}}, 422, "missing_price"),
        ({"movie_id": 999999}, 404, "movie_not_found"),
        ({"screen_id": 999999}, 404, "screen_not_found"),
        ({"starts_at": "2030-01-01T10:00:00"}, 422, "validation_error"),  # no offset
        ({"starts_at": "tomorrow"}, 422, "validation_error"),
        ({"prices": {"balcony": 100}}, 422, "validation_error"),
        ({"currency": "euro"}, 422, "validation_error"),
        ({"movie_id": "one"}, 422, "validation_error"),
    ]
    for change, status, code in cases:
        answer = await client.post(f"{API}/showtimes", json={**base, **change}, headers=staff.owner_a)
        assert (answer.status_code, answer.json()["code"]) == (status, code), change


async def test_owner_b_cannot_schedule_change_or_delete_on_owner_a_screens(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    staff = await make_staff(app)
    venue = await make_venue(client, staff)
    body = {
        "movie_id": venue.movie["id"],
        "screen_id": venue.screen["id"],
        "starts_at": later(days=9),
        "prices": PRICES,
    }
    answer = await client.post(f"{API}/showtimes", json=body, headers=staff.owner_b)
    assert (answer.status_code, answer.json()["code"]) == (404, "screen_not_found")
    sid = venue.showtime["id"]
    answer = await client.patch(f"{API}/showtimes/{sid}", json={"language": "de"}, headers=staff.owner_b)
    assert (answer.status_code, answer.json()["code"]) == (404, "showtime_not_found")
    answer = await client.delete(f"{API}/showtimes/{sid}", headers=staff.owner_b)
    assert answer.status_code == 404
    assert (await client.post(f"{API}/showtimes", json=body, headers=staff.customer)).status_code == 403
    assert (await client.post(f"{API}/showtimes", json=body)).status_code == 401
    assert (await client.post(f"{API}/showtimes", json=body, headers=staff.admin)).status_code == 201


async def test_update_moves_reprices_and_rechecks_overlap(app: FastAPI, client: httpx.AsyncClient) -> None:
    staff = await make_staff(app)
    venue = await make_venue(client, staff)
    sid = venue.showtime["id"]
    second = await api_showtime(
        client,
        staff.owner_a,
        movie_id=venue.movie["id"],
        screen_id=venue.screen["id"],
        starts_at=later(days=4),
    )
    clash = await client.patch(
        f"{API}/showtimes/{sid}", json={"starts_at": second["starts_at"]}, headers=staff.owner_a
    )
    assert clash.json()["code"] == "screen_busy"
    moved = await client.patch(
        f"{API}/showtimes/{sid}",
        json={"starts_at": later(days=6), "prices": {"standard": 900}},
        headers=staff.owner_a,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["prices"]["standard"]["amount"] == 900
    seats = (await client.get(f"{API}/showtimes/{sid}/seats")).json()["seats"]
    assert {s["price"]["amount"] for s in seats if s["type"] == "standard"} == {900}
    negative = await client.patch(
        f"{API}/showtimes/{sid}", json={"prices": {"premium": -5}}, headers=staff.owner_a
    )
    assert negative.json()["code"] == "negative_price"


async def _sell(app: FastAPI, showtime_id: int, count: int = 1, holder_id: int | None = None) -> list[int]:
    async with transaction(app.state.sessionmaker) as session:
        ids = list(
            (
                await session.scalars(
                    select(ShowtimeSeat.seat_id)
                    .where(ShowtimeSeat.showtime_id == showtime_id)
                    .order_by(ShowtimeSeat.id)
                    .limit(count)
                )
            ).all()
        )
        await session.execute(
            update(ShowtimeSeat)
            .where(ShowtimeSeat.showtime_id == showtime_id, ShowtimeSeat.seat_id.in_(ids))
            .values(
                status=SeatStatus.sold, booking_id=1, holder_id=holder_id, version=ShowtimeSeat.version + 1
            )
        )
    return ids


async def test_sold_showtime_cannot_be_deleted_or_moved_movie_neither(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    staff = await make_staff(app)
    venue = await make_venue(client, staff)
    sid = venue.showtime["id"]
    await _sell(app, sid)
    answer = await client.delete(f"{API}/showtimes/{sid}", headers=staff.owner_a)
    assert (answer.status_code, answer.json()["code"]) == (409, "has_bookings")
    answer = await client.patch(
        f"{API}/showtimes/{sid}", json={"starts_at": later(days=8)}, headers=staff.owner_a
    )
    assert (answer.status_code, answer.json()["code"]) == (409, "has_bookings")
    answer = await client.delete(f"{API}/movies/{venue.movie['id']}", headers=staff.owner_a)
    assert (answer.status_code, answer.json()["code"]) == (409, "has_bookings")
    # the language may still change
    ok = await client.patch(f"{API}/showtimes/{sid}", json={"subtitles": "pt"}, headers=staff.owner_a)
    assert ok.json()["subtitles"] == "pt"


async def test_unsold_showtime_is_deleted(app: FastAPI, client: httpx.AsyncClient) -> None:
    staff = await make_staff(app)
    venue = await make_venue(client, staff)
    sid = venue.showtime["id"]
    assert (await client.delete(f"{API}/showtimes/{sid}", headers=staff.owner_a)).status_code == 204
    assert (await client.get(f"{API}/showtimes/{sid}")).status_code == 404
    assert (await client.get(f"{API}/showtimes/{sid}/seats")).status_code == 404


async def test_listing_filters_by_local_date_cinema_movie_format_language(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    staff = await make_staff(app)
    tokyo = await api_cinema(client, staff.owner_a, city="Tokyo", timezone="Asia/Tokyo")
    lima = await api_cinema(client, staff.owner_b, city="Lima", timezone="America/Lima")
    s_tokyo = await api_screen(client, staff.owner_a, tokyo["id"])
    s_lima = await api_screen(client, staff.owner_b, lima["id"])
    movie = await api_movie(client, staff.admin)
    other = await api_movie(client, staff.admin)
    day = (datetime.now(UTC) + timedelta(days=10)).date()
    # 01:00 in Tokyo on `day` is the previous day in UTC; 22:00 in Lima on `day` is the next day in UTC
    t_start = datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC) - timedelta(hours=9)
    l_start = datetime(day.year, day.month, day.day, 22, 0, tzinfo=UTC) + timedelta(hours=5)
    a = await api_showtime(
        client,
        staff.owner_a,
        movie_id=movie["id"],
        screen_id=s_tokyo["id"],
        starts_at=t_start.isoformat(),
        format="3D",
        language="ja",
    )
    b = await api_showtime(
        client, staff.owner_b, movie_id=other["id"], screen_id=s_lima["id"], starts_at=l_start.isoformat()
    )
    await api_showtime(
        client,
        staff.owner_b,
        movie_id=movie["id"],
        screen_id=s_lima["id"],
        starts_at=(l_start + timedelta(days=1)).isoformat(),
    )

    async def ids(**params: object) -> list[int]:
        answer = await client.get(f"{API}/showtimes", params=params)
        assert answer.status_code == 200, answer.text
        return [s["id"] for s in answer.json()["items"]]

    assert await ids(date=day.isoformat()) == [a["id"], b["id"]]
    assert await ids(date=day.isoformat(), cinema_id=lima["id"]) == [b["id"]]
    assert await ids(date=day.isoformat(), movie_id=movie["id"]) == [a["id"]]
    assert await ids(format="3d") == [a["id"]]
    assert await ids(language="JA") == [a["id"]]
    assert len(await ids()) == 3
    page = (await client.get(f"{API}/showtimes", params={"per_page": 2, "page": 2})).json()
    assert (page["total"], len(page["items"])) == (3, 1)
    assert (await client.get(f"{API}/showtimes", params={"date": "2026-13-01"})).status_code == 422
    assert (await client.get(f"{API}/showtimes", params={"per_page": 0})).status_code == 422
    detail = (await client.get(f"{API}/showtimes/{a['id']}")).json()
    assert detail["starts_at_local"].startswith(f"{day.isoformat()}T01:00:00+09:00")
