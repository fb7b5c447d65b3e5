"""Brute force and request floods answer 429 rate_limited with Retry-After; memory and Redis storages."""

from __future__ import annotations

import secrets

import httpx
import pytest
from fastapi import FastAPI

from boxoffice.errors import RateLimited
from boxoffice.kit.ratelimit import RateLimiter
from tests.factories.accounts import DEFAULT_PASSWORD, auth_headers, make_user

API = "/api/v1"


async def test_login_brute_force_hits_429_even_with_the_right_password(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await make_user(app, email="victim@example.com")
    for attempt in range(5):
        wrong = await client.post(
            f"{API}/auth/login", json={"email": "victim@example.com", "password": f"guess number {attempt}"}
        )
        assert wrong.status_code == 401, attempt
    blocked = await client.post(
        f"{API}/auth/login", json={"email": "victim@example.com", "password": DEFAULT_PASSWORD}
    )
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "rate_limited"
    assert 1 <= int(blocked.headers["retry-after"]) <= 15 * 60
    assert blocked.headers["content-type"].startswith("application/problem+json")


async def test_successful_login_clears_the_account_counter(client: httpx.AsyncClient, app: FastAPI) -> None:
    await make_user(app, email="typo@example.com")
    for _ in range(2):
        for attempt in range(4):
            await client.post(
                f"{API}/auth/login", json={"email": "typo@example.com", "password": f"typo typo {attempt}"}
            )
        ok = await client.post(
            f"{API}/auth/login", json={"email": "typo@example.com", "password": DEFAULT_PASSWORD}
        )
        assert ok.status_code == 200


async def test_failed_logins_per_ip_across_accounts(client: httpx.AsyncClient) -> None:
    statuses = []
    for n in range(21):
        response = await client.post(
            f"{API}/auth/login", json={"email": f"spray{n}@example.com", "password": "Winter2026!!"}
        )
        statuses.append(response.status_code)
    assert statuses[:20] == [401] * 20
    assert statuses[20] == 429


async def test_registration_and_reset_requests_are_limited_per_ip(client: httpx.AsyncClient) -> None:
    statuses = []
    for n in range(21):
        response = await client.post(f"{API}/auth/password/forgot", json={"email": f"who{n}@example.com"})
        statuses.append(response.status_code)
    assert statuses[:20] == [202] * 20
    assert statuses[20] == 429
    for n in range(20):
        await client.post(
            f"{API}/auth/register", json={"email": f"r{n}@example.com", "password": "x", "full_name": "R"}
        )
    response = await client.post(
        f"{API}/auth/register",
        json={"email": "late@example.com", "password": DEFAULT_PASSWORD, "full_name": "Late"},
    )
    assert response.status_code == 429
    assert "retry-after" in response.headers


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_rate_limiter_storages(backend: str) -> None:
    url = "redis://127.0.0.1:6379/0" if backend == "redis" else ""
    limiter = RateLimiter(url, prefix=f"boxoffice-test-{secrets.token_hex(4)}")
    assert limiter.backend == backend
    key = secrets.token_hex(4)
    for _ in range(3):
        await limiter.hit("unit", key, limit="3/minute")
    with pytest.raises(RateLimited) as caught:
        await limiter.hit("unit", key, limit="3/minute")
    assert 1 <= caught.value.retry_after <= 60
    assert caught.value.headers["Retry-After"] == str(caught.value.retry_after)
    await limiter.hit("unit", "another-key", limit="3/minute")  # keys are independent
    await limiter.clear("unit", key, limit="3/minute")
    await limiter.hit("unit", key, limit="3/minute")
    limiter.reset()
    for _ in range(3):
        await limiter.hit("unit", key, limit="3/minute")


async def test_rate_limiter_fails_open_when_redis_is_down() -> None:
    limiter = RateLimiter("redis://127.0.0.1:1/0")
    for _ in range(5):
        await limiter.hit("unit", "k", limit="1/minute")
    assert await limiter.allowed("unit", "k", limit="1/minute") is True


async def test_limits_are_shared_through_redis_across_app_instances(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Two app instances (two workers) with REDIS_URL count failed sign-ins together."""
    from boxoffice.main import create_app
    from tests.conftest import make_settings

    await make_user(app, email="shared@example.com")
    instances = [
        create_app(
            make_settings(
                app.state.settings.database_url,
                app.state.settings.var_dir,
                redis_url="redis://127.0.0.1:6379/0",
            ),
            run_background=False,
        )
        for _ in range(2)
    ]
    namespace = secrets.token_hex(6)
    for instance in instances:
        assert instance.state.rate_limiter.backend == "redis"
        instance.state.rate_limiter.reset(namespace)  # one fresh window, shared by both
    try:
        statuses = []
        for attempt in range(6):
            target = instances[attempt % 2]
            transport = httpx.ASGITransport(app=target, client=("192.0.2.9", 1000 + attempt))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
                response = await api.post(
                    f"{API}/auth/login",
                    json={"email": "shared@example.com", "password": f"wrong guess {attempt}"},
                )
                statuses.append(response.status_code)
        assert statuses == [401] * 5 + [429]
    finally:
        for instance in instances:
            await instance.state.shutdown()


async def test_a_stolen_token_is_no_password_oracle(client: httpx.AsyncClient, app: FastAPI) -> None:
    """Signed-in password confirmations (change, delete, MFA off) share the account's failure limit."""
    user = await make_user(app, email="oracle@example.com")
    headers = auth_headers(app, user)
    for attempt in range(5):
        response = await client.post(
            f"{API}/me/password",
            json={
                "current_password": f"guess number {attempt}",
                "new_password": "a brand new passphrase here",
            },
            headers=headers,
        )
        assert response.status_code == 400, attempt
    blocked = await client.request(
        "DELETE", f"{API}/me", json={"password": DEFAULT_PASSWORD}, headers=headers
    )
    assert blocked.status_code == 429
    login = await client.post(
        f"{API}/auth/login", json={"email": "oracle@example.com", "password": DEFAULT_PASSWORD}
    )
    assert login.status_code == 429
