"""GET /analytics/summary: tickets sold, revenue and occupancy for admins and owners."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from boxoffice.accounts.deps import StaffUser
from boxoffice.analytics import service
from boxoffice.analytics.schemas import SummaryRead
from boxoffice.deps import SessionDep

router = APIRouter(prefix="/analytics", tags=["analytics"])


@router.get(
    "/summary",
    response_model=SummaryRead,
    summary="Tickets sold, revenue and occupancy per day, movie and showtime",
    responses={401: {}, 403: {}, 404: {"description": "No such cinema (or not yours)"}, 422: {}},
)
async def get_summary(
    session: SessionDep,
    user: StaffUser,
    date_from: Annotated[date | None, Query(alias="from", description="First local day (inclusive)")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="Last local day (inclusive)")] = None,
    cinema_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    currency: Annotated[str | None, Query(pattern=r"^[A-Za-z]{3}$")] = None,
) -> SummaryRead:
    """The summary for the caller's cinemas (owners) or every cinema (admins)."""
    return await service.summary(
        session, user=user, date_from=date_from, date_to=date_to, cinema_id=cinema_id, currency=currency
    )
