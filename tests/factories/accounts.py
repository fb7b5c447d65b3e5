"""Build users and their credentials in one call."""

from __future__ import annotations

import secrets

from fastapi import FastAPI

from boxoffice.accounts.models import Role, User
from boxoffice.accounts.security import create_access_token, hash_password
from boxoffice.db import transaction
from boxoffice.kit.clock import utc_now

DEFAULT_PASSWORD = "correct horse battery staple"


async def make_user(
    app: FastAPI,
    *,
    role: Role = Role.customer,
    email: str | None = None,
    full_name: str = "Test Person",
    password: str = DEFAULT_PASSWORD,
    verified: bool = True,
    active: bool = True,
) -> User:
    """Insert a user straight into the database."""
    user = User(
        email=email or f"{role.value}-{secrets.token_hex(4)}@example.com",
        full_name=full_name,
        role=role,
        password_hash=hash_password(password),
        email_verified_at=utc_now() if verified else None,
        is_active=active,
    )
    async with transaction(app.state.sessionmaker) as session:
        session.add(user)
        await session.flush()
    return user


def auth_headers(app: FastAPI, user: User) -> dict[str, str]:
    """A bearer header for `user`, minted directly (no login round-trip)."""
    token, _ = create_access_token(app.state.settings, user_id=user.id, role=user.role.value)
    return {"Authorization": f"Bearer {token}"}
