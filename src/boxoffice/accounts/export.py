"""`GET /me/export`: everything stored about the caller. Other domains add sections here at import time

    register_export_section("bookings", my_bookings_export)   # async fn(session, user) -> JSON-able

so that accounts never imports them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.models import User
from boxoffice.accounts.schemas import AdminUserRead, ExportDocument
from boxoffice.audit.models import AuditEntry
from boxoffice.audit.service import entries_about_user

ExportSection = Callable[[AsyncSession, User], Awaitable[Any]]

_sections: dict[str, ExportSection] = {}


def register_export_section(name: str, fn: ExportSection) -> None:
    """Add (or replace) a named section of the export document."""
    _sections[name] = fn


def _entry(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at.isoformat(),
        "action": entry.action,
        "actor_id": entry.actor_id,
        "subject_type": entry.subject_type,
        "subject_id": entry.subject_id,
        "ip": entry.ip,
        "data": entry.data,
    }


async def _audit_section(session: AsyncSession, user: User) -> Any:
    return [_entry(e) for e in await entries_about_user(session, user_id=user.id)]


async def export_user(session: AsyncSession, *, user: User) -> ExportDocument:
    """The profile, the audit entries about the user, and every registered section."""
    sections: dict[str, Any] = {"audit": await _audit_section(session, user)}
    for name, fn in sorted(_sections.items()):
        sections[name] = await fn(session, user)
    return ExportDocument(profile=AdminUserRead.model_validate(user), sections=sections)
