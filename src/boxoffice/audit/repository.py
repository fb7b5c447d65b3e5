"""Audit log queries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.audit.models import AuditEntry


async def list_entries(
    session: AsyncSession,
    *,
    actor_id: int | None,
    action: str | None,
    subject_type: str | None,
    subject_id: str | None,
    offset: int,
    limit: int,
) -> tuple[Sequence[AuditEntry], int]:
    """Entries matching every given filter, newest first, and how many match."""
    query = select(AuditEntry)
    if actor_id is not None:
        query = query.where(AuditEntry.actor_id == actor_id)
    if action:
        query = query.where(AuditEntry.action == action)
    if subject_type:
        query = query.where(AuditEntry.subject_type == subject_type)
    if subject_id:
        query = query.where(AuditEntry.subject_id == subject_id)
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = await session.scalars(
        query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).offset(offset).limit(limit)
    )
    return rows.all(), total


async def entries_about_user(session: AsyncSession, *, user_id: int) -> Sequence[AuditEntry]:
    """Every entry the user did or that was done to the user, oldest first."""
    query = select(AuditEntry).where(
        or_(
            AuditEntry.actor_id == user_id,
            (AuditEntry.subject_type == "user") & (AuditEntry.subject_id == str(user_id)),
        )
    )
    return (await session.scalars(query.order_by(AuditEntry.at, AuditEntry.id))).all()
