"""Operations endpoints outside /api/v1: liveness, readiness (checks the database) and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

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


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics() -> Response:
    """Prometheus text format."""
    body, content_type = render()
    return Response(body, media_type=content_type)
