"""Check-in route (the cinema's owner, admins)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from boxoffice.accounts.deps import StaffUser
from boxoffice.booking import checkin, presenters
from boxoffice.booking.deps import ContextDep
from boxoffice.booking.schemas import CheckinRead, CheckinRequest
from boxoffice.deps import SessionDep
from boxoffice.showtimes.service import load_showtime_context

router = APIRouter(tags=["booking"])

CHECKIN_LIMIT = "120/minute"


@router.post(
    "/checkin",
    response_model=CheckinRead,
    summary="Admit a ticket",
    responses={
        404: {"description": "invalid_ticket: forged, unknown, replaced or not your cinema's"},
        409: {"description": "already_admitted, wrong_showtime, checkin_not_open, checkin_closed"},
    },
)
async def check_in(
    request: Request, body: CheckinRequest, user: StaffUser, session: SessionDep, ctx: ContextDep
) -> CheckinRead:
    """Admit a valid ticket once, from 60 minutes before the start to the end."""
    limiter = getattr(request.app.state, "rate_limiter", None)
    if limiter is not None:  # scanners are fast, guessing codes must not be
        await limiter.hit("checkin", str(user.id), limit=CHECKIN_LIMIT)
    ticket, booking = await checkin.check_in(
        session, secret_key=ctx.settings.secret_key, actor=user, code=body.code, showtime_id=body.showtime_id
    )
    sctx = await load_showtime_context(session, showtime_id=ticket.showtime_id)
    return CheckinRead(
        admitted=True,
        ticket_id=ticket.id,
        booking_reference=booking.reference,
        seat=f"{ticket.row}{ticket.number}",
        showtime=presenters.showtime_brief(sctx),
    )
