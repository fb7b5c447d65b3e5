"""Forged, tampered, expired and misdirected access tokens are refused with 401 invalid_token."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI

from boxoffice.accounts.models import Role
from tests.factories.accounts import auth_headers, make_user

API = "/api/v1"


def _claims(app: FastAPI, user_id: int, **overrides: Any) -> dict[str, Any]:
    settings = app.state.settings
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "role": "customer",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "typ": "access",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def _me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"})


async def _assert_refused(client: httpx.AsyncClient, token: str) -> None:
    response = await _me(client, token)
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "invalid_token"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_well_formed_token_is_accepted(client: httpx.AsyncClient, app: FastAPI) -> None:
    user = await make_user(app)
    token = jwt.encode(_claims(app, user.id), app.state.settings.secret_key, algorithm="HS256")
    assert (await _me(client, token)).status_code == 200


async def test_alg_none_is_refused(client: httpx.AsyncClient, app: FastAPI) -> None:
    user = await make_user(app)
    token = _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(_claims(app, user.id)) + "."
    await _assert_refused(client, token)


async def test_wrong_key_is_refused(client: httpx.AsyncClient, app: FastAPI) -> None:
    user = await make_user(app)
    await _assert_refused(
        client, jwt.encode(_claims(app, user.id), "another-secret-key-" * 3, algorithm="HS256")
    )


async def test_other_algorithm_with_the_right_key_is_refused(client: httpx.AsyncClient, app: FastAPI) -> None:
    user = await make_user(app)
    await _assert_refused(
        client, jwt.encode(_claims(app, user.id), app.state.settings.secret_key, algorithm="HS512")
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": int(time.time()) - 60},
        {"aud": "someone-else"},
        {"iss": "evil"},
        {"typ": "refresh"},
        {"jti": None},
        {"sub": "99999999999999"},
        {"sub": "not-a-number"},
        {"iat": int(time.time()) + 3600},
    ],
    ids=["expired", "audience", "issuer", "type", "no-jti", "huge-sub", "text-sub", "future-iat"],
)
async def test_bad_claims_are_refused(
    client: httpx.AsyncClient, app: FastAPI, overrides: dict[str, Any]
) -> None:
    user = await make_user(app)
    await _assert_refused(
        client, jwt.encode(_claims(app, user.id, **overrides), app.state.settings.secret_key)
    )


async def test_tampered_payload_is_refused(client: httpx.AsyncClient, app: FastAPI) -> None:
    user = await make_user(app)
    admin = await make_user(app, role=Role.admin)
    header, _payload, signature = auth_headers(app, user)["Authorization"].removeprefix("Bearer ").split(".")
    forged_payload = _b64(_claims(app, admin.id, role="admin"))
    await _assert_refused(client, f"{header}.{forged_payload}.{signature}")
    await _assert_refused(client, "not.a.jwt")
    await _assert_refused(client, "x" * 5000)


async def test_deactivated_users_token_stops_working(client: httpx.AsyncClient, app: FastAPI) -> None:
    user = await make_user(app)
    admin = await make_user(app, role=Role.admin)
    headers = auth_headers(app, user)
    assert (await client.get(f"{API}/me", headers=headers)).status_code == 200
    response = await client.patch(
        f"{API}/admin/users/{user.id}", json={"is_active": False}, headers=auth_headers(app, admin)
    )
    assert response.status_code == 200
    assert (await client.get(f"{API}/me", headers=headers)).status_code == 401


async def test_a_token_verified_once_still_expires_on_time(
    client: httpx.AsyncClient, app: FastAPI, frozen_clock: Any
) -> None:
    """Verified tokens are cached (security.py); the expiry is still checked on every request."""
    user = await make_user(app)
    token = jwt.encode(_claims(app, user.id), app.state.settings.secret_key, algorithm="HS256")
    assert (await _me(client, token)).status_code == 200
    assert (await _me(client, token)).status_code == 200  # from the cache
    frozen_clock.advance(seconds=600 + 10)
    await _assert_refused(client, token)


def test_a_cached_verdict_is_never_reused_under_another_secret(app: FastAPI) -> None:
    from boxoffice.accounts.security import decode_access_token

    settings = app.state.settings
    token = jwt.encode(_claims(app, 7), settings.secret_key, algorithm="HS256")
    assert decode_access_token(settings, token) is not None
    rotated = settings.model_copy(update={"secret_key": settings.secret_key + "-rotated"})
    assert decode_access_token(rotated, token) is None
