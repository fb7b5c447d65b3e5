"""A server SIGKILLed between "payment attempt written" and "result applied", then restarted.

`BOXOFFICE_TEST_CRASH_AT=<point>` makes the server kill itself at that point of a payment
(boxoffice.kit.faults.crash_point). After a restart without it and the reconciliation sweep, the booking is
either confirmed and charged once, or not confirmed and not charged (or refunded in full): in our database and
in the simulated provider's ledger (`<var>/simulated-provider.sqlite3`). Also: a refund owed when the server
is killed is still paid after the restart. SQLite (one process) and PostgreSQL; the invariants of
tests/reliability/money_invariants.py are checked at the end of each.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from boxoffice.migrate import upgrade_async
from tests.conftest import create_pg_database, drop_pg_database, require_pg
from tests.factories.money import Buyer, Tally, call, confirmed, hold, pay, seed_rounds
from tests.reliability.figures import record
from tests.reliability.money_invariants import (
    LEDGER_FILE,
    BookingMoney,
    Db,
    LedgerMoney,
    ledger_money,
    open_db,
)
from tests.reliability.support import Server, server_env

pytestmark = pytest.mark.slow
POINTS = ("payment.attempt_committed", "payment.provider_answered", "payment.result_applied")
SETTLE_SECONDS = 20.0


@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def crash_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh migrated database on each backend (PostgreSQL required in CI)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'crash.db'}"
        await upgrade_async(url)
        yield url
        return
    await require_pg()
    name, url = await create_pg_database()
    try:
        await upgrade_async(url)
        yield url
    finally:
        await drop_pg_database(name)


def _env(url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """A test server whose reconciler and refund worker run within a second or two.

    `refund_lease_seconds`: a refund job leased by a worker that was then killed is taken again after the
    lease; short here, so that a restart picks it up within the test's patience.
    """
    values = {"payment_reconcile_seconds": "1", "sweep_interval_seconds": "0.5", "redis_url": ""}
    values["refund_lease_seconds"] = "3"
    return server_env(url, var_dir, **(values | extra))


async def _start(env: dict[str, str]) -> Server:
    """A started single-process server; stopped again when it fails to start."""
    server = Server(env=env)
    try:
        await asyncio.to_thread(server.start)
    except BaseException:
        await asyncio.to_thread(server.stop)
        raise
    return server


def _dead_within(server: Server, seconds: float) -> bool:
    """True once the process has exited (reaped), waiting at most `seconds`."""
    assert server.proc is not None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            return True
        time.sleep(0.05)
    return False


async def _settle(
    client: httpx.AsyncClient, tally: Tally, who: Buyer, reference: str, db: Db
) -> tuple[str, float]:
    """Poll the booking (as its customer) until reconciliation has decided it; (status, seconds waited).

    Decided: no payment attempt of it is pending any more and it is no longer held, or it is still held
    with every attempt settled (declined: a hold is kept until it expires). Bounded by SETTLE_SECONDS.
    """
    started = time.monotonic()
    status = "unknown"
    while time.monotonic() - started < SETTLE_SECONDS:
        m = (await db.money(reference=reference)).get(reference)  # first: the answer below is as new
        answer = await call(client, tally, "GET", f"/bookings/{reference}", who)
        status = str(answer.body.get("status")) if answer.status == 200 else f"http {answer.status}"
        if m is not None and m.pending == 0 and (status != "held" or m.attempts > 0):
            break
        await asyncio.sleep(0.2)
    await db.drain(within=max(1.0, SETTLE_SECONDS - (time.monotonic() - started)))
    return status, time.monotonic() - started


def _outcome_problems(m: BookingMoney, ledger: LedgerMoney | None) -> list[str]:
    """What is wrong with the booking's end state: confirmed and charged once, or not kept any money."""
    problems: list[str] = []
    if m.status == "confirmed":
        if (m.charges, m.paid, m.refunds) != (1, m.total, 0):
            problems.append(
                f"confirmed with {m.charges} succeeded payments ({m.paid} of {m.total}), {m.refunds} refunds"
            )
        if ledger is not None and (ledger.charges, ledger.charged, ledger.refunded) != (1, m.total, 0):
            problems.append(f"confirmed, but the provider's ledger says {ledger}")
    else:
        if m.paid != m.back:
            problems.append(f"{m.status} with {m.paid} taken and {m.back} given back")
        if ledger is not None and ledger.charged != ledger.refunded:
            problems.append(f"{m.status}, but the provider's ledger says {ledger}")
    if m.pending:
        problems.append(f"{m.pending} payment attempts still pending after reconciliation")
    return problems


