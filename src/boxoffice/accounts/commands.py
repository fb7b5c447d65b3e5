"""Account tasks run from the command line (outside any request)."""

from __future__ import annotations

from boxoffice.accounts import repository as repo
from boxoffice.accounts.models import Role, User
from boxoffice.accounts.passwords import check_password
from boxoffice.accounts.schemas import valid_email
from boxoffice.accounts.security import hash_password
from boxoffice.audit.service import log_action
from boxoffice.config import Settings
from boxoffice.db import create_engine, create_sessionmaker, transaction
from boxoffice.errors import Conflict, Unprocessable
from boxoffice.kit.clock import utc_now


async def create_admin_account(settings: Settings, *, email: str, password: str, full_name: str) -> None:
    """Create a verified admin (the first admin of a fresh install); policy-checked, no duplicates."""
    try:
        address = valid_email(email)
    except ValueError as exc:
        raise Unprocessable(f"invalid email address: {exc}", code="invalid_email") from exc
    full_name = full_name.strip()[:200] or "Administrator"
    check_password(password, email=address, full_name=full_name)
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            if await repo.email_in_use(session, address):
                raise Conflict(f"an account with the email {address} already exists", code="email_taken")
            user = User(
                email=address,
                full_name=full_name,
                role=Role.admin,
                password_hash=hash_password(password),
                email_verified_at=utc_now(),
            )
            session.add(user)
            await session.flush()
            await log_action(
                session,
                action="account.created",
                actor_id=None,
                subject_type="user",
                subject_id=user.id,
                data={"role": "admin", "via": "cli"},
            )
    finally:
        await engine.dispose()
