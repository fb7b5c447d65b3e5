"""GET /analytics/summary: figures computed from sold seats, scoped to the caller's cinemas."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from boxoffice.accounts.models import Role
from boxoffice.db import transaction
from boxoffice.kit.clock import utc_now
from boxoffice.showtimes.models import SeatStatus, ShowtimeSeat
from tests.factories.accounts import auth_headers, make_user
from tests.factories.showtimes import make_showtime

URL = "/api/v1/analytics/summary"


async def _set_status(app: FastAPI, seat_ids: list[int], status: SeatStatus, **values: object) -> None:
    async with transaction(app.state.sessionmaker) as session:
        await session.execute(
            update(ShowtimeSeat).where(ShowtimeSeat.seat_id.in_(seat_ids)).values(status=status, **values)
        )


async def test_figures_add_up_per_day_movie_and_showtime(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await make_user(app, role=Role.admin)
    built = await make_showtime(app, rows=2, seats_per_row=5, starts_in=timedelta(days=1))
    await _set_status(app, built.seat_ids[:3], SeatStatus.sold)
    await _set_status(app, built.seat_ids[3:4], SeatStatus.blocked)
    await _set_status(
        app, built.seat_ids[4:6], SeatStatus.held, hold_expires_at=utc_now() + timedelta(minutes=5)
    )

    response = await client.get(URL, headers=auth_headers(app, admin))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["currency"] == "EUR"
    totals = body["totals"]
    assert totals["tickets_sold"] == 3
    assert totals["seats_total"] == 9  # the blocked seat cannot be sold
    assert totals["revenue"] == {"amount": 3 * 1200, "currency": "EUR"}
    assert totals["occupancy"] == round(3 / 9, 4)
    [showtime] = body["per_showtime"]
    assert showtime["showtime_id"] == built.showtime_id
    assert showtime["seats_held"] == 2
    assert showtime["sold_out"] is False
    [movie] = body["per_movie"]
    assert movie["movie_id"] == built.movie_id
    assert movie["tickets_sold"] == 3
    days_with_sales = [d for d in body["per_day"] if d["tickets_sold"]]
    assert len(days_with_sales) == 1
    assert sum(d["revenue"]["amount"] for d in body["per_day"]) == 3600
    assert body["upcoming_sold_out"] == []


async def test_sold_out_showtime_is_listed(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await make_user(app, role=Role.admin)
    built = await make_showtime(app, rows=1, seats_per_row=4)
    await _set_status(app, built.seat_ids, SeatStatus.sold)
    body = (await client.get(URL, headers=auth_headers(app, admin))).json()
    assert [s["showtime_id"] for s in body["upcoming_sold_out"]] == [built.showtime_id]
    assert body["totals"]["occupancy"] == 1.0


async def test_period_filters_showtimes(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await make_user(app, role=Role.admin)
    built = await make_showtime(app, rows=1, seats_per_row=4, starts_in=timedelta(days=3))
    await _set_status(app, built.seat_ids[:1], SeatStatus.sold)
    today = utc_now().date()
    empty = await client.get(
        URL,
        params={"from": str(today - timedelta(days=10)), "to": str(today - timedelta(days=5))},
        headers=auth_headers(app, admin),
    )
    assert empty.status_code == 200
    assert empty.json()["totals"]["tickets_sold"] == 0
    assert len(empty.json()["per_day"]) == 6


async def test_owner_sees_only_its_cinemas(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await make_user(app, role=Role.owner)
    other = await make_user(app, role=Role.owner)
    mine = await make_showtime(app, rows=1, seats_per_row=4, owner_id=owner.id)
    theirs = await make_showtime(app, rows=1, seats_per_row=4, owner_id=other.id)
    await _set_status(app, mine.seat_ids[:1] + theirs.seat_ids[:2], SeatStatus.sold)

    body = (await client.get(URL, headers=auth_headers(app, owner))).json()
    assert [s["showtime_id"] for s in body["per_showtime"]] == [mine.showtime_id]
    assert body["totals"]["tickets_sold"] == 1

    hidden = await client.get(URL, params={"cinema_id": theirs.cinema_id}, headers=auth_headers(app, owner))
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "cinema_not_found"
    own = await client.get(URL, params={"cinema_id": mine.cinema_id}, headers=auth_headers(app, owner))
    assert own.status_code == 200
    assert own.json()["cinema_id"] == mine.cinema_id


async def test_customers_and_anonymous_are_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    customer = await make_user(app)
    assert (await client.get(URL)).status_code == 401
    refused = await client.get(URL, headers=auth_headers(app, customer))
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"


async def test_bad_periods_are_422(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await make_user(app, role=Role.admin)
    headers = auth_headers(app, admin)
    backwards = await client.get(URL, params={"from": "2026-05-10", "to": "2026-05-01"}, headers=headers)
    assert backwards.status_code == 422
    assert backwards.json()["code"] == "invalid_period"
    too_long = await client.get(URL, params={"from": "2024-01-01", "to": "2026-01-01"}, headers=headers)
    assert too_long.status_code == 422
    garbage = await client.get(URL, params={"from": "yesterday"}, headers=headers)
    assert garbage.status_code == 422
    assert garbage.json()["code"] == "validation_error"
    missing = await client.get(URL, params={"cinema_id": 999999}, headers=headers)
    assert missing.status_code == 404


async def test_mixed_currencies_count_tickets_but_never_add_money(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await make_user(app, role=Role.admin)
    euros = await make_showtime(app, rows=1, seats_per_row=4)
    dollars = await make_showtime(app, rows=1, seats_per_row=4, currency="USD", starts_in=timedelta(days=3))
    await _set_status(app, euros.seat_ids[:1] + dollars.seat_ids[:3], SeatStatus.sold)
    body = (await client.get(URL, headers=auth_headers(app, admin))).json()
    assert body["totals"]["tickets_sold"] == 4
    assert body["currency"] == "EUR"  # a tie goes to the first seen; ask with ?currency= for another
    assert body["totals"]["revenue"] == {"amount": 1200, "currency": "EUR"}
    assert body["revenue_by_currency"] == [
        {"amount": 1200, "currency": "EUR"},
        {"amount": 3600, "currency": "USD"},
    ]
    usd = (await client.get(URL, params={"currency": "usd"}, headers=auth_headers(app, admin))).json()
    assert usd["totals"]["revenue"] == {"amount": 3600, "currency": "USD"}
    assert usd["other_currencies"] == ["EUR"]
