"""The money invariants of issue 11 as SQL, checked after every race round and every crash.

Each query returns the offending rows (none when the invariant holds); the same text runs on SQLite and
PostgreSQL. `INVARIANTS` hold at any moment the server is idle; `SETTLED` hold once the background work
(reconciliation of payment attempts, the refund worker) has drained. A query whose columns a schema does not
have yet (`NEEDS`) is skipped on it and named in `Db.skipped`.

`Db` opens the database behind a SQLAlchemy URL (asyncpg or sqlite3) for these checks and for the tests' own
SQL: write `?` placeholders, they become `$1, $2, ...` on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

# Per booking: what its succeeded (or since refunded) payments took for it, and what its refunds gave back.
MONEY = """
WITH paid AS (
  SELECT pi.booking_id, SUM(pi.amount) AS amount
  FROM payment_items pi JOIN payments p ON p.id = pi.payment_id
  WHERE p.status IN ('succeeded', 'refunded') GROUP BY pi.booking_id
), back AS (
  SELECT booking_id, SUM(amount) AS amount FROM refunds WHERE booking_id IS NOT NULL GROUP BY booking_id
), money AS (
  SELECT b.id, b.reference, b.status, b.showtime_id, b.total_amount, b.refunded_amount,
         COALESCE(paid.amount, 0) AS paid, COALESCE(back.amount, 0) AS back
  FROM bookings b LEFT JOIN paid ON paid.booking_id = b.id LEFT JOIN back ON back.booking_id = b.id
)
"""

INVARIANTS: dict[str, str] = {
    # Seats and tickets.
    "confirmed booking whose seat is not sold to it": """
        SELECT b.reference, i.seat_id FROM booking_items i JOIN bookings b ON b.id = i.booking_id
        LEFT JOIN showtime_seats s ON s.showtime_id = b.showtime_id AND s.seat_id = i.seat_id
        WHERE b.status = 'confirmed'
          AND (s.id IS NULL OR s.status <> 'sold' OR s.booking_id IS NULL OR s.booking_id <> b.id)""",
    "sold seat without a confirmed booking": """
        SELECT s.showtime_id, s.seat_id, b.reference, b.status
        FROM showtime_seats s LEFT JOIN bookings b ON b.id = s.booking_id
        WHERE s.status = 'sold' AND (b.id IS NULL OR b.status <> 'confirmed')""",
    "sold seat that is not one of its booking's seats": """
        SELECT s.showtime_id, s.seat_id, s.booking_id FROM showtime_seats s
        WHERE s.status = 'sold' AND NOT EXISTS (
          SELECT 1 FROM booking_items i WHERE i.booking_id = s.booking_id AND i.seat_id = s.seat_id)""",
    "a seat in two confirmed bookings": """
        SELECT b.showtime_id, i.seat_id, COUNT(*) FROM booking_items i JOIN bookings b ON b.id = i.booking_id
        WHERE b.status = 'confirmed' GROUP BY b.showtime_id, i.seat_id HAVING COUNT(*) > 1""",
    "a seat in two live tickets": """
        SELECT t.showtime_id, t.seat_id, COUNT(*) FROM tickets t WHERE t.status IN ('valid', 'used')
        GROUP BY t.showtime_id, t.seat_id HAVING COUNT(*) > 1""",
    "confirmed booking without a live ticket per seat": """
        SELECT b.reference FROM bookings b WHERE b.status = 'confirmed' AND
          (SELECT COUNT(*) FROM tickets t WHERE t.booking_id = b.id AND t.status IN ('valid', 'used'))
          <> (SELECT COUNT(*) FROM booking_items i WHERE i.booking_id = b.id)""",
    "live ticket of a booking that is not confirmed": """
        SELECT b.reference, b.status, t.seat_id FROM tickets t JOIN bookings b ON b.id = t.booking_id
        WHERE t.status IN ('valid', 'used') AND b.status <> 'confirmed'""",
    # Money per booking and per payment.
    "booking refunded more than was paid for it": MONEY
    + "SELECT reference, status, paid, back FROM money WHERE back > paid",
    "payment refunded more than its amount": """
        SELECT p.id, p.amount, SUM(r.amount) FROM payments p JOIN refunds r ON r.payment_id = p.id
        GROUP BY p.id, p.amount HAVING SUM(r.amount) > p.amount""",
    "refund of a payment that took no money": """
        SELECT r.id, p.id, p.status FROM refunds r JOIN payments p ON p.id = r.payment_id
        WHERE p.status NOT IN ('succeeded', 'refunded')""",
    "bookings.refunded_amount is not the sum of its refunds": MONEY
    + "SELECT reference, refunded_amount, back FROM money WHERE refunded_amount <> back",
    "payments.refunded_amount is not the sum of its refunds": """
        SELECT p.id, p.refunded_amount, COALESCE(SUM(r.amount), 0) FROM payments p
        LEFT JOIN refunds r ON r.payment_id = p.id
        GROUP BY p.id, p.refunded_amount HAVING p.refunded_amount <> COALESCE(SUM(r.amount), 0)""",
    "confirmed booking not paid in full": MONEY
    + """SELECT reference, total_amount, paid, back FROM money
        WHERE status = 'confirmed' AND paid - back < total_amount""",
    "money kept for a booking that is not confirmed": MONEY
    + """SELECT reference, status, paid, back FROM money
        WHERE status IN ('held', 'cancelled', 'expired') AND back <> paid""",
    "refunded booking with nothing given back": MONEY
    + "SELECT reference, paid, back FROM money WHERE status = 'refunded' AND paid > 0 AND back = 0",
    # A cancelled showtime.
    "live booking of a cancelled showtime": """
        SELECT b.reference, b.status FROM bookings b JOIN showtimes s ON s.id = b.showtime_id
        WHERE s.status = 'cancelled' AND b.status NOT IN ('cancelled', 'refunded', 'expired')""",
    "paid booking of a cancelled showtime not refunded in full": MONEY
    + """SELECT m.reference, m.status, m.paid, m.back FROM money m JOIN showtimes s ON s.id = m.showtime_id
        WHERE s.status = 'cancelled' AND m.back <> m.paid""",
}

SETTLED: dict[str, str] = {
    "payment attempt still pending": "SELECT id, amount, created_at FROM payments WHERE status = 'pending'",
    "refund still pending": "SELECT id, booking_id, amount, attempts FROM refunds WHERE status = 'pending'",
    "refund failed for good": "SELECT id, booking_id, amount, attempts FROM refunds WHERE status = 'failed'",
}

# "table.column" a query needs beyond the schema before issue 11.
NEEDS: dict[str, tuple[str, ...]] = {
    "refund still pending": ("refunds.status",),
    "refund failed for good": ("refunds.status",),
}


BOOKING_MONEY = (
    MONEY
    + """SELECT m.reference, m.status, m.paid, m.back, m.total_amount,
      (SELECT COUNT(*) FROM refunds r WHERE r.booking_id = m.id),
      (SELECT COUNT(*) FROM payments p JOIN payment_items pi ON pi.payment_id = p.id
       WHERE pi.booking_id = m.id AND p.status IN ('succeeded', 'refunded')),
      (SELECT COUNT(*) FROM payments p JOIN payment_items pi ON pi.payment_id = p.id
       WHERE pi.booking_id = m.id AND p.status = 'pending'),
      (SELECT COUNT(*) FROM payment_items pi WHERE pi.booking_id = m.id)
    FROM money m"""
)


@dataclass(frozen=True)
class BookingMoney:
    """One booking's state and money as the database has it."""

    reference: str
    status: str
    paid: int  # taken by succeeded (or since refunded) payments
    back: int  # given back by refunds
    total: int
    refunds: int  # refund rows
    charges: int  # payments that took money for it
    pending: int  # payment attempts not settled yet
    attempts: int  # payment rows of any status


