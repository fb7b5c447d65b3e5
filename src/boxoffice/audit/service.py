"""Write and read the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.audit import repository
from boxoffice.audit.models import AuditEntry

_INSERT_ENTRY = insert(AuditEntry)


async def log_action(
    session: AsyncSession,
    *,
    action: str,
    actor_id: int | None,
    subject_type: str = "",
    subject_id: str | int = "",
    ip: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Record `action` in the same transaction as the change it describes (one INSERT, at once)."""
    await session.execute(
        _INSERT_ENTRY,
        [
            {
                "action": action,
                "actor_id": actor_id,
                "subject_type": subject_type,
                "subject_id": str(subject_id),
                "ip": ip,
                "data": data or {},
            }
        ],
    )


async def list_entries(
    session: AsyncSession,
    *,
    actor_id: int | None = None,
    action: str | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    offset: int = 0,
    limit: int = 20,
) -> tuple[Sequence[AuditEntry], int]:
    """A page of the log, newest first, filtered; and the number of matching entries."""
    return await repository.list_entries(
        session,
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        offset=offset,
        limit=limit,
    )


async def entries_about_user(session: AsyncSession, *, user_id: int) -> Sequence[AuditEntry]:
    """Every entry the user did or that was done to the user, oldest first (the account export)."""
    return await repository.entries_about_user(session, user_id=user_id)
