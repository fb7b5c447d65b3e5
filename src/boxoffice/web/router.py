"""Every page router, CSRF-checked as one: included at the site root by `boxoffice.web.install`."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from boxoffice.web.deps import verify_csrf
from boxoffice.web.routes import (
    account,
    assets,
    backoffice,
    booking,
    changes,
    edit_catalog,
    editing,
    manage,
    public,
    staff,
)

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_csrf)])
for _module in (assets, public, account, booking, changes, backoffice, manage, editing, edit_catalog, staff):
    router.include_router(_module.router)
