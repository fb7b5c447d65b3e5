"""Back office pages over HTTP: the dashboard with SVG charts, scoped to the owner's cinemas."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from boxoffice.accounts.models import Role
from boxoffice.db import transaction
from boxoffice.showtimes.models import SeatStatus, ShowtimeSeat
from tests.factories.accounts import make_user
from tests.factories.showtimes import make_showtime
from tests.web.support import page_login


async def _sell(app: FastAPI, seat_ids: list[int]) -> None:
    async with transaction(app.state.sessionmaker) as session:
        await session.execute(
            update(ShowtimeSeat).where(ShowtimeSeat.seat_id.in_(seat_ids)).values(status=SeatStatus.sold)
        )


async def test_dashboard_shows_figures_and_svg_charts(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await make_user(app, role=Role.admin)
    built = await make_showtime(app, rows=2, seats_per_row=5)
    await _sell(app, built.seat_ids[:4])
    await page_login(client, admin.email)
    page = await client.get("/backoffice")
    assert page.status_code == 200
    assert '<div class="value" id="kpi-tickets">4</div>' in page.text
    assert '<div class="value" id="kpi-revenue">€48.00</div>' in page.text
    assert '<div class="value" id="kpi-occupancy">40%</div>' in page.text
    assert page.text.count("<svg") >= 5
    assert "<rect class=" in page.text
    assert "<polyline" in page.text
    assert "Test Movie" in page.text


async def test_owner_dashboard_is_scoped_and_customers_are_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await make_user(app, role=Role.owner)
    other = await make_user(app, role=Role.owner)
    mine = await make_showtime(app, rows=1, seats_per_row=4, owner_id=owner.id)
    theirs = await make_showtime(app, rows=1, seats_per_row=4, owner_id=other.id)
    await _sell(app, mine.seat_ids[:1] + theirs.seat_ids[:3])
    await page_login(client, owner.email)
    page = await client.get("/backoffice")
    assert '<div class="value" id="kpi-tickets">1</div>' in page.text
    hidden = await client.get("/backoffice", params={"cinema_id": theirs.cinema_id})
    assert hidden.status_code == 404

    customer_client = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with customer_client:
        customer = await make_user(app)
        await page_login(customer_client, customer.email)
        refused = await customer_client.get("/backoffice")
        assert refused.status_code == 403
        assert "Not allowed" in refused.text
