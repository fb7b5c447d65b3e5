"""Operations endpoints outside /api/v1: liveness, readiness (checks the database) and Prometheus metrics."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from boxoffice.errors import NotFound, Unauthorized
from boxoffice.kit.metrics import render

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness")
async def healthz() -> JSONResponse:
    """The process is up."""
    return JSONResponse({"status": "ok"})


@router.get(
    "/readyz", summary="Readiness: the database answers", responses={503: {"description": "Not ready"}}
)
async def readyz(request: Request) -> JSONResponse:
    """Ready when the database answers a trivial query."""
    try:
        async with request.app.state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        return JSONResponse({"status": "unavailable", "database": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get(
    "/metrics",
    summary="Prometheus metrics (operator: `Authorization: Bearer <METRICS_TOKEN>`)",
    response_class=Response,
    responses={401: {"description": "Missing or wrong token"}, 404: {"description": "Not served"}},
)
async def metrics(request: Request) -> Response:
    """Prometheus text format, for the operator's token; open outside production when no token is set."""
    settings = request.app.state.settings
    token = settings.metrics_token
    if token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            raise Unauthorized("The metrics need the operator's token.", code="metrics_token_required")
    elif settings.is_production:
        raise NotFound("Not found.")
    body, content_type = render()
    return Response(body, media_type=content_type)
