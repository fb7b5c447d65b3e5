"""Back office edit and delete pages over HTTP: movies (creator or admin) and screens (layout lock)."""

from __future__ import annotations

import html

import httpx
from fastapi import FastAPI

from boxoffice.accounts.models import Role
from boxoffice.catalog.models import Credit, CreditRole, Genre, Movie, Person
from boxoffice.db import transaction
from tests.factories.accounts import auth_headers, make_user
from tests.factories.showtimes import make_showtime
from tests.web.support import page_login, post_form


async def _movie_by(app: FastAPI, creator_id: int) -> int:
    async with transaction(app.state.sessionmaker) as session:
        movie = Movie(
            title="Owned Film", title_search="owned film", runtime_minutes=90, created_by_id=creator_id
        )
        session.add(movie)
        await session.flush()
        return movie.id


async def test_creator_edits_and_deletes_own_movie(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await make_user(app, role=Role.owner)
    movie_id = await _movie_by(app, owner.id)
    await page_login(client, owner.email)
    listing = await client.get("/backoffice/movies")
    assert f"/backoffice/movies/{movie_id}/edit" in listing.text
    page = f"/backoffice/movies/{movie_id}/edit"
    form = await client.get(page)
    assert form.status_code == 200
    assert 'value="Owned Film"' in form.text
    bad = await post_form(client, page, {"title": "Owned Film", "runtime_minutes": "9000"}, page=page)
    assert bad.status_code == 422
    saved = await post_form(
        client, page, {"title": "Owned Film: Director's Cut", "runtime_minutes": "121"}, page=page
    )
    assert saved.status_code == 303, saved.text
    assert "saved." in html.unescape((await client.get(saved.headers["location"])).text)
    api = (await client.get(f"/api/v1/movies/{movie_id}")).json()
    assert (api["title"], api["runtime_minutes"]) == ("Owned Film: Director's Cut", 121)

    confirm = f"/backoffice/movies/{movie_id}/delete"
    assert "Are you sure?" in (await client.get(confirm)).text
    gone = await post_form(client, confirm, {}, page=confirm)
    assert gone.status_code == 303
    assert (await client.get(f"/api/v1/movies/{movie_id}")).status_code == 404


async def test_other_owner_gets_404_on_movie_and_screen(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await make_user(app, role=Role.owner)
    other = await make_user(app, role=Role.owner)
    movie_id = await _movie_by(app, other.id)
    theirs = await make_showtime(app, rows=1, seats_per_row=2, owner_id=other.id)
    await page_login(client, owner.email)
    listing = await client.get("/backoffice/movies")
    assert f"/backoffice/movies/{movie_id}/edit" not in listing.text
    for path in (
        f"/backoffice/movies/{movie_id}/edit",
        f"/backoffice/movies/{movie_id}/delete",
        f"/backoffice/screens/{theirs.screen_id}/edit",
        f"/backoffice/screens/{theirs.screen_id}/delete",
    ):
        assert (await client.get(path)).status_code == 404, path
        posted = await post_form(
            client,
            path,
            {"title": "Mine", "runtime_minutes": "90", "name": "Mine", "layout": "AA"},
            page="/backoffice/movies",
        )
        assert posted.status_code == 404, path
    assert (await client.get(f"/api/v1/movies/{movie_id}")).json()["title"] == "Owned Film"


async def test_admin_edits_any_movie(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await make_user(app, role=Role.admin)
    owner = await make_user(app, role=Role.owner)
    movie_id = await _movie_by(app, owner.id)
    await page_login(client, admin.email)
    page = f"/backoffice/movies/{movie_id}/edit"
    saved = await post_form(client, page, {"title": "Admin Title", "runtime_minutes": "80"}, page=page)
    assert saved.status_code == 303, saved.text
    assert (await client.get(f"/api/v1/movies/{movie_id}")).json()["title"] == "Admin Title"


async def test_screen_layout_locked_once_it_has_showtimes(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await make_user(app, role=Role.owner)
    built = await make_showtime(app, rows=1, seats_per_row=2, owner_id=owner.id)
    await page_login(client, owner.email)
    page = f"/backoffice/screens/{built.screen_id}/edit"
    form = await client.get(page)
    assert form.status_code == 200
    assert 'value="Screen 1"' in form.text
    renamed = await post_form(
        client, page, {"name": "Sala Grande", "layout": "AA", "formats": "2D"}, page=page
    )
    assert renamed.status_code == 303, renamed.text
    assert "Screen Sala Grande saved" in (await client.get(renamed.headers["location"])).text
    relaid = await post_form(client, page, {"name": "Sala Grande", "layout": "AAAA\nAAAA"}, page=page)
    assert relaid.status_code == 409
    assert "its layout can no longer change" in html.unescape(relaid.text)


async def test_screen_without_showtimes_gets_new_layout_then_delete(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await make_user(app, role=Role.owner)
    built = await make_showtime(app, rows=1, seats_per_row=2, owner_id=owner.id)
    await page_login(client, owner.email)
    confirm = f"/backoffice/showtimes/{built.showtime_id}/delete"
    assert (await post_form(client, confirm, {}, page=confirm)).status_code == 303
    page = f"/backoffice/screens/{built.screen_id}/edit"
    relaid = await post_form(client, page, {"name": "Screen 1", "layout": "AAAA\nPPPP"}, page=page)
    assert relaid.status_code == 303, relaid.text
    assert "(8 seats)" in (await client.get(relaid.headers["location"])).text
    delete = f"/backoffice/screens/{built.screen_id}/delete"
    gone = await post_form(client, delete, {}, page=delete)
    assert gone.status_code == 303
    assert "Screen Screen 1 deleted." in (await client.get(gone.headers["location"])).text


async def test_screen_with_sold_seats_cannot_be_deleted(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await make_user(app, role=Role.owner)
    built = await make_showtime(app, rows=1, seats_per_row=2, owner_id=owner.id)
    buyer = await make_user(app)
    held = await client.post(
        "/api/v1/bookings",
        json={"showtime_id": built.showtime_id, "seat_ids": built.seat_ids[:1]},
        headers=auth_headers(app, buyer),
    )
    assert held.status_code == 201, held.text
    await page_login(client, owner.email)
    delete = f"/backoffice/screens/{built.screen_id}/delete"
    refused = await post_form(client, delete, {}, page=delete)
    assert refused.status_code == 303
    after = await client.get(refused.headers["location"])
    assert "cannot be deleted because tickets were sold" in html.unescape(after.text)


async def _person_by(app: FastAPI, creator_id: int, *, credited_on: int | None = None) -> int:
    async with transaction(app.state.sessionmaker) as session:
        person = Person(name="Pat Page", name_search="pat page", created_by_id=creator_id)
        session.add(person)
        await session.flush()
        if credited_on is not None:
            session.add(Credit(movie_id=credited_on, person_id=person.id, role=CreditRole.director))
            await session.flush()
        return person.id


async def test_person_edit_scoping_and_credit_guard(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await make_user(app, role=Role.owner)
    other = await make_user(app, role=Role.owner)
    movie_id = await _movie_by(app, owner.id)
    mine = await _person_by(app, owner.id, credited_on=movie_id)
    theirs = await _person_by(app, other.id)
    await page_login(client, owner.email)
    assert (await client.get(f"/backoffice/people/{theirs}/edit")).status_code == 404
    refused_other = await post_form(
        client, f"/backoffice/people/{theirs}/delete", {}, page="/backoffice/movies"
    )
    assert refused_other.status_code == 404
    page = f"/backoffice/people/{mine}/edit"
    assert 'value="Pat Page"' in (await client.get(page)).text
    saved = await post_form(client, page, {"name": "Pat Renamed", "bio": "Directs."}, page=page)
    assert saved.status_code == 303, saved.text
    assert "Pat Renamed saved." in (await client.get(saved.headers["location"])).text
    assert (await client.get(f"/api/v1/people/{mine}")).json()["name"] == "Pat Renamed"
    delete = f"/backoffice/people/{mine}/delete"
    refused = await post_form(client, delete, {}, page=delete)
    assert refused.status_code == 303
    assert "credited on movies" in (await client.get(refused.headers["location"])).text
    assert (await client.get(f"/api/v1/people/{mine}")).status_code == 200


async def test_admin_renames_and_deletes_genre_owner_cannot(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await make_user(app, role=Role.admin)
    owner = await make_user(app, role=Role.owner)
    async with transaction(app.state.sessionmaker) as session:
        genre = Genre(name="Noir Page", slug="noir-page")
        session.add(genre)
        await session.flush()
        genre_id = genre.id
    await page_login(client, owner.email)
    assert (await client.get(f"/backoffice/genres/{genre_id}/edit")).status_code == 403
    client.cookies.clear()
    await page_login(client, admin.email)
    page = f"/backoffice/genres/{genre_id}/edit"
    saved = await post_form(client, page, {"name": "Neo Noir"}, page=page)
    assert saved.status_code == 303, saved.text
    assert "Genre Neo Noir saved." in (await client.get(saved.headers["location"])).text
    delete = f"/backoffice/genres/{genre_id}/delete"
    gone = await post_form(client, delete, {}, page=delete)
    assert gone.status_code == 303
    assert "Genre Neo Noir deleted." in (await client.get(gone.headers["location"])).text
