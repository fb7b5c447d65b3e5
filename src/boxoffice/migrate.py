"""Apply the Alembic migrations programmatically (`boxoffice migrate`, tests, `make run`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

_HERE = Path(__file__).resolve().parent
# A checkout keeps migrations/ and alembic.ini at its root; an installed wheel carries them in the package.
ROOT = _HERE.parents[1] if (_HERE.parents[1] / "migrations").is_dir() else _HERE


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at this project's migrations and `database_url`."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = database_url
    cfg.attributes["skip_logging"] = True
    return cfg


def upgrade(database_url: str, revision: str = "heads") -> None:
    """Bring the database at `database_url` to `revision` (all heads by default)."""
    command.upgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str, revision: str = "heads") -> None:
    """`upgrade` from inside a running event loop (Alembic's env runs its own loop)."""
    await asyncio.to_thread(upgrade, database_url, revision)
