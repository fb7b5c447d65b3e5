"""Work that must not show in an anonymous request's answer time: run after commit, in its own
transaction, as a task. "Forgot password" and "resend verification" answer 202 at once whether the
address is registered or not; the lookup and the email happen here, so timing reveals nothing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from boxoffice.db import after_commit, create_sessionmaker, transaction

log = logging.getLogger("boxoffice.accounts")

Job = Callable[[AsyncSession], Awaitable[None]]

_pending: set[asyncio.Task[None]] = set()


async def _run(engine: AsyncEngine, job: Job, name: str) -> None:
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            await job(session)
    except Exception:
        log.exception("deferred account job %s failed", name)


def defer(session: AsyncSession, job: Job, *, name: str) -> None:
    """Run `job(session)` in a new transaction once the current one has committed."""
    engine = session.bind
    if not isinstance(engine, AsyncEngine):  # pragma: no cover - sessions are bound to the app's engine
        raise TypeError("deferred jobs need a session bound to an AsyncEngine")

    def start() -> None:
        task = asyncio.create_task(_run(engine, job, name), name=f"accounts-{name}")
        _pending.add(task)
        task.add_done_callback(_pending.discard)

    after_commit(session, start)


async def wait_deferred() -> None:
    """Wait until every deferred job has finished (tests, graceful shutdown)."""
    while _pending:
        await asyncio.gather(*list(_pending), return_exceptions=True)
