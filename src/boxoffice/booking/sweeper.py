"""The hold sweeper: frees seats whose hold ran out and marks their bookings expired.

Claims already treat an expired hold as free, so the sweeper is housekeeping (clean seat maps, accurate
counts, `expired` statuses), not a correctness requirement. Runs in the app (background loop) and as
`boxoffice sweep`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from boxoffice.audit.service import log_action
from boxoffice.booking import notify
from boxoffice.booking import repository as repo
from boxoffice.booking.models import BookingStatus
from boxoffice.config import Settings
from boxoffice.db import create_engine, create_sessionmaker, transaction
from boxoffice.kit.clock import utc_now
from boxoffice.kit.events import EventBus, create_event_bus
from boxoffice.payments import service as payments

log = logging.getLogger("boxoffice.sweeper")

IDEMPOTENCY_TTL = timedelta(hours=24)  # a retry comes within minutes; a day is generous


async def sweep(session: AsyncSession, *, events: EventBus) -> tuple[int, int]:
    """Free expired holds and expire their bookings; returns (seats freed, bookings expired)."""
    now = utc_now()
    freed = await repo.sweep_expired_seats(session, now=now)
    by_showtime: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for showtime_id, seat_id in freed:
        by_showtime[showtime_id].append((seat_id, "available"))
    for showtime_id, changes in by_showtime.items():
        notify.publish_seats(session, events, showtime_id, changes)
    expired = 0
    for booking in await repo.expired_held_bookings(session, now=now):
        if await payments.has_pending(session, booking_id=booking.id):
            continue  # the provider's answer decides (a late success re-claims or refunds)
        booking.status = BookingStatus.expired
        booking.closed_at = now
        expired += 1
        await log_action(
            session,
            action="booking.expired",
            actor_id=None,
            subject_type="booking",
            subject_id=booking.reference,
        )
    await repo.delete_idempotency_before(session, now - IDEMPOTENCY_TTL)
    await session.flush()
    return len(freed), expired


async def sweep_once(factory: async_sessionmaker[AsyncSession], events: EventBus) -> tuple[int, int]:
    """One sweep in its own transaction."""
    async with transaction(factory) as session:
        return await sweep(session, events=events)


async def sweeper_loop(app: FastAPI) -> None:
    """Sweep every `sweep_interval_seconds` until cancelled; errors are logged, never fatal."""
    from boxoffice.booking.deps import context_for_app

    interval = app.state.settings.sweep_interval_seconds
    while True:
        try:
            freed, expired = await sweep_once(app.state.sessionmaker, context_for_app(app).events)
            if freed or expired:
                log.info("sweeper freed %d seats, expired %d bookings", freed, expired)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("hold sweep failed")
        await asyncio.sleep(interval)


async def sweep_command(settings: Settings) -> tuple[int, int]:
    """`boxoffice sweep`: one sweep against the configured database, events to other processes."""
    engine = create_engine(settings.database_url, pool_size=1)
    events = create_event_bus(database_url=settings.database_url, redis_url=settings.redis_url)
    try:
        return await sweep_once(create_sessionmaker(engine), events)
    finally:
        await events.close()
        await engine.dispose()
