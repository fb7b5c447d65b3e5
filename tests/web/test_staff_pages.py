"""Back office staff pages over HTTP: booking search, check-in at the door, catalogue, users, audit log."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI

from boxoffice.accounts.models import Role
from tests.factories.accounts import auth_headers, make_user
from tests.factories.showtimes import make_showtime
from tests.web.support import page_login, post_form

GOOD = "4242 4242 4242 4242"


async def _paid_booking(
    app: FastAPI, client: httpx.AsyncClient, showtime_id: int, seat_ids: list[int]
) -> dict:
    customer = await make_user(app, email=f"fan-{showtime_id}-{seat_ids[0]}@example.com")
    headers = auth_headers(app, customer)
    held = await client.post(
        "/api/v1/bookings", json={"showtime_id": showtime_id, "seat_ids": seat_ids}, headers=headers
    )
    assert held.status_code == 201, held.text
    reference = held.json()["reference"]
    paid = await client.post(f"/api/v1/bookings/{reference}/pay", json={"card_number": GOOD}, headers=headers)
    assert paid.status_code == 200, paid.text
    return {"reference": reference, "email": customer.email, "booking": paid.json()}


async def test_owner_finds_a_booking_and_admits_its_ticket(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await make_user(app, role=Role.owner)
    built = await make_showtime(
        app, rows=1, seats_per_row=4, owner_id=owner.id, starts_in=timedelta(minutes=30)
    )
    sold = await _paid_booking(app, client, built.showtime_id, built.seat_ids[:1])
    code = sold["booking"]["tickets"][0]["code"]
    await page_login(client, owner.email)

    found = await client.get("/backoffice/bookings", params={"q": sold["reference"]})
    assert found.status_code == 200
    assert sold["reference"] in found.text
    assert sold["email"] in found.text

    admitted = await post_form(client, "/backoffice/checkin", {"code": code})
    assert admitted.status_code == 200
    assert "Admitted:" in admitted.text
    assert "seat A1" in admitted.text
    again = await post_form(client, "/backoffice/checkin", {"code": code})
    assert again.status_code == 409
    assert "already admitted" in again.text
    forged = await post_form(client, "/backoffice/checkin", {"code": code[:-4] + "AAAA"})
    assert forged.status_code == 404


async def test_staff_cancel_from_the_booking_page_refunds_in_full(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await make_user(app, role=Role.admin)
    built = await make_showtime(app, rows=1, seats_per_row=4)
    sold = await _paid_booking(app, client, built.showtime_id, built.seat_ids[:2])
    await page_login(client, admin.email)
    page = await client.get(f"/bookings/{sold['reference']}")
    assert page.status_code == 200
    assert "€24.00" in page.text  # staff cancellations refund everything
    done = await post_form(
        client, f"/bookings/{sold['reference']}/cancel", {}, page=f"/bookings/{sold['reference']}"
    )
    assert done.status_code == 303
    after = await client.get(done.headers["location"])
    assert "€24.00 is on its way back" in after.text


async def test_catalogue_users_and_audit_pages(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await make_user(app, role=Role.admin)
    customer = await make_user(app)
    await page_login(client, admin.email)
    added = await post_form(client, "/backoffice/genres", {"name": "Film Noir"}, page="/backoffice/movies")
    assert added.status_code == 303
    movies = await client.get("/backoffice/movies")
    assert "Film Noir" in movies.text
    made = await post_form(
        client,
        "/backoffice/movies",
        {"title": "The Long Night", "runtime_minutes": "95", "synopsis": "Rain, mostly."},
        page="/backoffice/movies",
    )
    assert made.status_code == 303
    assert "The Long Night" in (await client.get("/backoffice/movies")).text
    bad = await post_form(
        client, "/backoffice/movies", {"title": "", "runtime_minutes": "abc"}, page="/backoffice/movies"
    )
    assert bad.status_code == 303
    assert "flash-error" in (await client.get("/backoffice/movies")).text

    users = await client.get("/backoffice/users", params={"q": customer.email})
    assert customer.email in users.text
    promoted = await post_form(
        client,
        f"/backoffice/users/{customer.id}",
        {"role": "owner", "is_active": "on"},
        page="/backoffice/users",
    )
    assert promoted.status_code == 303
    audit = await client.get("/backoffice/audit")
    assert audit.status_code == 200
    assert "account.login_succeeded" in audit.text


async def test_owners_do_not_see_admin_pages(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await make_user(app, role=Role.owner)
    await page_login(client, owner.email)
    assert (await client.get("/backoffice/users")).status_code == 403
    assert (await client.get("/backoffice/audit")).status_code == 403
    refused = await post_form(client, "/backoffice/genres", {"name": "Nope"}, page="/backoffice/movies")
    assert refused.status_code == 403
