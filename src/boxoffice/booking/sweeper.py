"""The sweeper: frees seats whose hold ran out, expires their bookings, and reconciles payments.

Claims already treat an expired hold as free, so expiring is housekeeping (clean seat maps, accurate
counts, `expired` statuses). Reconciling is not: a payment attempt left `pending` by a crash between the
charge and its commit is resolved here by asking the provider (booking/payflow.py `reconcile`). Runs in
the app (background loop) and as `boxoffice sweep`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import defaultdict
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from boxoffice.booking import notify, payflow, transitions
from boxoffice.booking import repository as repo
from boxoffice.booking.deps import BookingContext
from boxoffice.booking.transitions import Event
from boxoffice.config import Settings
from boxoffice.db import create_engine, create_sessionmaker, transaction
from boxoffice.kit.clock import utc_now
from boxoffice.kit.events import EventBus, create_event_bus
from boxoffice.payments import service as payments
from boxoffice.payments.providers import get_provider
from boxoffice.payments.refunds import run_refund_worker, send_due_refunds

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
        showtime = await repo.get_showtime(session, booking.showtime_id)
        assert showtime is not None
        await transitions.move(session, booking, Event.expire, showtime=showtime, now=now, actor_id=None)
        expired += 1
    await repo.delete_idempotency_before(session, now - IDEMPOTENCY_TTL)
    await session.flush()
    return len(freed), expired


async def sweep_once(factory: async_sessionmaker[AsyncSession], events: EventBus) -> tuple[int, int]:
    """One sweep in its own transaction."""
    async with transaction(factory) as session:
        return await sweep(session, events=events)


async def reconcile_once(factory: async_sessionmaker[AsyncSession], ctx: BookingContext) -> dict[str, int]:
    """Resolve the payment attempts left pending for longer than `payment_reconcile_seconds`."""
    older = timedelta(seconds=ctx.settings.payment_reconcile_seconds)
    return await payflow.reconcile(factory, ctx=ctx, older_than=older)


async def sweeper_loop(app: FastAPI) -> None:
    """Sweep every `sweep_interval_seconds` until cancelled; errors are logged, never fatal."""
    from boxoffice.booking.deps import context_for_app

    interval = app.state.settings.sweep_interval_seconds
    while True:
        try:
            ctx = context_for_app(app)
            reconciled = await reconcile_once(app.state.sessionmaker, ctx)
            if reconciled:
                log.info("reconciled payment attempts: %s", reconciled)
            freed, expired = await sweep_once(app.state.sessionmaker, ctx.events)
            if freed or expired:
                log.info("sweeper freed %d seats, expired %d bookings", freed, expired)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("hold sweep failed")
        await asyncio.sleep(interval)


async def refund_loop(app: FastAPI) -> None:
    """The refund worker of the app (payments/refunds.py), with the app's provider."""
    from boxoffice.booking.deps import context_for_app

    lease = timedelta(seconds=app.state.settings.refund_lease_seconds)
    await run_refund_worker(app.state.sessionmaker, context_for_app(app).provider, lease=lease)


@dataclasses.dataclass(frozen=True)
class SweepReport:
    """What `boxoffice sweep` did."""

    reconciled: dict[str, int]
    freed: int
    expired: int
    refunds_sent: int


async def sweep_command(settings: Settings) -> SweepReport:
    """`boxoffice sweep`: reconcile, sweep and send due refunds against the configured database."""
    engine = create_engine(settings.database_url, pool_size=1)
    events = create_event_bus(database_url=settings.database_url, redis_url=settings.redis_url)
    try:
        factory = create_sessionmaker(engine)
        ctx = BookingContext(settings=settings, provider=get_provider(settings), events=events)
        reconciled = await reconcile_once(factory, ctx)
        freed, expired = await sweep_once(factory, events)
        sent = await send_due_refunds(
            factory, ctx.provider, lease=timedelta(seconds=settings.refund_lease_seconds)
        )
        return SweepReport(reconciled, freed, expired, sent)
    finally:
        await events.close()
        await engine.dispose()
