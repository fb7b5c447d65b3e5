"""Who sees which booking: customers their own, owners their cinemas', admins all (also by email)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from boxoffice.accounts.models import Role
from tests.factories.booking import book_and_pay, hold, make_customer
from tests.factories.showtimes import make_showtime


async def test_every_role_on_search(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner_a = await make_customer(app, role=Role.owner)
    owner_b = await make_customer(app, role=Role.owner)
    admin = await make_customer(app, role=Role.admin)
    st_a = await make_showtime(app, rows=1, seats_per_row=4, owner_id=owner_a.user.id)
    st_b = await make_showtime(app, rows=1, seats_per_row=4, owner_id=owner_b.user.id)
    alice, bob = await make_customer(app), await make_customer(app)
    a = await book_and_pay(client, alice, st_a.showtime_id, st_a.seat_ids[:1])
    b = await hold(client, bob, st_b.showtime_id, st_b.seat_ids[:1])

    async def get(ref: str, who: dict[str, str]) -> int:
        return (await client.get(f"/api/v1/bookings/{ref}", headers=who)).status_code

    assert await get(a["reference"], alice.headers) == 200
    assert await get(a["reference"].lower(), alice.headers) == 200
    assert await get(a["reference"], bob.headers) == 404
    assert await get(a["reference"], owner_a.headers) == 200
    assert await get(a["reference"], owner_b.headers) == 404
    assert await get(a["reference"], admin.headers) == 200
    assert (await client.get(f"/api/v1/bookings/{a['reference']}")).status_code == 401
    assert await get("NOPE2345", alice.headers) == 404
    assert await get("bad ref!", alice.headers) == 422

    async def refs(who: dict[str, str], query: str = "") -> list[str]:
        response = await client.get(f"/api/v1/bookings{query}", headers=who)
        assert response.status_code == 200, response.text
        return sorted(i["reference"] for i in response.json()["items"])

    assert await refs(alice.headers) == [a["reference"]]
    assert await refs(bob.headers) == [b["reference"]]
    assert await refs(owner_a.headers) == [a["reference"]]
    assert await refs(owner_b.headers) == [b["reference"]]
    assert await refs(admin.headers) == sorted([a["reference"], b["reference"]])
    assert await refs(admin.headers, f"?email={bob.user.email.upper()}") == [b["reference"]]
    assert await refs(admin.headers, f"?reference={a['reference']}") == [a["reference"]]
    assert await refs(admin.headers, "?status=held") == [b["reference"]]
    assert await refs(admin.headers, f"?showtime_id={st_a.showtime_id}") == [a["reference"]]
    assert await refs(alice.headers, f"?email={bob.user.email}") == [a["reference"]]  # email is admin-only
    assert await refs(owner_a.headers, f"?reference={b['reference']}") == []
    bad = await client.get("/api/v1/bookings?status=nonsense", headers=admin.headers)
    assert bad.status_code == 422
    staff_view = (await client.get(f"/api/v1/bookings/{a['reference']}", headers=owner_a.headers)).json()
    assert staff_view["customer_email"] == alice.user.email
    mine = (await client.get("/api/v1/me/bookings", headers=admin.headers)).json()
    assert mine["items"] == []


async def test_account_export_includes_bookings(app: FastAPI, client: httpx.AsyncClient) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    alice, bob = await make_customer(app), await make_customer(app)
    mine = await book_and_pay(client, alice, st.showtime_id, st.seat_ids[:2])
    await hold(client, bob, st.showtime_id, st.seat_ids[2:3])
    response = await client.get("/api/v1/me/export", headers=alice.headers)
    assert response.status_code == 200, response.text
    section = response.json()["sections"]["bookings"]
    assert [b["reference"] for b in section] == [mine["reference"]]
    assert section[0]["payments"][0]["card_last4"] == "4242"
    assert "4242424242424242" not in response.text
