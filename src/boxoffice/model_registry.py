"""Import every domain's models so that Base.metadata knows all tables (Alembic, tests)."""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "boxoffice.accounts.models",
    "boxoffice.audit.models",
    "boxoffice.notifications.models",
    "boxoffice.catalog.models",
    "boxoffice.venues.models",
    "boxoffice.showtimes.models",
    "boxoffice.booking.models",
    "boxoffice.payments.models",
)


def import_all_models() -> None:
    """Import each module listed in MODEL_MODULES (idempotent)."""
    for name in MODEL_MODULES:
        importlib.import_module(name)
