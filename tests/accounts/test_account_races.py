"""Account races on both databases, fired concurrently in-process (each request on its own connection):
one TOTP code opens one session however many sign-ins present it at once, and two admins removing each
other at once leave an admin.

A gate holds each request right after it read what the rule depends on (the user row for the TOTP step,
the count of active admins) until every request of the race has read it, or a short while has passed
(SQLite runs one writer at a time, so there the others are still queued): every request then decides on
the same reading, the widest window a real race can open. It does not decide anything itself.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from boxoffice.accounts import repository as repo
from boxoffice.accounts.models import Role, User
from boxoffice.db import transaction
from tests.factories.accounts import DEFAULT_PASSWORD, auth_headers, make_user

API = "/api/v1"
SIGN_INS = 6


class Gate:
    """Let callers pass once `parties` of them arrived, or `timeout` seconds after the first did."""

    def __init__(self, parties: int, timeout: float) -> None:
        self.parties, self.timeout, self.arrived = parties, timeout, 0
        self.open = asyncio.Event()

    async def wait(self) -> None:
        """Arrive and wait for the others."""
        self.arrived += 1
        if self.arrived >= self.parties:
            self.open.set()
        try:
            await asyncio.wait_for(self.open.wait(), self.timeout)
        except TimeoutError:
            self.open.set()


def gated(monkeypatch: pytest.MonkeyPatch, name: str, gate: Gate) -> Callable[..., Awaitable[Any]]:
    """Wrap `repository.<name>` so that every call waits at `gate` after it ran."""
    original: Callable[..., Awaitable[Any]] = getattr(repo, name)

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = await original(*args, **kwargs)
        await gate.wait()
        return result

    monkeypatch.setattr(repo, name, wrapper)
    return original


def caller(app: FastAPI, n: int) -> httpx.AsyncClient:
    """A client of its own (its own address, so no rate limit is shared between the racers)."""
    transport = httpx.ASGITransport(app=app, client=(f"198.51.100.{10 + n}", 4000 + n))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def with_two_factor(app: FastAPI, user: User) -> pyotp.TOTP:
    """Turn two-factor on for `user` straight in the database; its authenticator."""
    secret = pyotp.random_base32()
    async with transaction(app.state.sessionmaker) as session:
        row = await session.get(User, user.id)
        assert row is not None
        row.totp_secret, row.mfa_enabled = secret, True
    return pyotp.TOTP(secret)


async def test_one_totp_code_opens_one_session_under_concurrent_sign_ins(
    app: FastAPI, client: httpx.AsyncClient, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await make_user(app, email="racer@example.com")
    totp = await with_two_factor(app, user)
    gated(monkeypatch, "get_user", Gate(SIGN_INS, 3.0 if backend == "postgres" else 0.5))
    code = totp.now()

    async def sign_in(n: int) -> httpx.Response:
        async with caller(app, n) as c:
            body = {"email": user.email, "password": DEFAULT_PASSWORD, "otp": code}
            return await c.post(f"{API}/auth/login", json=body)

    answers = await asyncio.wait_for(asyncio.gather(*(sign_in(n) for n in range(SIGN_INS))), 60)
    statuses = Counter(a.status_code for a in answers)
    assert statuses == {200: 1, 401: SIGN_INS - 1}, [a.text for a in answers]
    assert all(a.json()["code"] == "invalid_otp" for a in answers if a.status_code == 401)


async def active_admins(app: FastAPI) -> int:
    """Active, undeleted admins, read straight from the database."""
    async with transaction(app.state.sessionmaker, write=False) as session:
        query = select(func.count()).where(
            User.role == Role.admin, User.is_active.is_(True), User.deleted_at.is_(None)
        )
        return int(await session.scalar(query) or 0)


async def _race(
    app: FastAPI, backend: str, monkeypatch: pytest.MonkeyPatch, *moves: Callable[[httpx.AsyncClient], Any]
) -> list[int]:
    gated(monkeypatch, "count_active_admins", Gate(len(moves), 3.0 if backend == "postgres" else 0.5))

    async def run(n: int) -> int:
        async with caller(app, n) as c:
            response: httpx.Response = await moves[n](c)
            return response.status_code

    return list(await asyncio.wait_for(asyncio.gather(*(run(n) for n in range(len(moves)))), 60))


@pytest.mark.parametrize("how", ["deactivate", "delete"])
async def test_two_admins_removing_each_other_at_once_leave_an_admin(
    app: FastAPI, client: httpx.AsyncClient, backend: str, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    first = await make_user(app, role=Role.admin, email="first-admin@example.com")
    second = await make_user(app, role=Role.admin, email="second-admin@example.com")

    def remove(actor: User, target: User) -> Callable[[httpx.AsyncClient], Any]:
        headers = auth_headers(app, actor)
        if how == "deactivate":
            return lambda c: c.patch(
                f"{API}/admin/users/{target.id}", json={"is_active": False}, headers=headers
            )
        return lambda c: c.delete(f"{API}/admin/users/{target.id}", headers=headers)

    statuses = await _race(app, backend, monkeypatch, remove(first, second), remove(second, first))
    assert await active_admins(app) == 1, statuses
    assert sorted(statuses) in ([200, 409], [204, 409], [200, 401], [204, 401], [200, 403], [204, 403])


@pytest.mark.parametrize("other_move", ["deletes_own_account", "is_deactivated"])
async def test_an_admin_deleting_their_own_account_during_another_removal_leaves_an_admin(
    app: FastAPI, client: httpx.AsyncClient, backend: str, monkeypatch: pytest.MonkeyPatch, other_move: str
) -> None:
    """The first admin deletes their account while the second deletes theirs too, or while the first
    (in another tab) deactivates the second."""
    first = await make_user(app, role=Role.admin, email="leaving-admin@example.com")
    second = await make_user(app, role=Role.admin, email="other-admin@example.com")
    password = {"password": DEFAULT_PASSWORD}

    def leave(actor: User) -> Callable[[httpx.AsyncClient], Any]:
        headers = auth_headers(app, actor)
        return lambda c: c.request("DELETE", f"{API}/me", json=password, headers=headers)

    def deactivate_second(c: httpx.AsyncClient) -> Any:
        body = {"is_active": False}
        return c.patch(f"{API}/admin/users/{second.id}", json=body, headers=auth_headers(app, first))

    other = leave(second) if other_move == "deletes_own_account" else deactivate_second
    statuses = await _race(app, backend, monkeypatch, leave(first), other)
    assert await active_admins(app) == 1, statuses
