"""Merge the accounts and booking branches into one line of history.

The first migrations were written in parallel, one branch per domain off the initial schema; from here on
the tree has a single head, so `alembic upgrade head` and new revisions work as usual.

Revision ID: 0005
Revises: 0002, 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

revision: str = "0005"
down_revision: str | Sequence[str] | None = ("0002", "0004")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to change: the merge only joins the branches."""


def downgrade() -> None:
    """Nothing to change: the merge only joins the branches."""
