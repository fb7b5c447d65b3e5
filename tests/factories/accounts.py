"""Build users and their credentials in one call."""

from __future__ import annotations

import functools
import re
import secrets
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from boxoffice.accounts.deferred import wait_deferred
from boxoffice.accounts.models import Role, User
from boxoffice.accounts.security import create_access_token, hash_password
from boxoffice.db import transaction
from boxoffice.kit.clock import utc_now
from boxoffice.notifications.models import OutboxEmail

DEFAULT_PASSWORD = "correct horse battery staple"


@functools.lru_cache(maxsize=16)
def _hash(password: str) -> str:
    """One argon2 hash per password for the whole run (a hash verifies for any user that holds it): the
    suite creates well over a thousand users, and each fresh hash costs 50-150 ms of CPU."""
    return hash_password(password)


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
        password_hash=_hash(password),
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


async def outbox(app: FastAPI, *, to: str | None = None) -> list[OutboxEmail]:
    """Emails queued so far (oldest first), optionally only those to `to` (deferred jobs finished first)."""
    await wait_deferred()
    async with transaction(app.state.sessionmaker, write=False) as session:
        query = select(OutboxEmail).order_by(OutboxEmail.id)
        if to is not None:
            query = query.where(OutboxEmail.to_address == to)
        return list(await session.scalars(query))


def link_token(body: str, page: str) -> str:
    """The token of the first `<page>?token=...` link in an email body."""
    match = re.search(rf"/{page}\?token=([A-Za-z0-9_\-]+)", body)
    assert match, f"no /{page} link in: {body!r}"
    return match.group(1)


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str = DEFAULT_PASSWORD, **extra: str
) -> dict[str, Any]:
    """Log in through the API and return the token pair (asserts success)."""
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password, **extra})
    assert response.status_code == 200, response.text
    pair: dict[str, Any] = response.json()
    return pair


def bearer(pair: dict[str, Any]) -> dict[str, str]:
    """The Authorization header of a token pair."""
    return {"Authorization": f"Bearer {pair['access_token']}"}
