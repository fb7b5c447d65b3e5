"""The account races against a real server: `boxoffice serve --workers 2` on PostgreSQL, every client on its
own connection, nothing in the app held back (the in-process twin, test_account_races.py, widens the
window; this one takes the timing as it comes, several rounds each)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import update

from boxoffice.accounts.models import Role, User
from boxoffice.db import transaction
from boxoffice.main import create_app
from boxoffice.migrate import upgrade_async
from tests.accounts.test_account_races import active_admins, with_two_factor
from tests.conftest import TEST_SECRET, create_pg_database, drop_pg_database, make_settings, require_pg
from tests.factories.accounts import DEFAULT_PASSWORD, auth_headers, make_user

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
ROUNDS = 5
SIGN_INS = 20


@pytest_asyncio.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh migrated PostgreSQL database."""
    await require_pg()
    name, url = await create_pg_database()
    try:
        await upgrade_async(url)
        yield url
    finally:
        await drop_pg_database(name)


@pytest_asyncio.fixture
async def seeder(pg_url: str, tmp_path: Path) -> AsyncIterator[FastAPI]:
    """An app on the same database to build users with (it serves nothing)."""
    app = create_app(make_settings(pg_url, tmp_path / "seed"), run_background=False)
    yield app
    await app.state.shutdown()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(pg_url: str, tmp_path: Path) -> Iterator[str]:
    """`boxoffice serve --workers 2` in a subprocess; yields its base URL."""
    port = _free_port()
    env = {
        **os.environ,
        "BOXOFFICE_ENV": "test",
        "BOXOFFICE_DATABASE_URL": pg_url,
        "BOXOFFICE_SECRET_KEY": TEST_SECRET,
        "BOXOFFICE_VAR_DIR": str(tmp_path / "var"),
        "BOXOFFICE_LOG_LEVEL": "WARNING",
        "BOXOFFICE_REDIS_URL": "",
        "BOXOFFICE_LOGIN_ATTEMPTS_PER_15MIN": "1000",  # the races, not the limiter, are under test
    }
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "boxoffice.cli", "serve", "--port", str(port), "--workers", "2"],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90  # a loaded 2-core box imports slowly
            while True:
                try:
                    if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("server did not start: " + log_path.read_text()[-3000:])
                time.sleep(0.2)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


async def test_one_totp_code_opens_one_session_on_two_workers(server: str, seeder: FastAPI) -> None:
    for round_ in range(ROUNDS):
        user = await make_user(seeder, email=f"totp-racer-{round_}@example.com")
        code = (await with_two_factor(seeder, user)).now()
        body = {"email": user.email, "password": DEFAULT_PASSWORD, "otp": code}

        async def sign_in(body: dict[str, str] = body) -> int:
            async with httpx.AsyncClient(base_url=server, timeout=60) as c:
                return (await c.post("/api/v1/auth/login", json=body)).status_code

        statuses = await asyncio.wait_for(asyncio.gather(*(sign_in() for _ in range(SIGN_INS))), 90)
        assert Counter(statuses) == {200: 1, 401: SIGN_INS - 1}, (round_, statuses)


async def test_two_admins_deactivating_each_other_on_two_workers_leave_one(
    server: str, seeder: FastAPI
) -> None:
    for round_ in range(ROUNDS):
        async with transaction(seeder.state.sessionmaker) as session:
            await session.execute(update(User).where(User.role == Role.admin).values(is_active=False))
        first = await make_user(seeder, role=Role.admin, email=f"first-{round_}@example.com")
        second = await make_user(seeder, role=Role.admin, email=f"second-{round_}@example.com")

        async def deactivate(actor: User, target: User) -> int:
            async with httpx.AsyncClient(base_url=server, timeout=60) as c:
                response = await c.patch(
                    f"/api/v1/admin/users/{target.id}",
                    json={"is_active": False},
                    headers=auth_headers(seeder, actor),
                )
                return response.status_code

        statuses = await asyncio.wait_for(
            asyncio.gather(deactivate(first, second), deactivate(second, first)), 90
        )
        assert await active_admins(seeder) == 1, (round_, statuses)
