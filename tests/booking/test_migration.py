"""Migration 0004 gives the same schema as the booking and payment models, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi import FastAPI

from boxoffice.db import Base

MY_TABLES = {
    "bookings",
    "booking_items",
    "tickets",
    "idempotency_records",
    "payments",
    "payment_items",
    "refunds",
    "webhook_events",
}


def _table_of(diff: Any) -> str | None:
    if isinstance(diff, list):  # column modifications come as a list of tuples
        return _table_of(diff[0])
    for part in diff[1:]:
        name = getattr(part, "name", None)
        table = getattr(part, "table", None)
        if table is not None and getattr(table, "name", None):
            return str(table.name)
        if isinstance(part, str) and part in MY_TABLES:
            return part
        if name in MY_TABLES:
            return str(name)
    return None


async def test_migrated_schema_matches_the_models(app: FastAPI) -> None:
    def compare(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with app.state.engine.connect() as conn:
        diffs = await conn.run_sync(compare)
    mine = [d for d in diffs if _table_of(d) in MY_TABLES]
    assert mine == []
