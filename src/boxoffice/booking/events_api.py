"""Live seat events of a showtime as Server-Sent Events (the web seat map listens to this)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Request
from fastapi.responses import StreamingResponse

from boxoffice.booking.deps import ContextDep
from boxoffice.booking.schemas import MAX_ID
from boxoffice.deps import SessionDep
from boxoffice.showtimes.service import get_showtime

router = APIRouter(tags=["showtimes"])

HEARTBEAT_SECONDS = 15.0


async def _stream(
    request: Request, queue: asyncio.Queue[dict[str, Any]], heartbeat: float
) -> AsyncIterator[bytes]:
    yield b"retry: 3000\n: connected\n\n"
    while True:
        if await request.is_disconnected():
            return
        try:
            event = await asyncio.wait_for(queue.get(), timeout=heartbeat)
        except TimeoutError:
            yield b": heartbeat\n\n"
            continue
        yield (
            b"event: "
            + str(event.get("type", "message")).encode()
            + b"\ndata: "
            + orjson.dumps(event)
            + b"\n\n"
        )


@router.get(
    "/showtimes/{showtime_id}/events",
    summary="Live seat events (SSE)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "`seats` events"}},
)
async def showtime_events(
    showtime_id: Annotated[int, Path(ge=1, le=MAX_ID)], request: Request, session: SessionDep, ctx: ContextDep
) -> StreamingResponse:
    """Stream `{type: "seats", showtime_id, seats: [{seat_id, status}]}` events until the client leaves."""
    await get_showtime(session, showtime_id=showtime_id)  # the session closes when this returns (scope)
    heartbeat = float(getattr(request.app.state, "sse_heartbeat_seconds", HEARTBEAT_SECONDS))

    async def body() -> AsyncIterator[bytes]:
        async with ctx.events.subscribe(showtime_id) as queue:
            async for chunk in _stream(request, queue, heartbeat):
                yield chunk

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