@pytest.mark.parametrize("point", POINTS)
async def test_crash_between_attempt_and_result(point: str, crash_db: str, tmp_path: Path) -> None:
    """Killed at `point` during a payment; after a restart the booking is charged once or not at all."""
    backend = "postgres" if crash_db.startswith("postgresql") else "sqlite"
    var_dir = tmp_path / "var"
    seed = await seed_rounds(crash_db, tmp_path / "seed", rounds=1, buyers_per_round=1, seats_per_row=4)
    buyer, show = seed.buyers[0], seed.showtimes[0]
    tally = Tally()
    armed = await _start(_env(crash_db, var_dir, test_crash_at=point))
    try:
        async with httpx.AsyncClient(base_url=armed.base_url, timeout=30) as client:
            reference = await hold(client, tally, buyer, show.showtime_id, [show.seat_ids[0]])
            paid = await pay(client, tally, buyer, reference)
        died = paid.status == 0 and await asyncio.to_thread(_dead_within, armed, 10.0)
    finally:
        await asyncio.to_thread(armed.stop)
    assert died, (
        f"the server did not die at {point}: the payment answered {paid.status} {paid.code} "
        f"(is crash_point({point!r}) called on the payment path?)"
    )

    server = await _start(_env(crash_db, var_dir))
    try:
        async with (
            httpx.AsyncClient(base_url=server.base_url, timeout=30) as client,
            open_db(crash_db) as db,
        ):
            status, waited = await _settle(client, tally, buyer, reference, db)
            m = (await db.money(reference=reference))[reference]
            violations = await db.violations()
            skipped = sorted(db.skipped)
    finally:
        await asyncio.to_thread(server.stop)
    ledger = ledger_money(var_dir, {reference})
    record(
        "payment-crashes",
        {
            f"{backend}:{point}": {
                "outcome": m.status,
                "charges": m.charges,
                "refunds": m.refunds,
                "ledger": None if ledger is None else vars(ledger),
                "settled_s": round(waited, 1),
                "requests": tally.figures(),
            }
        },
    )
    print(  # noqa: T201
        f"\n{backend} {point}: {m.status} (api says {status}), paid {m.paid}, refunded {m.back}, "
        f"ledger {ledger}, settled in {waited:.1f}s"
    )
    problems = _outcome_problems(m, ledger)
    assert not problems, problems
    assert not violations, (violations, skipped)


async def test_no_refund_is_lost_on_shutdown(crash_db: str, tmp_path: Path) -> None:
    """A paid booking cancelled, the server SIGKILLed right after the 200: the refund is paid after a restart.

    The provider refuses the first refund call (fault `refund_unavailable` armed in the ledger, when the
    simulated provider keeps one), so the refund is certainly still owed when the process dies.
    """
    backend = "postgres" if crash_db.startswith("postgresql") else "sqlite"
    var_dir = tmp_path / "var"
    seed = await seed_rounds(crash_db, tmp_path / "seed", rounds=1, buyers_per_round=1, seats_per_row=4)
    buyer, show = seed.buyers[0], seed.showtimes[0]
    tally = Tally()
    first = await _start(_env(crash_db, var_dir))
    try:
        async with httpx.AsyncClient(base_url=first.base_url, timeout=30) as client:
            reference = await confirmed(client, tally, buyer, show.showtime_id, [show.seat_ids[0]])
            armed = _arm_refund_fault(var_dir)
            cancelled = await call(client, tally, "POST", f"/bookings/{reference}/cancel", buyer)
            await asyncio.to_thread(first.kill, signal.SIGKILL)
    finally:
        await asyncio.to_thread(first.stop)
    assert cancelled.status == 200, cancelled
    async with open_db(crash_db) as db:
        has_status = await db.has("refunds.status")
        at_kill = await _refund_rows(db, reference)

    server = await _start(_env(crash_db, var_dir))
    try:
        async with open_db(crash_db) as db:
            waited = await db.drain(within=SETTLE_SECONDS)
            m = (await db.money(reference=reference))[reference]
            states = await _refund_states(db, reference) if has_status else []
            after = await _refund_rows(db, reference)
            violations = await db.violations()
    finally:
        await asyncio.to_thread(server.stop)
    ledger = ledger_money(var_dir, {reference})
    record(
        "payment-crashes",
        {
            f"{backend}:refund-after-kill": {
                "fault_armed": armed,
                "refunds_at_kill": at_kill,
                "refund_states": states,
                "ledger": None if ledger is None else vars(ledger),
                "settled_s": round(waited, 1),
            }
        },
    )
    print(  # noqa: T201
        f"\n{backend} refund after kill: at kill {at_kill}, after restart {states or m.status}, "
        f"ledger {ledger}, drained in {waited:.1f}s (fault armed: {armed})"
    )
    assert m.status == "refunded", m
    assert m.back == m.paid > 0, m
    assert m.refunds == 1, m
    assert all(s == "succeeded" for s in states), f"refunds at the kill {at_kill}, after the restart {after}"
    if ledger is not None:
        assert ledger.refunded == ledger.charged == m.paid, ledger
    assert not violations, violations


async def _refund_rows(db: Db, reference: str) -> list[dict[str, Any]]:
    """The booking's refund rows with whichever job columns the schema has (for the figures and failures)."""
    wanted = ["amount", "status", "attempts", "next_attempt_at", "last_error"]
    columns = [c for c in wanted if c in await db.columns("refunds")]
    rows = await db.fetch(
        f"SELECT {', '.join('r.' + c for c in columns)} FROM refunds r"
        " JOIN bookings b ON b.id = r.booking_id WHERE b.reference = ?",
        reference,
    )
    return [
        {c: str(v) if c == "next_attempt_at" else v for c, v in zip(columns, row, strict=True)}
        for row in rows
    ]


async def _refund_states(db: Db, reference: str) -> list[str]:
    """The status of each refund row of the booking."""
    rows = await db.fetch(
        "SELECT r.status FROM refunds r JOIN bookings b ON b.id = r.booking_id WHERE b.reference = ?",
        reference,
    )
    return [str(r[0]) for r in rows]


def _arm_refund_fault(var_dir: Path) -> bool:
    """Make the simulated provider refuse the next refund call; False when there is no ledger to arm."""
    if not (var_dir / LEDGER_FILE).exists():
        return False
    try:
        from boxoffice.payments.simulated import arm
    except ImportError:
        return False
    arm(var_dir / LEDGER_FILE, "refund_unavailable", times=1)
    return True
