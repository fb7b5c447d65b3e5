"""No seat is ever sold twice: >= 200 concurrent clients race for a 100-seat showtime on a real server.

The server runs as a separate process (`boxoffice serve`), on SQLite with one worker and on PostgreSQL with
two workers; each client is its own verified user with its own connection. Afterwards the database must
show no seat in two live bookings, every 201 backed by seats really held or sold for it, and
held + sold + available = total.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, insert, select

from boxoffice.accounts.models import Role, User
from boxoffice.accounts.security import create_access_token
from boxoffice.booking.models import Booking, BookingItem, BookingStatus
from boxoffice.db import create_engine, create_sessionmaker, transaction
from boxoffice.kit.clock import utc_now
from boxoffice.main import create_app
from boxoffice.migrate import upgrade_async
from boxoffice.showtimes.models import SeatStatus, ShowtimeSeat
from tests.conftest import TEST_SECRET, create_pg_database, drop_pg_database, make_settings, require_pg
from tests.factories.showtimes import make_showtime

CLIENTS = 220
SEATS = 100
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(params=["sqlite", "postgres"])
def backend_name(request: pytest.FixtureRequest) -> str:
    """Which database the server runs on."""
    return str(request.param)


@pytest_asyncio.fixture
async def race_db(backend_name: str, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh migrated database for the race."""
    if backend_name == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'race.db'}"
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


@pytest.fixture
def server(race_db: str, backend_name: str, tmp_path: Path) -> Iterator[str]:
    """`boxoffice serve` in a subprocess (two workers on PostgreSQL); yields its base URL."""
    port = _free_port()
    workers = "2" if backend_name == "postgres" else "1"
    env = {
        **os.environ,
        "BOXOFFICE_ENV": "test",
        "BOXOFFICE_DATABASE_URL": race_db,
        "BOXOFFICE_SECRET_KEY": TEST_SECRET,
        "BOXOFFICE_VAR_DIR": str(tmp_path / "var"),
        "BOXOFFICE_LOG_LEVEL": "WARNING",
        "BOXOFFICE_DB_POOL_SIZE": "8",
        "BOXOFFICE_REDIS_URL": "",
    }
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "boxoffice.cli", "serve", "--port", str(port), "--workers", workers],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # a loaded 2-core box imports slowly
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start: " + (tmp_path / "server.log").read_text()[-3000:])
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


