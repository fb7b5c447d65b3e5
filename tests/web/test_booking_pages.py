"""Moviegoer pages over HTTP: home, movie, cinema, seat map, checkout (declined, paid), tickets, cancel."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from boxoffice.db import transaction
from boxoffice.kit.clock import utc_now
from boxoffice.showtimes.models import Showtime
from tests.factories.accounts import make_user
from tests.factories.booking import drain_refunds
from tests.factories.showtimes import make_showtime
from tests.web.support import csrf_from, page_login, session_of

DECLINED = "4000 0000 0000 0002"
GOOD = "4242 4242 4242 4242"


async def test_public_pages_list_the_showtime(app: FastAPI, client: httpx.AsyncClient) -> None:
    built = await make_showtime(app, rows=3, seats_per_row=4)
    home = await client.get("/")
    assert home.status_code == 200
    assert "Test Movie" in home.text
    assert f"/movies/{built.movie_id}" in home.text
    searched = await client.get("/", params={"q": "no such title"})
    assert "Test Movie" not in searched.text
    movie = await client.get(f"/movies/{built.movie_id}")
    assert movie.status_code == 200
    assert f"/showtimes/{built.showtime_id}" in movie.text
    cinemas = await client.get("/cinemas")
    assert f"/cinemas/{built.cinema_id}" in cinemas.text
    missing = await client.get("/movies/999999")
    assert missing.status_code == 404
    assert "Page not found" in missing.text
    bad = await client.get("/", params={"date": "not-a-date"})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("text/html")


async def test_seat_map_page_shows_every_seat_with_labels(app: FastAPI, client: httpx.AsyncClient) -> None:
    built = await make_showtime(app, rows=3, seats_per_row=4)
    page = await client.get(f"/showtimes/{built.showtime_id}")
    assert page.status_code == 200
    seats = re.findall(r'data-seat-id="(\d+)"', page.text)
    assert sorted(int(s) for s in seats) == sorted(built.seat_ids)
    assert 'aria-label="Row A, seat 1, Standard, €12.00, available"' in page.text
    assert "SCREEN" in page.text
    assert "/static/js/seatmap.js" in page.text


async def test_checkout_declined_then_paid_then_cancelled(app: FastAPI, client: httpx.AsyncClient) -> None:
    built = await make_showtime(app, rows=3, seats_per_row=4)
    user = await make_user(app)
    await page_login(client, user.email)
    csrf = session_of(app, client).csrf
    # The seat map's JS holds seats through the JSON API with the page cookie and the CSRF header.
    held = await client.post(
        "/api/v1/bookings",
        json={"showtime_id": built.showtime_id, "seat_ids": built.seat_ids[:2]},
        headers={"X-CSRF-Token": csrf},
    )
    assert held.status_code == 201, held.text
    reference = held.json()["reference"]

    checkout = await client.get(f"/bookings/{reference}/checkout")
    assert checkout.status_code == 200
    assert 'id="countdown"' in checkout.text
    assert "€24.00" in checkout.text
    token = csrf_from(checkout.text)

    declined = await client.post(
        f"/bookings/{reference}/pay", data={"card_number": DECLINED, "csrf_token": token}
    )
    assert declined.status_code == 402
    assert "declined" in declined.text.lower()
    assert "stay held" in declined.text

    paid = await client.post(f"/bookings/{reference}/pay", data={"card_number": GOOD, "csrf_token": token})
    assert paid.status_code == 303, paid.text
    detail = await client.get(paid.headers["location"])
    assert detail.status_code == 200
    assert "Your tickets" in detail.text
    assert detail.text.count('src="data:image/svg+xml;base64,') == 2
    assert f"/api/v1/bookings/{reference}/tickets.pdf" in detail.text
    quote = re.search(r"Cancelling now refunds <strong>([^<]+)</strong>", detail.text)
    assert quote

    mine = await client.get("/my/bookings")
    assert reference in mine.text

    cancelled = await client.post(
        f"/bookings/{reference}/cancel", data={"csrf_token": csrf_from(detail.text)}
    )
    assert cancelled.status_code == 303
    after = await client.get(cancelled.headers["location"])
    assert "refunded" in after.text
    assert quote.group(1) in after.text
    assert f"{quote.group(1)}: on its way to your card" in after.text
    assert "card ending 4242" in after.text
    assert await drain_refunds(app) == 1
    sent = await client.get(cancelled.headers["location"])
    assert f"{quote.group(1)}: refunded to your card" in sent.text


async def test_someone_elses_booking_is_404(app: FastAPI, client: httpx.AsyncClient) -> None:
    built = await make_showtime(app, rows=2, seats_per_row=2)
    owner_of_booking = await make_user(app)
    await page_login(client, owner_of_booking.email)
    held = await client.post(
        "/api/v1/bookings",
        json={"showtime_id": built.showtime_id, "seat_ids": built.seat_ids[:1]},
        headers={"X-CSRF-Token": session_of(app, client).csrf},
    )
    reference = held.json()["reference"]
    other = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with other:
        stranger = await make_user(app)
        await page_login(other, stranger.email)
        assert (await other.get(f"/bookings/{reference}")).status_code == 404
        assert (await other.get(f"/bookings/{reference}/checkout")).status_code == 404
        changing = await other.get(f"/showtimes/{built.showtime_id}", params={"change": reference})
        assert changing.status_code == 404
    mine = await client.get(f"/showtimes/{built.showtime_id}", params={"change": reference})
    assert mine.status_code == 200
    assert f'data-change="{reference}"' in mine.text


async def test_out_of_range_ids_are_friendly_pages(client: httpx.AsyncClient) -> None:
    for path in ("/movies/99999999999", "/cinemas/99999999999", "/showtimes/99999999999", "/movies/0"):
        response = await client.get(path)
        assert response.status_code == 422, path
        assert response.headers["content-type"].startswith("text/html")
    assert (await client.get("/bookings/NOPE")).status_code == 303  # sign in first


async def test_paying_after_sales_closed_is_a_page_not_a_500(app: FastAPI, client: httpx.AsyncClient) -> None:
    """The pay flow refuses a late payment (409 sales_closed) before any charge; the page explains it."""
    built = await make_showtime(app, rows=1, seats_per_row=4)
    user = await make_user(app)
    await page_login(client, user.email)
    held = await client.post(
        "/api/v1/bookings",
        json={"showtime_id": built.showtime_id, "seat_ids": built.seat_ids[:1]},
        headers={"X-CSRF-Token": session_of(app, client).csrf},
    )
    reference = held.json()["reference"]
    token = csrf_from((await client.get(f"/bookings/{reference}/checkout")).text)
    async with transaction(app.state.sessionmaker) as session:
        await session.execute(
            update(Showtime).where(Showtime.id == built.showtime_id).values(sales_close_at=utc_now())
        )
    late = await client.post(f"/bookings/{reference}/pay", data={"card_number": GOOD, "csrf_token": token})
    assert late.status_code == 409, late.text[:500]
    assert "Sales for this showtime have closed." in late.text
