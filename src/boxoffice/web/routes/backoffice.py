"""The back office dashboard: figures and SVG charts from the analytics service (owners: their cinemas)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from boxoffice.accounts.models import Role, User
from boxoffice.analytics import service as analytics
from boxoffice.deps import SessionDep
from boxoffice.kit.clock import utc_now
from boxoffice.venues import service as venues
from boxoffice.web.charts import bar_chart, line_chart
from boxoffice.web.deps import StaffPageUser
from boxoffice.web.templating import money, render

router = APIRouter(prefix="/backoffice")

SHOWTIMES_SHOWN = 40  # the next showtimes in the per-showtime chart and table (the API has them all)


async def staff_cinemas(session: SessionDep, user: User) -> list[Any]:
    """The cinemas the staff member manages (every cinema for admins)."""
    owner_id = user.id if user.role == Role.owner else None
    rows, _ = await venues.list_cinemas(session, city=None, owner_id=owner_id, offset=0, limit=100)
    return [cinema for cinema, _count in rows]


@router.get("", response_class=HTMLResponse)
async def dashboard(
    request: Request,
    session: SessionDep,
    user: StaffPageUser,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    cinema_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    currency: Annotated[str | None, Query(pattern=r"^[A-Za-z]{3}$")] = None,
) -> HTMLResponse:
    """Tickets, revenue and occupancy at a glance, per day, movie and showtime."""
    summary = await analytics.summary(
        session, user=user, date_from=date_from, date_to=date_to, cinema_id=cinema_id, currency=currency
    )
    cur = summary.currency

    def euros(value: float) -> str:
        return money(int(value), cur)

    def percent(value: float) -> str:
        return f"{value:.0f}%"

    days = [(d.date.strftime("%d %b"), d) for d in summary.per_day]
    now = utc_now()
    upcoming = [s for s in summary.per_showtime if s.starts_at >= now][:SHOWTIMES_SHOWN]
    charts = {
        "revenue_day": line_chart(
            "Revenue per day", [(label, d.revenue.amount) for label, d in days], fmt=euros
        ),
        "tickets_day": bar_chart("Tickets sold per day", [(label, d.tickets_sold) for label, d in days]),
        "occupancy_day": bar_chart(
            "Occupancy per day (%)",
            [(label, d.occupancy * 100) for label, d in days],
            fmt=percent,
            css="bar alt",
        ),
        "revenue_movie": bar_chart(
            "Revenue per movie", [(m.title, m.revenue.amount) for m in summary.per_movie[:12]], fmt=euros
        ),
        "occupancy_showtime": bar_chart(
            "Occupancy of the next showtimes (%)",
            [(f"{s.local_start} {s.title}", s.occupancy * 100) for s in upcoming],
            fmt=percent,
            css="bar alt",
        ),
    }
    return render(
        request,
        "backoffice/dashboard.html",
        {
            "summary": summary,
            "charts": charts,
            "cinemas": await staff_cinemas(session, user),
            "upcoming": upcoming,
            "section": "dashboard",
        },
    )
