"""Genres, people and movies through the API: roles, owners A and B, search, filters, detail, posters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from boxoffice.db import transaction
from boxoffice.showtimes.models import SeatStatus, ShowtimeSeat
from tests.factories.catalog import (
    API,
    api_cinema,
    api_movie,
    api_screen,
    api_showtime,
    make_staff,
    make_venue,
)


async def _genre(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> dict[str, object]:
    answer = await client.post(f"{API}/genres", json={"name": name}, headers=headers)
    assert answer.status_code == 201, answer.text
    body: dict[str, object] = answer.json()
    return body


async def _person(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> int:
    answer = await client.post(f"{API}/people", json={"name": name}, headers=headers)
    assert answer.status_code == 201, answer.text
    person_id: int = answer.json()["id"]
    return person_id


async def test_genres_are_admin_only_and_unique(app: FastAPI, client: httpx.AsyncClient) -> None:
    staff = await make_staff(app)
    genre = await _genre(client, staff.admin, "Science Fiction")
    assert genre["slug"] == "science-fiction"
    again = await client.post(f"{API}/genres", json={"name": "science  fiction"}, headers=staff.admin)
    assert (again.status_code, again.json()["code"]) == (409, "genre_exists")
    assert (
        await client.post(f"{API}/genres", json={"name": "Drama"}, headers=staff.owner_a)
    ).status_code == 403
    assert (await client.post(f"{API}/genres", json={"name": "Drama"})).status_code == 401
    renamed = await client.patch(f"{API}/genres/{genre['id']}", json={"name": "Sci-Fi"}, headers=staff.admin)
    assert renamed.json()["slug"] == "sci-fi"
    listing = (await client.get(f"{API}/genres")).json()
    assert [g["name"] for g in listing["items"]] == ["Sci-Fi"]
    assert (await client.delete(f"{API}/genres/{genre['id']}", headers=staff.admin)).status_code == 204
    assert (await client.get(f"{API}/genres/{genre['id']}")).status_code == 404


async def test_people_search_is_accent_and_case_insensitive(app: FastAPI, client: httpx.AsyncClient) -> None:
    staff = await make_staff(app)
    for name in ("Amélie Durand", "Zoë Ångström", "Bob 100% Real", "Ana_Lima"):
        await _person(client, staff.owner_a, name)

    async def names(q: str) -> list[str]:
        return [p["name"] for p in (await client.get(f"{API}/people", params={"q": q})).json()["items"]]

    assert await names("AMELIE") == ["Amélie Durand"]
    assert await names("angstr") == ["Zoë Ångström"]
    assert await names("%") == ["Bob 100% Real"]  # LIKE wildcards are escaped
    assert await names("_") == ["Ana_Lima"]
    assert len(await names("")) == 4


async def test_owner_edits_only_people_and_movies_it_created(app: FastAPI, client: httpx.AsyncClient) -> None:
    staff = await make_staff(app)
    person = await _person(client, staff.owner_a, "Dana Reyes")
    movie = await api_movie(client, staff.owner_a, title="Night Harbour")
    for method, url, body in [
        ("PATCH", f"{API}/people/{person}", {"bio": "hijacked"}),
        ("DELETE", f"{API}/people/{person}", None),
        ("PATCH", f"{API}/movies/{movie['id']}", {"title": "Hijacked"}),
        ("DELETE", f"{API}/movies/{movie['id']}", None),
    ]:
        answer = await client.request(method, url, json=body, headers=staff.owner_b)
        assert answer.status_code == 404, (method, url)
        answer = await client.request(method, url, json=body, headers=staff.customer)
        assert answer.status_code == 403, (method, url)
    edited = await client.patch(
        f"{API}/movies/{movie['id']}", json={"synopsis": "Fog."}, headers=staff.owner_a
    )
    assert edited.json()["synopsis"] == "Fog."
    by_admin = await client.patch(
        f"{API}/movies/{movie['id']}", json={"certificate": "PG"}, headers=staff.admin
    )
    assert by_admin.json()["certificate"] == "PG"
    assert (
        await client.patch(f"{API}/people/{person}", json={"bio": "Actor."}, headers=staff.owner_a)
    ).status_code == 200
    assert (
        await client.post(f"{API}/movies", json={"title": "X", "runtime_minutes": 90}, headers=staff.customer)
    ).status_code == 403


async def test_movie_with_genres_and_credits_detail(app: FastAPI, client: httpx.AsyncClient) -> None:
    staff = await make_staff(app)
    drama = await _genre(client, staff.admin, "Drama")
    lead = await _person(client, staff.owner_a, "Maya Costa")
    director = await _person(client, staff.owner_a, "Ivo Brandt")
    movie = await api_movie(
        client,
        staff.owner_a,
        title="The Lighthouse Keeper",
        genre_ids=[drama["id"]],
        release_date="2020-05-01",
        certificate="PG-13",
        credits=[
            {"person_id": director, "role": "director"},
            {"person_id": lead, "role": "actor", "character": "Ana", "billing_order": 1},
        ],
    )
    assert [g["name"] for g in movie["genres"]] == ["Drama"]
    assert [(c["person"]["name"], c["character"]) for c in movie["cast"]] == [("Maya Costa", "Ana")]
    assert [(c["person"]["name"], c["role"]) for c in movie["crew"]] == [("Ivo Brandt", "director")]
    assert movie["status"] == "not_showing"
    assert movie["created_by_id"] == staff.owner_a_id
    person = (await client.get(f"{API}/people/{lead}")).json()
    assert person["credits"] == [
        {"movie_id": movie["id"], "title": "The Lighthouse Keeper", "role": "actor", "character": "Ana"}
    ]
    # a credited person cannot be deleted
    refused = await client.delete(f"{API}/people/{lead}", headers=staff.admin)
    assert (refused.status_code, refused.json()["code"]) == (409, "person_has_credits")
    bad = [
        ({"genre_ids": [999999]}, "unknown_genre"),
        ({"credits": [{"person_id": 999999, "role": "actor"}]}, "unknown_person"),
        (
            {"credits": [{"person_id": lead, "role": "actor"}, {"person_id": lead, "role": "actor"}]},
            "duplicate_credit",
        ),
        ({"runtime_minutes": 0}, "invalid_runtime"),
        ({"runtime_minutes": 601}, "invalid_runtime"),
        ({"credits": [{"person_id": lead, "role": "gaffer"}]}, "validation_error"),
        ({"runtime_minutes": "long"}, "validation_error"),
        ({"poster_url": "not a url"}, "validation_error"),
        ({"title": ""}, "validation_error"),
        ({"rating": 5}, "validation_error"),
    ]
    for change, code in bad:
        answer = await client.post(
            f"{API}/movies", json={"title": "T", "runtime_minutes": 90, **change}, headers=staff.admin
        )
        assert (answer.status_code, answer.json()["code"]) == (422, code), change
    patch = await client.patch(
        f"{API}/movies/{movie['id']}", json={"runtime_minutes": 700}, headers=staff.admin
    )
    assert patch.json()["code"] == "invalid_runtime"
    assert (await client.get(f"{API}/movies/999999")).status_code == 404


async def test_movie_detail_groups_upcoming_showtimes_by_cinema_and_local_day(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    staff = await make_staff(app)
    sydney = await api_cinema(
        client, staff.owner_a, name="Harbour Cinema", city="Sydney", timezone="Australia/Sydney"
    )
    screen = await api_screen(client, staff.owner_a, sydney["id"])
    movie = await api_movie(client, staff.owner_a)
    day = (datetime.now(UTC) + timedelta(days=4)).date()
    # 09:00 and 20:00 Sydney time on `day` (the first is the previous day in UTC)
    base = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=11)
    for hour in (9, 20):
        await api_showtime(
            client,
            staff.owner_a,
            movie_id=movie["id"],
            screen_id=screen["id"],
            starts_at=(base + timedelta(hours=hour)).isoformat(),
        )
    detail = (await client.get(f"{API}/movies/{movie['id']}")).json()
    assert detail["status"] == "now_showing"
    [group] = detail["showtimes"]
    assert (group["cinema_name"], group["timezone"]) == ("Harbour Cinema", "Australia/Sydney")
    [only_day] = group["days"]
    assert only_day["date"] == day.isoformat()
    assert [s["starts_at_local"][11:16] for s in only_day["showtimes"]] == ["09:00", "20:00"]


async def test_movie_list_search_filters_sort_and_pagination(app: FastAPI, client: httpx.AsyncClient) -> None:
    staff = await make_staff(app)
    horror = await _genre(client, staff.admin, "Horror")
    comedy = await _genre(client, staff.admin, "Comedy")
    venue = await make_venue(client, staff)  # "Movie ..." now showing at owner A's cinema
    future = (datetime.now(UTC) + timedelta(days=60)).date().isoformat()
    await api_movie(
        client,
        staff.admin,
        title="Les Élèves",
        genre_ids=[comedy["id"]],
        original_language="fr",
        release_date="2019-01-01",
        runtime_minutes=80,
    )
    await api_movie(
        client,
        staff.admin,
        title="Zombie Summer",
        genre_ids=[horror["id"]],
        release_date=future,
        runtime_minutes=120,
    )
    await api_movie(client, staff.admin, title="100% Wolf", genre_ids=[horror["id"]], runtime_minutes=95)

    async def titles(**params: object) -> list[str]:
        answer = await client.get(f"{API}/movies", params=params)
        assert answer.status_code == 200, answer.text
        return [m["title"] for m in answer.json()["items"]]

    assert await titles(q="eleves") == ["Les Élèves"]
    assert await titles(q="ÉLÈ") == ["Les Élèves"]
    assert await titles(q="100%") == ["100% Wolf"]
    assert await titles(genre="horror") == ["100% Wolf", "Zombie Summer"]
    assert await titles(genre=str(comedy["id"])) == ["Les Élèves"]
    assert await titles(genre="western") == []
    assert await titles(status="coming_soon") == ["Zombie Summer"]
    assert await titles(status="now_showing") == [venue.movie["title"]]
    assert await titles(language="FR") == ["Les Élèves"]
    assert await titles(cinema_id=venue.cinema["id"]) == [venue.movie["title"]]
    showing_day = venue.showtime["starts_at_local"][:10]
    assert await titles(date=showing_day) == [venue.movie["title"]]
    assert await titles(sort="-runtime") == ["Zombie Summer", venue.movie["title"], "100% Wolf", "Les Élèves"]
    page = (await client.get(f"{API}/movies", params={"per_page": 3, "page": 2, "sort": "title"})).json()
    assert (page["total"], page["page"], len(page["items"])) == (4, 2, 1)
    for bad in (
        {"status": "archived"},
        {"sort": "rating"},
        {"per_page": 500},
        {"page": -1},
        {"date": "someday"},
        {"cinema_id": "x"},
    ):
        answer = await client.get(f"{API}/movies", params=bad)
        assert (answer.status_code, answer.json()["code"]) == (422, "validation_error"), bad


async def test_deleting_a_movie_without_sales_removes_its_showtimes(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    staff = await make_staff(app)
    venue = await make_venue(client, staff)
    # a seat held by a live hold counts as a booking
    async with transaction(app.state.sessionmaker) as session:
        await session.execute(
            update(ShowtimeSeat)
            .where(ShowtimeSeat.showtime_id == venue.showtime["id"])
            .values(status=SeatStatus.held, hold_expires_at=datetime.now(UTC) + timedelta(minutes=5))
        )
    held = await client.delete(f"{API}/movies/{venue.movie['id']}", headers=staff.owner_a)
    assert (held.status_code, held.json()["code"]) == (409, "has_bookings")
    async with transaction(app.state.sessionmaker) as session:
        await session.execute(
            update(ShowtimeSeat)
            .where(ShowtimeSeat.showtime_id == venue.showtime["id"])
            .values(status=SeatStatus.available)
        )
    assert (
        await client.delete(f"{API}/movies/{venue.movie['id']}", headers=staff.owner_a)
    ).status_code == 204
    assert (await client.get(f"{API}/showtimes/{venue.showtime['id']}")).status_code == 404


async def test_poster_is_generated_svg(app: FastAPI, client: httpx.AsyncClient) -> None:
    staff = await make_staff(app)
    movie = await api_movie(client, staff.admin, title="<script>alert(1)</script> & Co")
    answer = await client.get(f"{API}/movies/{movie['id']}/poster.svg")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("image/svg+xml")
    assert answer.text.startswith("<svg")
    assert "<script>" not in answer.text
    assert (await client.get(f"{API}/movies/999999/poster.svg")).status_code == 404


async def test_patch_replaces_genres_and_credits_and_status_follows_showtimes(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    staff = await make_staff(app)
    drama = await _genre(client, staff.admin, "Drama")
    horror = await _genre(client, staff.admin, "Horror")
    actor = await _person(client, staff.owner_a, "Rui Lopes")
    movie = await api_movie(client, staff.owner_a, genre_ids=[drama["id"]], release_date="2021-03-03")
    patched = await client.patch(
        f"{API}/movies/{movie['id']}",
        json={
            "genre_ids": [horror["id"]],
            "credits": [{"person_id": actor, "role": "actor", "character": "Rui"}],
        },
        headers=staff.owner_a,
    )
    assert [g["name"] for g in patched.json()["genres"]] == ["Horror"]
    assert [c["person"]["name"] for c in patched.json()["cast"]] == ["Rui Lopes"]
    ids = [
        m["id"] for m in (await client.get(f"{API}/movies", params={"status": "not_showing"})).json()["items"]
    ]
    assert ids == [movie["id"]]
    cinema = await api_cinema(client, staff.owner_a)
    screen = await api_screen(client, staff.owner_a, cinema["id"])
    await api_showtime(client, staff.owner_a, movie_id=movie["id"], screen_id=screen["id"])
    assert (await client.get(f"{API}/movies/{movie['id']}")).json()["status"] == "now_showing"
    assert (await client.get(f"{API}/movies", params={"status": "not_showing"})).json()["total"] == 0
    # deleting a genre takes it off its movies
    assert (await client.delete(f"{API}/genres/{horror['id']}", headers=staff.admin)).status_code == 204
    assert (await client.get(f"{API}/movies/{movie['id']}")).json()["genres"] == []