def _pg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _numbered(sql: str) -> str:
    """`?` placeholders as PostgreSQL's `$1, $2, ...`."""
    counter = iter(range(1, 10_000))
    return re.sub(r"\?", lambda _m: f"${next(counter)}", sql)


def _sqlite_path(url: str) -> Path:
    return Path(url.split(":///", 1)[1])


class Db:
    """One connection to the database under test (asyncpg for PostgreSQL, sqlite3 in a thread for SQLite)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_pg = url.startswith("postgresql")
        self._pg: asyncpg.Connection | None = None
        self._columns: dict[str, set[str]] = {}
        self.skipped: set[str] = set()

    async def open(self) -> None:
        """Connect (PostgreSQL); SQLite opens a short connection per query, never holding a lock."""
        if self.is_pg:
            self._pg = await asyncpg.connect(_pg_dsn(self.url), timeout=10)

    async def close(self) -> None:
        """Disconnect."""
        if self._pg is not None:
            await self._pg.close()
            self._pg = None

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Rows of a query written with `?` placeholders."""
        if self._pg is not None:
            rows = await asyncio.wait_for(self._pg.fetch(_numbered(sql), *args), timeout=30)
            return [tuple(r) for r in rows]
        return await asyncio.to_thread(self._sqlite_fetch, sql, args)

    def _sqlite_fetch(self, sql: str, args: Sequence[Any]) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(_sqlite_path(self.url), timeout=10)
        try:
            return [tuple(r) for r in conn.execute(sql, tuple(args)).fetchall()]
        finally:
            conn.close()

    async def execute(self, sql: str, *args: Any) -> None:
        """Run a write statement (committed at once): test setup only, such as ageing a hold."""
        if self._pg is not None:
            await asyncio.wait_for(self._pg.execute(_numbered(sql), *args), timeout=30)
            return
        await asyncio.to_thread(self._sqlite_execute, sql, args)

    def _sqlite_execute(self, sql: str, args: Sequence[Any]) -> None:
        conn = sqlite3.connect(_sqlite_path(self.url), timeout=10)
        try:
            conn.execute(sql, tuple(args))
            conn.commit()
        finally:
            conn.close()

    async def scalar(self, sql: str, *args: Any) -> Any:
        """The first column of the first row (None without rows)."""
        rows = await self.fetch(sql, *args)
        return rows[0][0] if rows else None

    async def columns(self, table: str) -> set[str]:
        """The column names of `table` (read once per connection)."""
        if table not in self._columns:
            if self.is_pg:
                rows = await self.fetch(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = ?", table
                )
                self._columns[table] = {r[0] for r in rows}
            else:
                self._columns[table] = {r[1] for r in await self.fetch(f"PRAGMA table_info({table})")}
        return self._columns[table]

    async def has(self, table_column: str) -> bool:
        """True when `table.column` exists."""
        table, column = table_column.split(".")
        return column in await self.columns(table)

    async def violations(self, *, settled: bool = True) -> dict[str, list[tuple[Any, ...]]]:
        """The invariants that fail now (with `settled`, also those of drained background work)."""
        checks = {**INVARIANTS, **(SETTLED if settled else {})}
        found: dict[str, list[tuple[Any, ...]]] = {}
        for name, sql in checks.items():
            needs = NEEDS.get(name, ())
            if not all([await self.has(n) for n in needs]):
                self.skipped.add(name)
                continue
            rows = await self.fetch(sql)
            if rows:
                found[name] = rows
        return found

    async def money(
        self, *, showtime_id: int | None = None, reference: str | None = None
    ) -> dict[str, BookingMoney]:
        """State and money of the bookings of a showtime (or of one booking), by reference."""
        if showtime_id is not None:
            rows = await self.fetch(BOOKING_MONEY + " WHERE m.showtime_id = ?", showtime_id)
        else:
            rows = await self.fetch(BOOKING_MONEY + " WHERE m.reference = ?", reference)
        found: dict[str, BookingMoney] = {}
        for reference, status, *counts in rows:
            paid, back, total, refunds, charges, pending, attempts = (int(v) for v in counts)
            found[str(reference)] = BookingMoney(
                str(reference), str(status), paid, back, total, refunds, charges, pending, attempts
            )
        return found

    async def pending_work(self) -> int:
        """Payment attempts and refund jobs still pending (without a refunds.status column: none pending)."""
        count = int(await self.scalar("SELECT COUNT(*) FROM payments WHERE status = 'pending'") or 0)
        if await self.has("refunds.status"):
            count += int(await self.scalar("SELECT COUNT(*) FROM refunds WHERE status = 'pending'") or 0)
        return count

    async def drain(self, within: float = 15.0) -> float:
        """Wait until no payment attempt or refund job is pending, at most `within` s; the seconds waited.

        Gives up quietly at the deadline: the SETTLED invariants then name what was left pending.
        """
        started = time.monotonic()
        while True:
            if not await self.pending_work() or time.monotonic() - started > within:
                return time.monotonic() - started
            await asyncio.sleep(0.1)


