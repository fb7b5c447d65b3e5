"""Outbox queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.notifications.models import OutboxEmail


async def claim_due(
    session: AsyncSession, *, now: datetime, lease: timedelta, limit: int
) -> Sequence[OutboxEmail]:
    """Take up to `limit` due emails: count the attempt and lease them (rows another worker has locked
    are skipped on PostgreSQL)."""
    rows = (
        await session.scalars(
            select(OutboxEmail)
            .where(OutboxEmail.status == "pending", OutboxEmail.next_attempt_at <= now)
            .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for row in rows:
        row.attempts += 1
        row.next_attempt_at = now + lease
    await session.flush()
    return rows


async def update_email(session: AsyncSession, *, email_id: int, values: dict[str, Any]) -> None:
    """Record the outcome of a delivery attempt."""
    await session.execute(update(OutboxEmail).where(OutboxEmail.id == email_id).values(**values))
