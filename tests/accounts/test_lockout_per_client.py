"""Wrong passwords lock an account per (account, client address): the guesser is refused the right
password too, the owner signing in from elsewhere is not. A per-account ceiling (ten times larger) stands
behind it against guesses spread over many addresses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio
from fastapi import FastAPI

from boxoffice.accounts.passwords import CEILING_FACTOR
from boxoffice.main import create_app
from tests.conftest import make_settings
from tests.factories.accounts import DEFAULT_PASSWORD, auth_headers, make_user

API = "/api/v1"


def from_address(app: FastAPI, ip: str) -> httpx.AsyncClient:
    """A client calling from `ip`."""
    transport = httpx.ASGITransport(app=app, client=(ip, 5000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def login(api: httpx.AsyncClient, email: str, password: str) -> int:
    """The status of one sign-in."""
    response = await api.post(f"{API}/auth/login", json={"email": email, "password": password})
    return response.status_code


async def test_a_guesser_is_locked_out_but_the_owner_elsewhere_is_not(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await make_user(app, email="owner@example.com")
    allowance: int = app.state.settings.login_attempts_per_15min
    async with from_address(app, "192.0.2.66") as guesser, from_address(app, "198.51.100.5") as owner:
        wrong = [await login(guesser, "owner@example.com", f"guess number {n}") for n in range(allowance)]
        assert wrong == [401] * allowance
        assert await login(guesser, "owner@example.com", DEFAULT_PASSWORD) == 429
        assert await login(owner, "owner@example.com", DEFAULT_PASSWORD) == 200
        assert await login(guesser, "owner@example.com", DEFAULT_PASSWORD) == 429  # still, for the window


async def test_a_stolen_token_locks_its_own_address_only(client: httpx.AsyncClient, app: FastAPI) -> None:
    """Signed-in confirmations guessed with a stolen token count for the thief's address, not the owner's."""
    user = await make_user(app, email="stolen@example.com")
    headers = auth_headers(app, user)
    allowance: int = app.state.settings.login_attempts_per_15min
    async with from_address(app, "192.0.2.67") as thief, from_address(app, "198.51.100.6") as owner:
        for n in range(allowance):
            body = {"password": f"guess number {n}"}
            response = await thief.request("DELETE", f"{API}/me", json=body, headers=headers)
            assert response.status_code == 400, n
        right = {"password": DEFAULT_PASSWORD}
        blocked = await thief.request("DELETE", f"{API}/me", json=right, headers=headers)
        assert blocked.status_code == 429
        assert await login(thief, "stolen@example.com", DEFAULT_PASSWORD) == 429
        assert await login(owner, "stolen@example.com", DEFAULT_PASSWORD) == 200


@pytest_asyncio.fixture
async def tight_app(app: FastAPI, tmp_path: Path) -> AsyncIterator[FastAPI]:
    """A second app on the same database allowing 2 wrong passwords per client (ceiling 20 per account)."""
    settings = make_settings(app.state.settings.database_url, tmp_path, login_attempts_per_15min=2)
    tight = create_app(settings, run_background=False)
    yield tight
    await tight.state.shutdown()


async def test_guesses_spread_over_many_addresses_meet_the_account_ceiling(
    client: httpx.AsyncClient, tight_app: FastAPI
) -> None:
    await make_user(tight_app, email="spread@example.com")
    per_client = 2
    ceiling = per_client * CEILING_FACTOR
    for n in range(ceiling // per_client):
        async with from_address(tight_app, f"203.0.113.{100 + n}") as bot:
            for attempt in range(per_client):
                assert await login(bot, "spread@example.com", f"guess {n} {attempt}") == 401
    async with from_address(tight_app, "198.51.100.7") as owner:
        assert await login(owner, "spread@example.com", DEFAULT_PASSWORD) == 429
