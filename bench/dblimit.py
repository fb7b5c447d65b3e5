"""The database's own claim rate: the conditional seat claim in a plain asyncpg / aiosqlite loop.

Buyers behave as in the HTTP flash sale (random 1-4 seats among those not known taken, until sold
out), but each attempt is just the claim: one transaction with the conditional UPDATE that takes the
seats only if every one is free (or its hold expired), rolled back when it got fewer than asked for.
Sold-out showtimes are reset and sold again until the time is up.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from bench.loadgen import latency_summary

# Rows are locked in seat order first (as the app does), so that two overlapping claims cannot deadlock.
PG_CLAIM = """
WITH locked AS (
    SELECT id FROM showtime_seats
     WHERE showtime_id = $3 AND seat_id = ANY($4::int[])
     ORDER BY seat_id
       FOR UPDATE
)
UPDATE showtime_seats AS s
   SET status = 'held', holder_id = $1, hold_expires_at = $2, version = s.version + 1
  FROM locked
 WHERE s.id = locked.id
   AND (s.status = 'available' OR (s.status = 'held' AND s.hold_expires_at < $5))
RETURNING s.seat_id
"""
PG_RESET = """
UPDATE showtime_seats SET status = 'available', holder_id = NULL, hold_expires_at = NULL, booking_id = NULL
 WHERE showtime_id = $1
"""


class _Rollback(Exception):
    """Raised inside the transaction to roll back a partial claim."""


class _Buyers:
    """Shared state of one claim-rate run: seats known taken, latencies, counts."""

    def __init__(self, seat_ids: list[int], seconds: float) -> None:
        self.seat_ids = seat_ids
        self.claimed: set[int] = set()
        self.latencies: list[float] = []
        self.successful = 0
        self.rounds = 0
        self.started = time.perf_counter()
        self.deadline = self.started + seconds

    def pick(self, rng: random.Random) -> list[int] | None:
        """Random 1-4 seats among those not known taken; None when sold out."""
        free = [s for s in self.seat_ids if s not in self.claimed]
        if not free:
            return None
        return rng.sample(free, min(rng.randint(1, 4), len(free)))

    def summary(self, **extra: Any) -> dict[str, Any]:
        """The figures of the run."""
        elapsed = time.perf_counter() - self.started
        attempts = len(self.latencies)
        return {
            **extra,
            "rounds": self.rounds,
            "attempts": attempts,
            "successful": self.successful,
            "seconds": round(elapsed, 3),
            "claims_per_s": round(attempts / elapsed, 1),
            **latency_summary(self.latencies),
        }


async def pg_claim_rate(
    dsn: str, *, showtime_id: int, seat_ids: list[int], buyers: int, pool_size: int, seconds: float
) -> dict[str, Any]:
    """Claims per second on PostgreSQL with `buyers` concurrent claimers over `pool_size` connections."""
    pool = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
    assert pool is not None
    state = _Buyers(seat_ids, seconds)

    async def buyer(index: int) -> None:
        rng = random.Random(index * 7919 + state.rounds)
        while time.perf_counter() < state.deadline:
            seats = state.pick(rng)
            if seats is None:
                return
            now = datetime.now(UTC)
            t0 = time.perf_counter()
            try:
                async with pool.acquire() as conn, conn.transaction():
                    got = await conn.fetch(
                        PG_CLAIM, index + 1, now + timedelta(minutes=10), showtime_id, seats, now
                    )
                    if len(got) != len(seats):
                        raise _Rollback
                state.claimed.update(seats)
                state.successful += 1
            except (_Rollback, asyncpg.DeadlockDetectedError, asyncpg.LockNotAvailableError):
                pass
            state.latencies.append(time.perf_counter() - t0)

    try:
        while time.perf_counter() < state.deadline:
            await pool.execute(PG_RESET, showtime_id)
            state.claimed = set()
            await asyncio.gather(*(buyer(i) for i in range(buyers)))
            state.rounds += 1
        return state.summary(backend="postgresql", buyers=buyers, connections=pool_size)
    finally:
        await pool.execute(PG_RESET, showtime_id)
        await pool.close()


SQLITE_CLAIM = """
UPDATE showtime_seats
   SET status = 'held', holder_id = ?, hold_expires_at = ?, version = version + 1
 WHERE showtime_id = ? AND seat_id IN ({marks})
   AND (status = 'available' OR (status = 'held' AND hold_expires_at < ?))
"""
SQLITE_RESET = (
    "UPDATE showtime_seats SET status = 'available', holder_id = NULL, hold_expires_at = NULL, "
    "booking_id = NULL WHERE showtime_id = ?"
)


async def sqlite_claim_rate(
    path: str, *, showtime_id: int, seat_ids: list[int], buyers: int, seconds: float
) -> dict[str, Any]:
    """Claims per second on SQLite: one writer connection, BEGIN IMMEDIATE per claim, like the app."""
    import aiosqlite

    state = _Buyers(seat_ids, seconds)
    lock = asyncio.Lock()
    async with aiosqlite.connect(path, isolation_level=None) as db:
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("PRAGMA busy_timeout=15000")

        async def buyer(index: int) -> None:
            rng = random.Random(index * 7919 + state.rounds)
            while time.perf_counter() < state.deadline:
                seats = state.pick(rng)
                if seats is None:
                    return
                now = datetime.now(UTC).replace(tzinfo=None)
                sql = SQLITE_CLAIM.format(marks=",".join("?" * len(seats)))
                t0 = time.perf_counter()
                async with lock:
                    await db.execute("BEGIN IMMEDIATE")
                    cur = await db.execute(
                        sql, (index + 1, str(now + timedelta(minutes=10)), showtime_id, *seats, str(now))
                    )
                    if cur.rowcount == len(seats):
                        await db.execute("COMMIT")
                        state.claimed.update(seats)
                        state.successful += 1
                    else:
                        await db.execute("ROLLBACK")
                state.latencies.append(time.perf_counter() - t0)

        try:
            while time.perf_counter() < state.deadline:
                await db.execute(SQLITE_RESET, (showtime_id,))
                state.claimed = set()
                await asyncio.gather(*(buyer(i) for i in range(buyers)))
                state.rounds += 1
        finally:
            await db.execute(SQLITE_RESET, (showtime_id,))
    return state.summary(backend="sqlite", buyers=buyers, connections=1)
