"""Back office management over HTTP: cinema, screen from a layout (with preview), showtimes and clashes."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from fastapi import FastAPI

from boxoffice.accounts.models import Role
from boxoffice.kit.clock import utc_now
from tests.factories.accounts import auth_headers, make_user
from tests.factories.showtimes import make_showtime
from tests.web.support import page_login, post_form


async def test_owner_adds_cinema_screen_and_showtime(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await make_user(app, role=Role.owner)
    built = await make_showtime(app, rows=1, seats_per_row=2)  # brings a movie to schedule
    await page_login(client, owner.email)
    added = await post_form(
        client,
        "/backoffice/cinemas",
        {"name": "Cine Nova", "city": "Braga", "timezone": "Europe/Lisbon", "address": "Rua 1"},
    )
    assert added.status_code == 303, added.text
    form_url = added.headers["location"]
    cinema_id = int(re.search(r"/cinemas/(\d+)/", form_url).group(1))  # type: ignore[union-attr]

    bad = await post_form(
        client,
        f"/backoffice/cinemas/{cinema_id}/screens",
        {"name": "Sala 1", "layout": "AAXA"},
        page=form_url,
    )
    assert bad.status_code == 422
    assert "unknown seat letter" in bad.text

    made = await post_form(
        client,
        f"/backoffice/cinemas/{cinema_id}/screens",
        {"name": "Sala 1", "layout": "__AAAA__\nAAAAAAAA\nWC_AA_CW", "formats": "2D, 3D"},
        page=form_url,
    )
    assert made.status_code == 303, made.text
    page = await client.get(made.headers["location"])
    assert page.status_code == 200
    assert "<svg" in page.text
    screen_id = re.search(r'<option value="(\d+)">Sala 1', page.text).group(1)  # type: ignore[union-attr]

    day = (utc_now() + timedelta(days=2)).date().isoformat()
    fields = {
        "cinema_id": str(cinema_id),
        "movie_id": str(built.movie_id),
        "screen_id": screen_id,
        "date": day,
        "time": "20:00",
        "format": "2D",
        "price_standard": "9.50",
        "price_wheelchair": "9.50",
        "price_companion": "9.50",
    }
    scheduled = await post_form(client, "/backoffice/showtimes", fields, page=made.headers["location"])
    assert scheduled.status_code == 303, scheduled.text
    timeline = await client.get(scheduled.headers["location"])
    assert "Test Movie" in timeline.text
    assert 'class="slot"' in timeline.text

    clash = await post_form(
        client, "/backoffice/showtimes", {**fields, "time": "20:30"}, page=made.headers["location"]
    )
    assert clash.status_code == 409
    assert 'class="slot clash"' in clash.text
    assert "busy" in clash.text

    public = await client.get(f"/cinemas/{cinema_id}", params={"date": day})
    assert "Test Movie" in public.text


async def test_owner_cannot_touch_another_owners_cinema(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await make_user(app, role=Role.owner)
    other = await make_user(app, role=Role.owner)
    theirs = await make_showtime(app, rows=1, seats_per_row=2, owner_id=other.id)
    await page_login(client, owner.email)
    assert (await client.get(f"/backoffice/cinemas/{theirs.cinema_id}/screens/new")).status_code == 404
    assert (
        await client.get("/backoffice/showtimes", params={"cinema_id": theirs.cinema_id})
    ).status_code == 404
    cinemas = await client.get("/backoffice/cinemas")
    assert "Test Cinema" not in cinemas.text


async def test_owner_cancels_a_showtime_and_buyers_are_refunded(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await make_user(app, role=Role.owner)
    built = await make_showtime(app, rows=1, seats_per_row=4, owner_id=owner.id)
    buyer = await make_user(app)
    headers = auth_headers(app, buyer)
    held = await client.post(
        "/api/v1/bookings",
        json={"showtime_id": built.showtime_id, "seat_ids": built.seat_ids[:2]},
        headers=headers,
    )
    reference = held.json()["reference"]
    paid = await client.post(
        f"/api/v1/bookings/{reference}/pay", json={"card_number": "4242 4242 4242 4242"}, headers=headers
    )
    assert paid.status_code == 200
    await page_login(client, owner.email)
    page = f"/backoffice/showtimes?cinema_id={built.cinema_id}&date={(utc_now() + timedelta(days=2)).date()}"
    listed = await client.get(page)
    assert f"/backoffice/showtimes/{built.showtime_id}/cancel" in listed.text
    done = await post_form(client, f"/backoffice/showtimes/{built.showtime_id}/cancel", {}, page=page)
    assert done.status_code == 303
    after = await client.get(done.headers["location"])
    assert "1 booking(s) refunded (€24.00)" in after.text
    booking = (await client.get(f"/api/v1/bookings/{reference}", headers=headers)).json()
    assert booking["status"] == "refunded"
