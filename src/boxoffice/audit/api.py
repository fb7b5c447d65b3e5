"""`GET /admin/audit`: the audit log, for admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from boxoffice.accounts.deps import AdminUser
from boxoffice.audit import service
from boxoffice.audit.schemas import AuditEntryRead
from boxoffice.deps import SessionDep
from boxoffice.kit.pagination import Page, PageDep

router = APIRouter(prefix="/admin/audit", tags=["admin"])

_TEXT = r"^[A-Za-z0-9_.:\-]*$"


@router.get("", response_model=Page[AuditEntryRead])
async def list_audit(
    session: SessionDep,
    _admin: AdminUser,
    page: PageDep,
    actor_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    action: Annotated[str | None, Query(max_length=64, pattern=_TEXT)] = None,
    subject_type: Annotated[str | None, Query(max_length=32, pattern=_TEXT)] = None,
    subject_id: Annotated[str | None, Query(max_length=64, pattern=_TEXT)] = None,
) -> Page[AuditEntryRead]:
    """Audit entries, newest first, filtered by actor, action and subject."""
    rows, total = await service.list_entries(
        session,
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        offset=page.offset,
        limit=page.per_page,
    )
    return Page(
        items=[AuditEntryRead.model_validate(r) for r in rows],
        total=total,
        page=page.page,
        per_page=page.per_page,
    )
