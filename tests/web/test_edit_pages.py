"""Back office edit and delete pages over HTTP: cinemas and showtimes, owner scoping, has_bookings."""

from __future__ import annotations

import html
from datetime import timedelta

import httpx
from fastapi import FastAPI

from boxoffice.accounts.models import Role
from boxoffice.kit.clock import utc_now
from tests.factories.accounts import auth_headers, make_user
from tests.factories.showtimes import BuiltShowtime, make_showtime
from tests.web.support import page_login, post_form


async def _sell(app: FastAPI, client: httpx.AsyncClient, built: BuiltShowtime) -> str:
    buyer = await make_user(app)
    headers = auth_headers(app, buyer)
    held = await client.post(
        "/api/v1/bookings",
        json={"showtime_id": built.showtime_id, "seat_ids": built.seat_ids[:1]},
        headers=headers,
    )
    assert held.status_code == 201, held.text
    reference = str(held.json()["reference"])
    paid = await client.post(
        f"/api/v1/bookings/{reference}/pay", json={"card_number": "4242 4242 4242 4242"}, headers=headers
    )
    assert paid.status_code == 200, paid.text
    return reference


async def test_owner_edits_own_cinema(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await make_user(app, role=Role.owner)
    built = await make_showtime(app, rows=1, seats_per_row=2, owner_id=owner.id)
    await page_login(client, owner.email)
    listing = await client.get("/backoffice/cinemas")
    assert f"/backoffice/cinemas/{built.cinema_id}/edit" in listing.text
    page = f"/backoffice/cinemas/{built.cinema_id}/edit"
    form = await client.get(page)
    assert form.status_code == 200
    assert 'value="Test Cinema"' in form.text
    assert 'value="Europe/Lisbon"' in form.text

    bad = await post_form(
        client, page, {"name": "Cine Nova", "city": "Porto", "timezone": "Mars/Olympus"}, page=page
    )
    assert bad.status_code == 422, bad.text
    assert 'value="Mars/Olympus"' in bad.text

    saved = await post_form(
        client,
        page,
        {"name": "Cine Nova", "city": "Porto", "timezone": "Europe/Lisbon", "cleaning_minutes": "20"},
        page=page,
    )
    assert saved.status_code == 303, saved.text
    after = await client.get(saved.headers["location"])
    assert "Cinema Cine Nova saved." in after.text
    api = (await client.get(f"/api/v1/cinemas/{built.cinema_id}")).json()
    assert (api["name"], api["city"], api["cleaning_minutes"]) == ("Cine Nova", "Porto", 20)


async def test_owner_edits_showtime_language_and_time(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await make_user(app, role=Role.owner)
    built = await make_showtime(app, rows=1, seats_per_row=2, owner_id=owner.id)
    await page_login(client, owner.email)
    page = f"/backoffice/showtimes/{built.showtime_id}/edit"
    form = await client.get(page)
    assert form.status_code == 200
    assert 'name="price_standard"' in form.text
    day = (utc_now() + timedelta(days=5)).date().isoformat()
    saved = await post_form(
        client,
        page,
        {
            "date": day,
            "time": "21:15",
            "format": "2D",
            "language": "fr",
            "subtitles": "en",
            "price_standard": "7.50",
        },
        page=page,
    )
    assert saved.status_code == 303, saved.text
    assert f"date={day}" in saved.headers["location"]
    after = await client.get(saved.headers["location"])
    assert "saved." in after.text
    api = (await client.get(f"/api/v1/showtimes/{built.showtime_id}")).json()
    assert api["language"] == "fr"
    assert api["prices"]["standard"]["amount"] == 750
    assert api["starts_at_local"].startswith(f"{day}T21:15")
    assert api["subtitles"] == "en"
    cleared = await post_form(client, page, {"date": day, "time": "21:15", "subtitles": ""}, page=page)
    assert cleared.status_code == 303, cleared.text
    assert (await client.get(f"/api/v1/showtimes/{built.showtime_id}")).json()["subtitles"] is None


async def test_sold_showtime_cannot_move_but_can_change_language(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await make_user(app, role=Role.owner)
    built = await make_showtime(app, rows=1, seats_per_row=2, owner_id=owner.id)
    await _sell(app, client, built)
    await page_login(client, owner.email)
    page = f"/backoffice/showtimes/{built.showtime_id}/edit"
    prefilled = await client.get(page)
    date_value = prefilled.text.split('name="date" type="date" required value="')[1].split('"')[0]
    time_value = prefilled.text.split('name="time" type="time" required value="')[1].split('"')[0]
    same_time = await post_form(
        client, page, {"date": date_value, "time": time_value, "language": "de"}, page=page
    )
    assert same_time.status_code == 303, same_time.text
    assert (await client.get(f"/api/v1/showtimes/{built.showtime_id}")).json()["language"] == "de"
    moved = await post_form(client, page, {"date": date_value, "time": "03:00", "language": "de"}, page=page)
    assert moved.status_code == 409
    assert "cannot move" in html.unescape(moved.text)


async def test_another_owner_gets_404(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await make_user(app, role=Role.owner)
    other = await make_user(app, role=Role.owner)
    theirs = await make_showtime(app, rows=1, seats_per_row=2, owner_id=other.id)
    await page_login(client, owner.email)
    token_page = "/backoffice/cinemas"
    for path in (
        f"/backoffice/cinemas/{theirs.cinema_id}/edit",
        f"/backoffice/cinemas/{theirs.cinema_id}/delete",
        f"/backoffice/showtimes/{theirs.showtime_id}/edit",
        f"/backoffice/showtimes/{theirs.showtime_id}/delete",
    ):
        assert (await client.get(path)).status_code == 404, path
        posted = await post_form(
            client, path, {"name": "Mine", "city": "X", "timezone": "UTC", "language": "fr"}, page=token_page
        )
        assert posted.status_code == 404, path
    api = (await client.get(f"/api/v1/cinemas/{theirs.cinema_id}")).json()
    assert api["name"] == "Test Cinema"
    assert (await client.get(f"/api/v1/showtimes/{theirs.showtime_id}")).status_code == 200


async def test_admin_edits_any_cinema(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await make_user(app, role=Role.admin)
    owner = await make_user(app, role=Role.owner)
    built = await make_showtime(app, rows=1, seats_per_row=2, owner_id=owner.id)
    await page_login(client, admin.email)
    page = f"/backoffice/cinemas/{built.cinema_id}/edit"
    saved = await post_form(
        client, page, {"name": "Admin Cut", "city": "Lisbon", "timezone": "Europe/Lisbon"}, page=page
    )
    assert saved.status_code == 303, saved.text
    assert (await client.get(f"/api/v1/cinemas/{built.cinema_id}")).json()["name"] == "Admin Cut"


async def test_delete_showtime_with_sold_booking_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await make_user(app, role=Role.owner)
    built = await make_showtime(app, rows=1, seats_per_row=2, owner_id=owner.id)
    await _sell(app, client, built)
    await page_login(client, owner.email)
    confirm = f"/backoffice/showtimes/{built.showtime_id}/delete"
    asked = await client.get(confirm)
    assert asked.status_code == 200
    assert "Are you sure?" in asked.text
    refused = await post_form(client, confirm, {}, page=confirm)
    assert refused.status_code == 303
    after = await client.get(refused.headers["location"])
    assert "cannot be deleted because tickets were sold" in html.unescape(after.text)
    assert (await client.get(f"/api/v1/showtimes/{built.showtime_id}")).status_code == 200

    cinema_confirm = f"/backoffice/cinemas/{built.cinema_id}/delete"
    refused_cinema = await post_form(client, cinema_confirm, {}, page=cinema_confirm)
    assert refused_cinema.status_code == 303
    listing = await client.get(refused_cinema.headers["location"])
    assert "cannot be deleted because tickets were sold" in html.unescape(listing.text)
    assert (await client.get(f"/api/v1/cinemas/{built.cinema_id}")).status_code == 200


async def test_owner_deletes_unsold_showtime_then_cinema(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await make_user(app, role=Role.owner)
    built = await make_showtime(app, rows=1, seats_per_row=2, owner_id=owner.id)
    await page_login(client, owner.email)
    confirm = f"/backoffice/showtimes/{built.showtime_id}/delete"
    done = await post_form(client, confirm, {}, page=confirm)
    assert done.status_code == 303
    assert "Showtime of Test Movie deleted." in (await client.get(done.headers["location"])).text
    assert (await client.get(f"/api/v1/showtimes/{built.showtime_id}")).status_code == 404

    cinema_confirm = f"/backoffice/cinemas/{built.cinema_id}/delete"
    gone = await post_form(client, cinema_confirm, {}, page=cinema_confirm)
    assert gone.status_code == 303
    assert "Cinema Test Cinema deleted." in (await client.get(gone.headers["location"])).text
    assert (await client.get(f"/api/v1/cinemas/{built.cinema_id}")).status_code == 404
