"""Background loops started with the app (outbox delivery, hold sweeper), each resilient to errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI

log = logging.getLogger("boxoffice.background")

Loop = Callable[[FastAPI], Coroutine[Any, Any, None]]


def _loops() -> list[tuple[str, Loop]]:
    from boxoffice.booking.sweeper import sweeper_loop
    from boxoffice.notifications.sender import run_outbox

    return [("outbox", run_outbox), ("hold-sweeper", sweeper_loop)]


def start_background_tasks(app: FastAPI) -> list[asyncio.Task[None]]:
    """Start every background loop as a task; the lifespan cancels them on shutdown."""
    return [asyncio.create_task(loop(app), name=f"boxoffice-{name}") for name, loop in _loops()]
