"""Database engine, sessions and the declarative Base.

SQLite (the embedded default) runs in WAL mode with foreign keys and a busy timeout. Python's sqlite3
driver manages transactions on its own; we take that over (the SQLAlchemy recipe) so that a write
request opens its transaction with `BEGIN IMMEDIATE`: it queues for the single writer lock up front
instead of failing half-way when a read transaction tries to upgrade.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlalchemy.types import TypeDecorator

from boxoffice.kit.clock import as_utc

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Set by the request's session dependency: True when the request may write (POST, PUT, PATCH, DELETE).
write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=False)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores it naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else as_utc(value)


class Base(DeclarativeBase):
    """Base of every ORM model, with constraint names that migrations can rely on."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


def _sqlite_connect(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
    dbapi_conn.isolation_level = None  # we emit BEGIN ourselves, see _sqlite_begin
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")


# A pooled PostgreSQL connection idle for longer than this is pinged before use (see _ping_if_idle).
PING_AFTER_IDLE_SECONDS = 10.0


def _ping_if_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """Ping a pooled connection before use only when it sat idle for `idle_seconds`.

    SQLAlchemy's `pool_pre_ping` pings on every checkout: one more round trip for every request. A
    connection that served a request a moment ago is alive; the ones that go stale (a database restarted
    at night, a firewall dropping idle sockets) are the idle ones, and those are still pinged, and replaced
    when the ping fails. A connection that breaks while busy is detected by the error itself: SQLAlchemy
    then discards every connection of the pool, and the request answers 503.
    """
    sync_engine = engine.sync_engine
    dialect = sync_engine.dialect

    def checkin(_dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    def checkout(dbapi_conn: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            dialect.do_ping(dbapi_conn)
        except Exception as exc:  # the pool reconnects and retries the checkout
            raise DisconnectionError("stale pooled connection") from exc

    event.listen(sync_engine, "checkin", checkin)
    event.listen(sync_engine, "checkout", checkout)


def create_engine(
    url: str, *, pool_size: int = 10, echo: bool = False, ping_after_idle: float = PING_AFTER_IDLE_SECONDS
) -> AsyncEngine:
    """An async engine for `url`, tuned for SQLite or PostgreSQL."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 15})
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    engine = create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        connect_args={"command_timeout": 30, "server_settings": {"lock_timeout": "5000"}},
    )
    _ping_if_idle(engine, ping_after_idle)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit (responses are built after the commit)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


AfterCommit = Callable[[], Any]


def after_commit(session: AsyncSession, action: AfterCommit) -> None:
    """Run `action` (sync or async) once the surrounding transaction has committed."""
    session.info.setdefault("after_commit", []).append(action)


async def run_after_commit(session: AsyncSession) -> None:
    """Run and clear the actions queued with `after_commit`; a failing action never fails the request."""
    actions: list[AfterCommit] = session.info.pop("after_commit", [])
    for action in actions:
        try:
            result = action()
            if hasattr(result, "__await__"):
                await result
        except Exception:
            logging.getLogger("boxoffice.db").exception("after-commit action failed")


@asynccontextmanager
async def transaction(
    factory: async_sessionmaker[AsyncSession], *, write: bool = True
) -> AsyncIterator[AsyncSession]:
    """One transaction: commit on success, roll back on error, then run after-commit actions."""
    token = write_intent.set(write)
    try:
        async with factory() as session:
            try:
                yield session
                if session.in_transaction():  # a request that never used the database: nothing to commit
                    await session.commit()
            except BaseException:
                await session.rollback()
                raise
            await run_after_commit(session)
    finally:
        write_intent.reset(token)
