"""Data safety: `boxoffice backup` / `restore` for SQLite (online backup API) and PostgreSQL (pg_dump).

The central test writes continuously while backups are taken and checks that every row committed
before a backup began is in it, that the backup passes `PRAGMA integrity_check`, and that a restore
brings those rows back. The booking-level version (every confirmed booking survives) is in
test_backup_bookings.py.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from boxoffice.accounts.models import User
from boxoffice.db import create_engine, create_sessionmaker, transaction
from boxoffice.migrate import upgrade, upgrade_async
from boxoffice.ops.backup import (
    BackupError,
    backup_postgres,
    backup_sqlite,
    integrity_check,
    restore_postgres,
    restore_sqlite,
)
from tests.conftest import create_pg_database, drop_pg_database, require_pg

BOXOFFICE = str(Path(sys.executable).with_name("boxoffice"))


async def _migrated_sqlite(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "live.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade_async(url)
    return path, url


def _glob(folder: Path, pattern: str) -> list[Path]:
    return list(folder.glob(pattern))


def _emails(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {row[0] for row in conn.execute("SELECT email FROM users")}
    finally:
        conn.close()


async def _writer(url: str, committed: list[str], stop: asyncio.Event) -> None:
    """Insert users one transaction at a time, recording each only after its commit."""
    engine = create_engine(url)
    factory = create_sessionmaker(engine)
    n = 0
    try:
        while not stop.is_set():
            email = f"load-{n}@example.com"
            async with transaction(factory) as session:
                session.add(User(email=email, full_name="Load", password_hash="x"))
            committed.append(email)
            n += 1
            await asyncio.sleep(0)
    finally:
        await engine.dispose()


async def test_sqlite_backup_under_load_keeps_every_committed_row(tmp_path: Path) -> None:
    live, url = await _migrated_sqlite(tmp_path)
    committed: list[str] = []
    stop = asyncio.Event()
    writer = asyncio.create_task(_writer(url, committed, stop))
    backups: list[tuple[Path, set[str]]] = []
    try:
        for i in range(5):
            await asyncio.sleep(0.15)
            before = set(committed)  # committed before this backup started
            result = await asyncio.to_thread(backup_sqlite, live, tmp_path / f"b{i}.db")
            backups.append((result.path, before))
    finally:
        stop.set()
        await writer
    assert len(committed) > 20, "the writer made no real load"
    for path, before in backups:
        assert integrity_check(path) == "ok"
        assert before <= _emails(path), "a row committed before the backup is missing from it"
    # The last backup, restored into a fresh file, has the same rows as the backup.
    last, before = backups[-1]
    target = tmp_path / "restored.db"
    restored = restore_sqlite(last, target)
    assert restored.rows > 0
    assert before <= _emails(target)
    assert integrity_check(target) == "ok"


async def test_restore_refuses_a_live_database_without_force(tmp_path: Path) -> None:
    live, _url = await _migrated_sqlite(tmp_path)
    snap = backup_sqlite(live, tmp_path / "snap.db")
    conn = sqlite3.connect(live)
    conn.execute(
        "INSERT INTO users (email, full_name, password_hash, role, is_active, mfa_enabled, "
        "created_at, updated_at) VALUES ('late@example.com', 'Late', 'x', 'customer', 1, 0, "
        "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
    )
    conn.commit()
    conn.close()
    with pytest.raises(BackupError, match="--force"):
        restore_sqlite(snap.path, live)
    assert "late@example.com" in _emails(live), "a refused restore must not touch the database"
    restore_sqlite(snap.path, live, force=True)
    assert "late@example.com" not in _emails(live)
    kept = _glob(tmp_path, "live.db.pre-restore-*")
    assert len(kept) == 1, "the replaced database is kept beside it"
    assert "late@example.com" in _emails(kept[0])


def test_restore_refuses_a_corrupt_backup(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"SQLite format 3\x00" + os.urandom(8192))
    target = tmp_path / "target.db"
    with pytest.raises(BackupError, match="integrity"):
        restore_sqlite(bad, target)
    assert not target.exists()


def test_backup_never_overwrites_and_needs_a_database(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no database"):
        backup_sqlite(tmp_path / "missing.db", tmp_path / "out.db")
    src = tmp_path / "src.db"
    sqlite3.connect(src).close()
    (tmp_path / "out.db").write_text("keep me")
    with pytest.raises(BackupError, match="already exists"):
        backup_sqlite(src, tmp_path / "out.db")
    assert (tmp_path / "out.db").read_text() == "keep me"


def test_cli_backup_and_restore(tmp_path: Path) -> None:
    live = tmp_path / "live.db"
    url = f"sqlite+aiosqlite:///{live}"
    upgrade(url)
    env = {**os.environ, "BOXOFFICE_DATABASE_URL": url, "BOXOFFICE_VAR_DIR": str(tmp_path / "var")}
    done = subprocess.run([BOXOFFICE, "backup"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    files = list((tmp_path / "var" / "backups").glob("*.db"))
    assert len(files) == 1
    assert "integrity ok" in done.stdout
    refused = subprocess.run(
        [BOXOFFICE, "restore", str(files[0])], env=env, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 1
    assert "--force" in refused.stderr
    forced = subprocess.run(
        [BOXOFFICE, "restore", str(files[0]), "--force"], env=env, capture_output=True, text=True, timeout=60
    )
    assert forced.returncode == 0, forced.stderr
    assert integrity_check(live) == "ok"


@pytest.mark.postgres
async def test_postgres_dump_and_restore(tmp_path: Path) -> None:
    await require_pg()
    if shutil.which("pg_dump") is None and not _glob(Path("/usr/lib/postgresql"), "*/bin/pg_dump"):
        pytest.fail("pg_dump is required for the PostgreSQL backup test")
    src_name, src_url = await create_pg_database()
    dst_name, dst_url = await create_pg_database()
    try:
        await upgrade_async(src_url)
        engine = create_engine(src_url)
        async with transaction(create_sessionmaker(engine)) as session:
            session.add_all(
                [User(email=f"pg-{i}@example.com", full_name="Pg", password_hash="x") for i in range(25)]
            )
        await engine.dispose()
        result = await asyncio.to_thread(backup_postgres, src_url, tmp_path / "db.dump")
        assert result.tables > 0
        with pytest.raises(BackupError, match="--force"):
            restore_postgres(result.path, dst_url)
        await asyncio.to_thread(restore_postgres, result.path, dst_url, force=True)
        engine = create_engine(dst_url)
        async with transaction(create_sessionmaker(engine), write=False) as session:
            emails = set((await session.scalars(select(User.email))).all())
        await engine.dispose()
        assert {f"pg-{i}@example.com" for i in range(25)} <= emails
    finally:
        await drop_pg_database(src_name)
        await drop_pg_database(dst_name)


async def test_backup_under_booking_load_keeps_every_confirmed_booking(tmp_path: Path) -> None:
    """Customers book and pay while backups are taken; each backup, restored, has every booking that
    was confirmed before it began, confirmed, with its tickets."""
    import httpx

    from boxoffice.main import create_app
    from tests.conftest import make_settings
    from tests.factories.booking import book_and_pay, make_customer
    from tests.factories.showtimes import make_showtime

    live, url = await _migrated_sqlite(tmp_path)
    app = create_app(make_settings(url, tmp_path), run_background=False)
    confirmed: list[str] = []
    try:
        show = await make_showtime(app, rows=10, seats_per_row=10)
        people = [await make_customer(app) for _ in range(3)]
        seats = list(show.seat_ids)
        stop = asyncio.Event()

        async def customer(who: object) -> None:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                while not stop.is_set() and seats:
                    booking = await book_and_pay(client, who, show.showtime_id, [seats.pop()])  # type: ignore[arg-type]
                    confirmed.append(booking["reference"])

        tasks = [asyncio.create_task(customer(p)) for p in people]
        backups: list[tuple[Path, list[str]]] = []
        for i in range(4):
            await asyncio.sleep(0.5)
            before = list(confirmed)
            result = await asyncio.to_thread(backup_sqlite, live, tmp_path / f"load-{i}.db")
            backups.append((result.path, before))
        stop.set()
        await asyncio.gather(*tasks)
    finally:
        await app.state.shutdown()
    assert len(confirmed) >= 5, "the load confirmed too few bookings to prove anything"
    checked = 0
    for path, before in backups:
        target = tmp_path / f"restored-{path.stem}.db"
        restore_sqlite(path, target)
        conn = sqlite3.connect(target)
        try:
            rows = dict(conn.execute("SELECT reference, status FROM bookings").fetchall())
            tickets = dict(
                conn.execute(
                    "SELECT b.reference, count(t.id) FROM bookings b JOIN tickets t ON t.booking_id = b.id "
                    "WHERE t.status = 'valid' GROUP BY b.reference"
                ).fetchall()
            )
        finally:
            conn.close()
        missing = [ref for ref in before if rows.get(ref) != "confirmed" or tickets.get(ref) != 1]
        assert not missing, f"{path.name}: confirmed bookings missing after restore: {missing}"
        checked += len(before)
    from tests.reliability.figures import record

    record(
        "backup",
        {
            "backups_under_load": len(backups),
            "confirmed_bookings_checked_after_restore": checked,
            "bookings_lost": 0,
        },
    )
