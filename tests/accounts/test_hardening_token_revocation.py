"""Issue 16: an access token dies with its session (refresh family) at once, not when it expires."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.factories.accounts import bearer, make_user, sign_in

API = "/api/v1"


async def test_logout_ends_the_access_token_at_once(client: httpx.AsyncClient, app: FastAPI) -> None:
    await make_user(app, email="gone@example.com")
    pair = await sign_in(client, "gone@example.com")
    other = await sign_in(client, "gone@example.com")
    assert (await client.get(f"{API}/me", headers=bearer(pair))).status_code == 200
    logout = await client.post(
        f"{API}/auth/logout", json={"refresh_token": pair["refresh_token"]}, headers=bearer(pair)
    )
    assert logout.status_code == 204
    after = await client.get(f"{API}/me", headers=bearer(pair))
    assert after.status_code == 401
    assert after.json()["code"] == "invalid_token"
    assert after.headers["www-authenticate"] == "Bearer"
    # The account's other session is untouched.
    assert (await client.get(f"{API}/me", headers=bearer(other))).status_code == 200


async def test_refresh_reuse_ends_the_thiefs_current_access_token(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await make_user(app, email="stolen@example.com")
    victim = await sign_in(client, "stolen@example.com")
    # The thief rotates the stolen refresh token first and holds a fresh access token...
    thief = (await client.post(f"{API}/auth/refresh", json={"refresh_token": victim["refresh_token"]})).json()
    assert (await client.get(f"{API}/me", headers=bearer(thief))).status_code == 200
    # ...then the victim's client replays the (now used) refresh token: the whole family is revoked.
    reused = await client.post(f"{API}/auth/refresh", json={"refresh_token": victim["refresh_token"]})
    assert reused.status_code == 401
    assert (await client.get(f"{API}/me", headers=bearer(thief))).status_code == 401
    assert (await client.get(f"{API}/me", headers=bearer(victim))).status_code == 401


async def test_logout_all_ends_every_access_token_at_once(client: httpx.AsyncClient, app: FastAPI) -> None:
    await make_user(app, email="everywhere@example.com")
    a = await sign_in(client, "everywhere@example.com")
    b = await sign_in(client, "everywhere@example.com")
    assert (await client.post(f"{API}/auth/logout-all", headers=bearer(a))).status_code == 204
    assert (await client.get(f"{API}/me", headers=bearer(a))).status_code == 401
    assert (await client.get(f"{API}/me", headers=bearer(b))).status_code == 401
