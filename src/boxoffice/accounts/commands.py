"""Account tasks run from the command line (outside any request)."""

from __future__ import annotations

from boxoffice.accounts.models import Role, User
from boxoffice.accounts.security import hash_password
from boxoffice.config import Settings
from boxoffice.db import create_engine, create_sessionmaker, transaction
from boxoffice.kit.clock import utc_now


async def create_admin_account(settings: Settings, *, email: str, password: str, full_name: str) -> None:
    """Create a verified admin (the first admin of a fresh install)."""
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            session.add(
                User(
                    email=email.strip().lower(),
                    full_name=full_name,
                    role=Role.admin,
                    password_hash=hash_password(password),
                    email_verified_at=utc_now(),
                )
            )
    finally:
        await engine.dispose()
