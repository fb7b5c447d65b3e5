"""Migration 0002 gives the same schema as the account, audit and outbox models, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi import FastAPI

from boxoffice.db import Base

MY_TABLES = {"users", "refresh_tokens", "account_tokens", "mfa_recovery_codes", "audit_log", "email_outbox"}


def _tables_of(diff: Any) -> set[str]:
    if isinstance(diff, list):  # column modifications come as a list of tuples
        return set().union(*(_tables_of(d) for d in diff))
    found: set[str] = set()
    for part in diff[1:] if isinstance(diff, tuple) else ():
        table = getattr(part, "table", None)
        if table is not None and getattr(table, "name", None):
            found.add(str(table.name))
        if isinstance(part, str) and part in MY_TABLES:
            found.add(part)
        if getattr(part, "name", None) in MY_TABLES:
            found.add(str(part.name))
    return found


async def test_migrated_schema_matches_the_models(app: FastAPI) -> None:
    def compare(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with app.state.engine.connect() as conn:
        diffs = await conn.run_sync(compare)
    mine = [d for d in diffs if _tables_of(d) & MY_TABLES]
    assert mine == []
