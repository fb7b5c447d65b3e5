"""The migration tree: one head, and a migrated database equal to the models on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import FastAPI

from boxoffice.db import Base
from boxoffice.migrate import alembic_config


def test_the_tree_has_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite:///:memory:"))
    assert script.get_heads() == ["0006"]


async def test_the_migrated_schema_matches_every_model(app: FastAPI) -> None:
    def compare(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with app.state.engine.connect() as conn:
        diffs = await conn.run_sync(compare)
    assert diffs == []
