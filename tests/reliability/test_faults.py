"""Faults injected in-process, each with nothing lost: SMTP down, the clock, webhooks replayed out of
order, a read-only SQLite file. (A PostgreSQL restart and a killed worker: test_faults_processes.py.)"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from sqlalchemy import select

from boxoffice.booking.models import Booking
from boxoffice.db import transaction
from boxoffice.main import create_app
from boxoffice.migrate import upgrade_async
from boxoffice.notifications.models import OutboxEmail
from boxoffice.notifications.sender import deliver_due
from boxoffice.ops.backup import integrity_check
from tests.conftest import FrozenClock, make_settings, truncate_all
from tests.factories.booking import book_and_pay, hold, make_customer
from tests.factories.showtimes import make_showtime
from tests.reliability.figures import record
from tests.reliability.support import free_port

API = "/api/v1"
_faults: dict[str, str] = {}


def injected(name: str, outcome: str) -> None:
    """Record a fault injected and what became of it (for docs/reliability.md)."""
    _faults[name] = outcome
    record("faults-inprocess", _faults)


# --- SMTP down -----------------------------------------------------------------------------------------


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


@pytest_asyncio.fixture
async def smtp_app(db_url: str, tmp_path: Path) -> AsyncIterator[tuple[FastAPI, int]]:
    """An app whose SMTP server (a free port) is down until the test starts one there."""
    port = free_port()
    app = create_app(
        make_settings(db_url, tmp_path, smtp_url=f"smtp://127.0.0.1:{port}"), run_background=False
    )
    try:
        yield app, port
    finally:
        await truncate_all(app)
        await app.state.shutdown()


async def test_smtp_down_bookings_confirm_and_emails_wait(
    smtp_app: tuple[FastAPI, int], frozen_clock: FrozenClock
) -> None:
    app, port = smtp_app
    show = await make_showtime(app, rows=2, seats_per_row=4)
    alice = await make_customer(app)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        booking = await book_and_pay(client, alice, show.showtime_id, show.seat_ids[:2])
    assert booking["status"] == "confirmed"
    assert await deliver_due(app) == 0  # SMTP is down: nothing sent, nothing lost
    async with transaction(app.state.sessionmaker, write=False) as session:
        rows = list(
            await session.scalars(select(OutboxEmail).where(OutboxEmail.to_address == alice.user.email))
        )
    assert rows, "the confirmation email is in the durable outbox"
    assert all(r.status == "pending" and r.attempts == 1 and r.last_error for r in rows)
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert await deliver_due(app) == 0, "not before its retry time"
        frozen_clock.advance(minutes=2)
        sent = await deliver_due(app)
    finally:
        controller.stop()
    assert sent == len(rows)
    subjects = [str(message_from_bytes(m)["Subject"]) for m in inbox.messages]
    assert any(booking["reference"] in s or "confirm" in s.lower() for s in subjects), subjects
    async with transaction(app.state.sessionmaker, write=False) as session:
        statuses = {r.status for r in await session.scalars(select(OutboxEmail))}
    assert statuses == {"sent"}
    injected("smtp_down", f"booking confirmed; {sent} email(s) kept pending, sent when SMTP returned")


# --- the clock ----------------------------------------------------------------------------------------


async def test_holds_expire_at_their_time_not_before(
    app: FastAPI, client: httpx.AsyncClient, frozen_clock: FrozenClock
) -> None:
    from boxoffice.booking.deps import context_for_app
    from boxoffice.booking.sweeper import sweep_once

    show = await make_showtime(app, rows=1, seats_per_row=4)
    alice, bob = await make_customer(app), await make_customer(app)
    held = await hold(client, alice, show.showtime_id, show.seat_ids[:2])
    hold_minutes = app.state.settings.hold_minutes
    grace = app.state.settings.payment_grace_minutes

    async def status_of(seat_id: int) -> str:
        seats = (await client.get(f"{API}/showtimes/{show.showtime_id}/seats")).json()
        items = seats["seats"] if isinstance(seats, dict) else seats
        return next(s["status"] for s in items if s["seat_id"] == seat_id)

    frozen_clock.advance(minutes=hold_minutes, seconds=-1)
    assert await status_of(show.seat_ids[0]) == "held"
    await hold(client, bob, show.showtime_id, show.seat_ids[:1], expect=409)  # not before its time
    frozen_clock.advance(seconds=2)
    assert await status_of(show.seat_ids[0]) == "available", "free the moment the hold expires"
    frozen_clock.advance(minutes=grace)
    taken = await hold(client, bob, show.showtime_id, show.seat_ids[:1])
    assert taken["status"] == "held"
    # the sweeper closes the expired booking; a late payment cannot take the seat back
    await sweep_once(app.state.sessionmaker, context_for_app(app).events)
    late = await client.post(
        f"{API}/bookings/{held['reference']}/pay",
        json={"method": "card", "card_number": "4242424242424242"},
        headers=alice.headers,
    )
    assert late.status_code == 409, late.text
    assert late.json()["code"] in ("hold_expired", "seats_unavailable")
    injected("clock", f"hold of {hold_minutes} min: held at -1 s, free at +1 s, late payment refused")


# --- a read-only SQLite file --------------------------------------------------------------------------


async def test_read_only_sqlite_gives_a_clear_error_and_corrupts_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade_async(url)
    writable = create_app(make_settings(url, tmp_path), run_background=False)
    show = await make_showtime(writable, rows=1, seats_per_row=3)
    alice = await make_customer(writable)
    await writable.state.shutdown()
    before = sqlite3.connect(path).execute("SELECT count(*) FROM showtime_seats").fetchone()
    # Root ignores file modes, so the file is opened read-only by SQLite itself (URI mode=ro); for a
    # non-root service account `chmod 0444` gives the same error (SQLITE_READONLY).
    ro_url = f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true"
    app = create_app(make_settings(ro_url, tmp_path), run_background=False)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as c:
            read = await c.get(f"{API}/showtimes/{show.showtime_id}/seats")
            assert read.status_code == 200, read.text
            write = await c.post(
                f"{API}/bookings",
                json={"showtime_id": show.showtime_id, "seat_ids": show.seat_ids[:1]},
                headers=alice.headers,
            )
            ready = await c.get("/readyz")
    finally:
        await app.state.shutdown()
    assert write.status_code == 503, write.text
    assert write.headers["content-type"].startswith("application/problem+json")
    assert write.json()["code"] == "database_unavailable"
    assert "retry-after" in write.headers
    assert ready.status_code == 200  # reads still work
    assert integrity_check(path) == "ok"
    after = sqlite3.connect(path).execute("SELECT count(*) FROM showtime_seats").fetchone()
    assert before == after
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM bookings").fetchone() == (0,)
    conn.close()
    injected("sqlite_read_only", "write answered 503 database_unavailable; reads fine; integrity ok")


async def test_full_disk_gives_a_clear_error_and_corrupts_nothing(tmp_path: Path) -> None:
    """SQLITE_FULL without filling a real disk: every connection may not grow the file any more."""
    from sqlalchemy import event

    path = tmp_path / "full.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade_async(url)
    app = create_app(make_settings(url, tmp_path), run_background=False)
    try:
        show = await make_showtime(app, rows=1, seats_per_row=3)
        alice = await make_customer(app)
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.close()
        await app.state.engine.dispose()

        def cap(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA max_page_count={pages}")
            cur.close()

        event.listen(app.state.engine.sync_engine, "connect", cap)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as c:
            answers = []
            for i in range(40):  # until the file must grow
                r = await c.post(
                    f"{API}/auth/register",
                    json={
                        "email": f"fill{i}@example.com",
                        "password": "a much longer Passphrase 42",
                        "full_name": "F" * 180,
                    },
                )
                answers.append(r)
                if r.status_code == 503:
                    break
            read = await c.get(f"{API}/showtimes/{show.showtime_id}/seats")
    finally:
        await app.state.shutdown()
    full = answers[-1]
    assert full.status_code == 503, [a.status_code for a in answers]
    assert full.headers["content-type"].startswith("application/problem+json")
    assert full.json()["code"] == "database_unavailable"
    assert read.status_code == 200
    assert integrity_check(path) == "ok"
    assert alice.user.id
    injected("disk_full", f"write {len(answers)} answered 503 database_unavailable; reads fine; integrity ok")


# --- webhooks: five deliveries, out of order ----------------------------------------------------------

from tests.payments.test_stripe import (  # noqa: E402  (fixtures of the payments suite, reused)
    deliver,
    intent_event,
    sclient,
    stand_in,
    stripe_app,
    stripe_pay,
)

__all__ = ["sclient", "stand_in", "stripe_app"]


@pytest.mark.parametrize(
    "order",
    [["ok", "ok", "ok", "ok", "ok"], ["fail", "ok", "fail", "ok", "ok"], ["ok", "fail", "ok", "fail", "ok"]],
)
async def test_webhook_five_times_out_of_order_applies_once(
    stripe_app: FastAPI, sclient: httpx.AsyncClient, stand_in: Any, order: list[str]
) -> None:
    st = await make_showtime(stripe_app, rows=1, seats_per_row=4)
    alice = await make_customer(stripe_app)
    held = await hold(sclient, alice, st.showtime_id, st.seat_ids[:2])
    pending = await stripe_pay(sclient, alice, held["reference"], "pm_card_threeDSecure")
    assert pending.status_code == 202, pending.text
    intent_id = next(iter(stand_in[1].intents))
    events = {
        "ok": intent_event("succeeded", intent_id, "evt_ok"),
        "fail": intent_event("payment_failed", intent_id),
    }
    for name in order:
        assert (await deliver(sclient, events[name])).status_code == 200
    booking = (await sclient.get(f"{API}/bookings/{held['reference']}", headers=alice.headers)).json()
    assert booking["status"] == "confirmed"
    assert [p["status"] for p in booking["payments"]] == ["succeeded"]
    assert len(booking["tickets"]) == 2
    async with transaction(stripe_app.state.sessionmaker, write=False) as session:
        assert (
            await session.scalar(select(Booking.status).where(Booking.reference == held["reference"]))
        ) == ("confirmed")
    injected(f"webhook_{'_'.join(order)}", "applied once, final state confirmed")