LEDGER_FILE = "simulated-provider.sqlite3"


@dataclass(frozen=True)
class LedgerMoney:
    """What the simulated provider's ledger says was taken and given back for some bookings."""

    charges: int  # succeeded charges naming one of the bookings in their metadata
    charged: int  # their amount
    refunded: int  # given back on them


def ledger_money(var_dir: Path, references: set[str]) -> LedgerMoney | None:
    """The ledger's figures for charges whose metadata names one of `references`; None without a ledger.

    Read with plain sqlite3 from `<BOXOFFICE_VAR_DIR>/simulated-provider.sqlite3` (tables `charges`: ref,
    amount, status as Stripe names it, metadata JSON with `bookings`; `refunds`: charge_ref, amount).
    """
    path = var_dir / LEDGER_FILE
    if not path.exists():
        return None
    conn = sqlite3.connect(path, timeout=10)
    try:
        charges = conn.execute("SELECT ref, amount, status, metadata FROM charges").fetchall()
        back = dict(
            conn.execute("SELECT charge_ref, SUM(amount) FROM refunds GROUP BY charge_ref").fetchall()
        )
    except sqlite3.OperationalError:  # the file exists but its schema is not written yet
        return LedgerMoney(0, 0, 0)
    finally:
        conn.close()
    mine = [
        (ref, amount)
        for ref, amount, status, metadata in charges
        if status == "succeeded"
        and references & set(str(json.loads(metadata or "{}").get("bookings", "")).split(","))
    ]
    return LedgerMoney(len(mine), sum(a for _, a in mine), sum(int(back.get(ref, 0)) for ref, _ in mine))


@asynccontextmanager
async def open_db(url: str) -> AsyncIterator[Db]:
    """A `Db` for the SQLAlchemy URL, closed afterwards."""
    db = Db(url)
    await db.open()
    try:
        yield db
    finally:
        await db.close()
