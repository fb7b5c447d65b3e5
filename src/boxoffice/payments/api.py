"""The Stripe webhook: signature verified, each event applied once (replays and duplicates are no-ops)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from boxoffice.deps import SessionDep
from boxoffice.errors import BadRequest
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
    try:
        event_id = str(event["id"])
        event_type = str(event["type"])
        obj = event["data"]["object"]
        data: dict[str, Any] = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    except (KeyError, TypeError, ValueError) as exc:
        raise BadRequest("The event is not a Stripe event.", code="invalid_event") from exc
    if not await repository.claim_event(session, event_id=event_id, provider="stripe", type_=event_type):
        return JSONResponse({"received": True, "duplicate": True})
    await webhooks.dispatch(session, request.app, event_type, data)
    log.info("stripe event %s (%s) applied", event_id, event_type)
    return JSONResponse({"received": True, "duplicate": False})
