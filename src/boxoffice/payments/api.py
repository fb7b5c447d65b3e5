"""The Stripe webhook: signature verified, each event applied once (replays and duplicates are no-ops)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from boxoffice.deps import SessionDep
from boxoffice.payments import repository, webhooks

router = APIRouter(tags=["payments"])
log = logging.getLogger("boxoffice.payments")


@router.post(
    "/payments/webhooks/stripe",
    summary="Stripe webhook",
    responses={400: {"description": "invalid_signature"}},
)
async def stripe_webhook(
    request: Request,
    session: SessionDep,
    stripe_signature: str | None = Header(default=None, alias="Stripe-Signature", max_length=2000),
) -> JSONResponse:
    """Verify the signature, record the event id, apply it once."""
    payload = await request.body()
    from boxoffice.payments.stripe_provider import verify_webhook  # the Stripe SDK only when used

    event = verify_webhook(request.app.state.settings, payload, stripe_signature)
    event_id = str(event["id"])
    event_type = str(event["type"])
    if not await repository.claim_event(session, event_id=event_id, provider="stripe", type_=event_type):
        return JSONResponse({"received": True, "duplicate": True})
    data: dict[str, Any] = (
        event["data"]["object"].to_dict()
        if hasattr(event["data"]["object"], "to_dict")
        else dict(event["data"]["object"])
    )
    await webhooks.dispatch(session, request.app, event_type, data)
    log.info("stripe event %s (%s) applied", event_id, event_type)
    return JSONResponse({"received": True, "duplicate": False})
