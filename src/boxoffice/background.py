"""Background loops started with the app (outbox delivery, sweeper and reconciliation, refund worker),
each resilient to errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from fastapi import FastAPI

log = logging.getLogger("boxoffice.background")

Loop = Callable[[FastAPI], Coroutine[Any, Any, None]]


def _loops() -> list[tuple[str, Loop]]:
    from boxoffice.booking.sweeper import refund_loop, sweeper_loop
    from boxoffice.notifications.sender import run_outbox

    return [("outbox", run_outbox), ("hold-sweeper", sweeper_loop), ("refunds", refund_loop)]


def start_background_tasks(app: FastAPI) -> list[asyncio.Task[None]]:
    """Start every background loop as a task; the lifespan stops them with stop_background_tasks."""
    return [asyncio.create_task(loop(app), name=f"boxoffice-{name}") for name, loop in _loops()]


async def stop_background_tasks(tasks: Sequence[asyncio.Task[None]]) -> None:
    """Cancel the loops and wait for them, then stop the outbox's render process (if it was started)."""
    from boxoffice.notifications import renderpool

    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await renderpool.shutdown()
