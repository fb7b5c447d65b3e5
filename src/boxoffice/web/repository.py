"""The few queries of the web layer itself (pages otherwise call the domains' services)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.models import User


@dataclass(frozen=True)
class SessionAccount:
    """What a session check needs to know about its account."""

    is_active: bool
    deleted_at: datetime | None
    password_changed_at: datetime | None
    tokens_valid_after: datetime | None


async def session_account(session: AsyncSession, *, user_id: int) -> SessionAccount | None:
    """The account state behind a page session, or None when the account is gone."""
    row = (
        await session.execute(
            select(User.is_active, User.deleted_at, User.password_changed_at, User.tokens_valid_after).where(
                User.id == user_id
            )
        )
    ).first()
    return None if row is None else SessionAccount(row[0], row[1], row[2], row[3])
