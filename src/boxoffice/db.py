"""Database engine, sessions and the declarative Base.

SQLite (the embedded default) runs in WAL mode with foreign keys and a busy timeout. Python's sqlite3
driver manages transactions on its own; we take that over (the SQLAlchemy recipe) so that a write
request opens its transaction with `BEGIN IMMEDIATE`: it queues for the single writer lock up front
instead of failing half-way when a read transaction tries to upgrade.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry
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


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """An async engine for `url`, tuned for SQLite or PostgreSQL."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 15})
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={"command_timeout": 30, "server_settings": {"lock_timeout": "5000"}},
    )


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
