"""Test fixtures: every API test runs on SQLite and on PostgreSQL, against migrated databases.

Each database is created fresh for the run (PostgreSQL: a uniquely named database on the `test` server,
dropped afterwards) and brought up with the Alembic migrations, so the migrations are tested too.
Tests are isolated by emptying every table after each test.

PostgreSQL: with CI=true it is required and its absence fails the run loudly; elsewhere the PostgreSQL
half is skipped (and reported) when the server does not answer.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import text

from boxoffice.config import Settings
from boxoffice.db import Base
from boxoffice.kit import clock
from boxoffice.main import create_app
from boxoffice.migrate import upgrade_async
from boxoffice.model_registry import import_all_models

import_all_models()

PG_HOST = os.environ.get("BOXOFFICE_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("BOXOFFICE_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("BOXOFFICE_TEST_PG_USER", "postgres")
PG_ADMIN_DB = os.environ.get("BOXOFFICE_TEST_PG_DB", "test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TEST_SECRET = secrets.token_urlsafe(48)

_pg_state: dict[str, Any] = {}


async def pg_available() -> bool:
    """True when the PostgreSQL test server answers."""
    if "ok" not in _pg_state:
        try:
            conn = await asyncpg.connect(
                host=PG_HOST, port=PG_PORT, user=PG_USER, database=PG_ADMIN_DB, timeout=5
            )
            await conn.close()
            _pg_state["ok"] = True
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            _pg_state["ok"] = False
            _pg_state["error"] = repr(exc)
    return bool(_pg_state["ok"])


async def require_pg() -> None:
    """Skip (or, in CI, fail loudly) when PostgreSQL is missing."""
    if not await pg_available():
        message = f"PostgreSQL not reachable at {PG_HOST}:{PG_PORT}/{PG_ADMIN_DB}: {_pg_state.get('error')}"
        if IN_CI:
            pytest.fail("CI=true requires PostgreSQL: " + message, pytrace=False)
        pytest.skip(message + " (PostgreSQL tests skipped outside CI)")


async def create_pg_database() -> tuple[str, str]:
    """Create an empty, uniquely named database; returns (name, SQLAlchemy URL)."""
    name = f"bo_test_{os.getpid()}_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=PG_ADMIN_DB)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name, f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


async def drop_pg_database(name: str) -> None:
    """Drop a database made by create_pg_database."""
    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=PG_ADMIN_DB)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest_asyncio.fixture(scope="session", params=["sqlite", "postgres"])
async def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A migrated database URL, once per backend for the whole run."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "boxoffice.db"
        url = f"sqlite+aiosqlite:///{path}"
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


def make_settings(db_url: str, var_dir: Path, **overrides: Any) -> Settings:
    """Settings for an app under test."""
    values: dict[str, Any] = {
        "env": "test",
        "database_url": db_url,
        "var_dir": var_dir,
        "secret_key": TEST_SECRET,
        "base_url": "http://testserver",
        "log_level": "WARNING",
    }
    values.update(overrides)
    return Settings(**values)


@pytest_asyncio.fixture(scope="session")
async def app(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    """The app under test, bound to the backend's database; background loops off (tests drive them)."""
    var_dir = tmp_path_factory.mktemp("var")
    application = create_app(make_settings(db_url, var_dir), run_background=False)
    yield application
    await application.state.shutdown()


@pytest.fixture
def backend(db_url: str) -> str:
    """'sqlite' or 'postgres'."""
    return "sqlite" if db_url.startswith("sqlite") else "postgres"


async def truncate_all(application: FastAPI) -> None:
    """Empty every table (faster than re-migrating, and exercises real commits)."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with application.state.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                await conn.execute(text(f"DELETE FROM {table}"))


@pytest_asyncio.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in-process; the database is emptied after the test."""
    for hook in getattr(app.state, "test_reset_hooks", []):
        hook()
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 5555))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c
    finally:
        await truncate_all(app)


class FrozenClock:
    """An injected clock for expiry tests: starts at real now, moves only when told."""

    def __init__(self) -> None:
        self.now = datetime.now(clock.utc_now().tzinfo)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move time forward, e.g. advance(minutes=11)."""
        from datetime import timedelta

        self.now += timedelta(**delta)


@pytest.fixture
def frozen_clock() -> Iterator[FrozenClock]:
    """Replace boxoffice's clock for the duration of a test."""
    fc = FrozenClock()
    clock.set_clock(fc)
    try:
        yield fc
    finally:
        clock.set_clock(None)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the PostgreSQL half of parametrised tests so `-m postgres` selects it."""
    for item in items:
        if "[postgres" in item.nodeid or "-postgres" in item.nodeid:
            item.add_marker(pytest.mark.postgres)
