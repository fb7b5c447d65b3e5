"""The PostgreSQL pool pings a connection only after it sat idle, and replaces one that went stale."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import event, text

from boxoffice.db import create_engine
from tests.conftest import (
    PG_ADMIN_DB,
    PG_HOST,
    PG_PORT,
    PG_USER,
    create_pg_database,
    drop_pg_database,
    require_pg,
)


async def _backend_pid(engine: object) -> int:
    async with engine.connect() as conn:  # type: ignore[attr-defined]
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _terminate(pid: int) -> None:
    admin = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=PG_ADMIN_DB)
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    await require_pg()
    name, url = await create_pg_database()
    yield url
    await drop_pg_database(name)


async def test_busy_connections_are_not_pinged(pg_url: str) -> None:
    engine = create_engine(pg_url, pool_size=1, ping_after_idle=60)
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        for _ in range(5):
            await _backend_pid(engine)
        assert statements == ["SELECT pg_backend_pid()"] * 5  # no ping round trip per checkout
    finally:
        await engine.dispose()


async def test_an_idle_connection_that_went_stale_is_replaced(pg_url: str) -> None:
    engine = create_engine(pg_url, pool_size=1, ping_after_idle=0.2)
    try:
        first = await _backend_pid(engine)
        await _terminate(first)  # the server restarted, or a firewall dropped the idle socket
        await asyncio.sleep(0.3)
        second = await _backend_pid(engine)  # pinged, found dead, reconnected: no error reaches the caller
        assert second != first
    finally:
        await engine.dispose()