async def _seed(url: str, var_dir: Path) -> tuple[int, list[int], list[tuple[int, str]]]:
    """A 100-seat showtime and CLIENTS verified customers with bearer tokens (direct inserts, fast)."""
    app = create_app(make_settings(url, var_dir), run_background=False)
    try:
        st = await make_showtime(app, rows=10, seats_per_row=10)
        now = utc_now()
        async with transaction(app.state.sessionmaker) as session:
            await session.execute(
                insert(User),
                [
                    {
                        "email": f"racer{i}@example.com",
                        "full_name": f"Racer {i}",
                        "password_hash": "!",
                        "role": Role.customer,
                        "is_active": True,
                        "email_verified_at": now,
                        "mfa_enabled": False,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in range(CLIENTS)
                ],
            )
            ids = (await session.scalars(select(User.id).where(User.email.like("racer%")))).all()
        tokens = [
            (uid, create_access_token(app.state.settings, user_id=uid, role="customer")[0]) for uid in ids
        ]
        return st.showtime_id, st.seat_ids, tokens
    finally:
        await app.state.shutdown()


async def _race(
    base: str, showtime_id: int, seat_ids: list[int], token: str, rng: random.Random
) -> dict[str, Any]:
    wanted = rng.sample(seat_ids, rng.randint(1, 4))
    pays = rng.random() < 0.5
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        response = await client.post(
            "/api/v1/bookings", json={"showtime_id": showtime_id, "seat_ids": wanted}, headers=headers
        )
        result: dict[str, Any] = {"status": response.status_code, "seats": wanted, "body": response.json()}
        if response.status_code == 201 and pays:
            paid = await client.post(
                f"/api/v1/bookings/{result['body']['reference']}/pay",
                json={"card_number": "4242424242424242"},
                headers=headers,
            )
            result["paid"] = paid.status_code
        return result


async def _listen(base: str, showtime_id: int, seen: dict[int, str]) -> None:
    """Follow the showtime's SSE stream, keeping each seat's last announced status."""
    async with (
        httpx.AsyncClient(base_url=base, timeout=None) as client,
        client.stream("GET", f"/api/v1/showtimes/{showtime_id}/events") as response,
    ):
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                for seat in json.loads(line[6:])["seats"]:
                    seen[seat["seat_id"]] = seat["status"]


async def test_no_seat_is_sold_twice_under_a_real_race(server: str, race_db: str, tmp_path: Path) -> None:
    showtime_id, seat_ids, tokens = await _seed(race_db, tmp_path / "seed")
    seen: dict[int, str] = {}
    listener = asyncio.create_task(_listen(server, showtime_id, seen))
    await asyncio.sleep(1.0)  # the stream is open (on one of the workers)
    rng = random.Random(4)
    started = time.monotonic()
    results = await asyncio.wait_for(
        asyncio.gather(
            *(_race(server, showtime_id, seat_ids, t, random.Random(rng.random())) for _, t in tokens)
        ),
        timeout=120,
    )
    elapsed = time.monotonic() - started
    statuses = Counter(r["status"] for r in results)
    assert set(statuses) <= {201, 409, 503}, statuses
    assert statuses[201] > 0
    assert all(
        r["body"]["code"] in ("seats_unavailable", "busy_try_again") for r in results if r["status"] != 201
    )
    assert all(r.get("paid", 200) == 200 for r in results), [r.get("paid") for r in results]
    won = {r["body"]["reference"]: sorted(r["seats"]) for r in results if r["status"] == 201}
    taken = {seat for seats in won.values() for seat in seats}
    for _ in range(50):  # events follow the commits by a moment
        if {k for k, v in seen.items() if v != "available"} == taken:
            break
        await asyncio.sleep(0.2)
    listener.cancel()
    # Every claim reached the live stream, whichever worker served it (LISTEN/NOTIFY with two workers).
    assert {k for k, v in seen.items() if v != "available"} == taken

    engine = create_engine(race_db, pool_size=1)
    try:
        async with transaction(create_sessionmaker(engine), write=False) as session:
            seats = (
                await session.scalars(select(ShowtimeSeat).where(ShowtimeSeat.showtime_id == showtime_id))
            ).all()
            bookings = {
                b.id: b
                for b in (
                    await session.scalars(select(Booking).where(Booking.showtime_id == showtime_id))
                ).all()
            }
            items = (await session.execute(select(BookingItem.booking_id, BookingItem.seat_id))).all()
            live = {BookingStatus.held, BookingStatus.confirmed}
            per_seat = Counter(seat for booking_id, seat in items if bookings[booking_id].status in live)
            assert max(per_seat.values()) == 1, "a seat is in two live bookings"
            by_ref = {b.reference: b for b in bookings.values()}
            assert set(by_ref) == set(won), "every booking row answers a 201, and every 201 has its row"
            owner_of = {s.seat_id: s.booking_id for s in seats}
            state_of = {s.seat_id: s.status for s in seats}
            for reference, wanted in won.items():
                booking = by_ref[reference]
                assert sorted(i for b, i in items if b == booking.id) == wanted
                for seat in wanted:
                    assert owner_of[seat] == booking.id
                    expected = (
                        SeatStatus.sold if booking.status == BookingStatus.confirmed else SeatStatus.held
                    )
                    assert state_of[seat] == expected
            counts = Counter(s.status for s in seats)
            assert counts[SeatStatus.held] + counts[SeatStatus.sold] + counts[SeatStatus.available] == SEATS
            assert counts[SeatStatus.held] + counts[SeatStatus.sold] == sum(len(v) for v in won.values())
            total = await session.scalar(select(func.count()).select_from(ShowtimeSeat))
            assert total == SEATS
    finally:
        await engine.dispose()
    print(f"\n{len(results)} clients, {dict(statuses)}, {len(won)} bookings, {elapsed:.1f}s")  # noqa: T201
