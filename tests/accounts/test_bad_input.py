"""Bad input answers a clear 4xx problem+json, never a 500."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi import FastAPI

from tests.factories.accounts import DEFAULT_PASSWORD, auth_headers, make_user

API = "/api/v1"


def _problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert isinstance(body["code"], str)
    return body


async def test_malformed_json(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{API}/auth/login",
        content=b'{"email": "a@example.com", "password":',
        headers={"content-type": "application/json"},
    )
    assert _problem(response, 422)["code"] == "validation_error"
    not_json = await client.post(
        f"{API}/auth/register", content=b"hello", headers={"content-type": "text/plain"}
    )
    _problem(not_json, 422)


@pytest.mark.parametrize(
    "body",
    [
        {"email": 12, "password": DEFAULT_PASSWORD, "full_name": "A"},
        {"email": ["a@example.com"], "password": DEFAULT_PASSWORD, "full_name": "A"},
        {"email": "a@example.com", "password": None, "full_name": "A"},
        {"email": "a@example.com", "password": DEFAULT_PASSWORD, "full_name": {"first": "A"}},
        {"email": "not-an-email", "password": DEFAULT_PASSWORD, "full_name": "A"},
        {"email": "a@example.com", "password": DEFAULT_PASSWORD},
        {"email": "a@example.com", "password": DEFAULT_PASSWORD, "full_name": "A", "is_admin": True},
        {"email": "a@example.com", "password": DEFAULT_PASSWORD, "full_name": "   "},
        {"email": "a@example.com", "password": DEFAULT_PASSWORD, "full_name": "N" * 201},
        {"email": ("a" * 310) + "@example.com", "password": DEFAULT_PASSWORD, "full_name": "A"},
        {"email": "a@example.com", "password": "p" * 129, "full_name": "A"},
        {"email": "a@example.com", "password": DEFAULT_PASSWORD, "full_name": "Bad\x00Name"},
        {"email": "a@example.com", "password": DEFAULT_PASSWORD, "full_name": "Bell\x07"},
        {"email": "a@example.com", "password": DEFAULT_PASSWORD, "full_name": "Lone \ud800 surrogate"},
        {"email": "a@example.com", "password": "surrogate \udfff in the password!", "full_name": "A"},
        {"email": "a\x00@example.com", "password": DEFAULT_PASSWORD, "full_name": "A"},
        [],
        "just a string",
    ],
)
async def test_register_refuses_bad_bodies(client: httpx.AsyncClient, body: object) -> None:
    # json.dumps escapes lone surrogates as \ud800, as a hostile client would send them.
    raw = json.dumps(body).encode()
    response = await client.post(
        f"{API}/auth/register", content=raw, headers={"content-type": "application/json"}
    )
    body_json = _problem(response, 422)
    assert body_json["code"] == "validation_error"
    assert isinstance(body_json["errors"], list)


async def test_localhost_addresses_work_and_invalid_is_reserved(client: httpx.AsyncClient) -> None:
    ok = await client.post(
        f"{API}/auth/register",
        json={"email": "Demo@BoxOffice.localhost", "password": DEFAULT_PASSWORD, "full_name": "Demo"},
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["email"] == "demo@boxoffice.localhost"
    login = await client.post(
        f"{API}/auth/login", json={"email": "demo@boxoffice.localhost", "password": DEFAULT_PASSWORD}
    )
    assert login.status_code == 200
    for address in ("deleted-1@invalid", "x@test", "a@localhost"):
        response = await client.post(
            f"{API}/auth/register", json={"email": address, "password": DEFAULT_PASSWORD, "full_name": "X"}
        )
        _problem(response, 422)
    # Look-ups never reject an address as invalid: the answer must not depend on it.
    odd = await client.post(f"{API}/auth/login", json={"email": "not an address", "password": "whatever"})
    assert _problem(odd, 401)["code"] == "invalid_credentials"


async def test_unicode_names_and_addresses_are_fine(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{API}/auth/register",
        json={
            "email": "zoë@exämple.com",
            "password": "ünïcödé pässwörd 🎬🍿 ok",
            "full_name": "Zoë 🎬 Ñandú عربي",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["full_name"] == "Zoë 🎬 Ñandú عربي"
    login = await client.post(
        f"{API}/auth/login", json={"email": "ZOË@exämple.com", "password": "ünïcödé pässwörd 🎬🍿 ok"}
    )
    assert login.status_code == 200


async def test_bad_tokens_and_codes(client: httpx.AsyncClient, app: FastAPI) -> None:
    for token in ("", "short", "has spaces in it!!", "x" * 201, "\x00" * 20):
        _problem(await client.post(f"{API}/auth/verify-email", json={"token": token}), 422)
        _problem(await client.post(f"{API}/auth/refresh", json={"refresh_token": token}), 422)
    _problem(
        await client.post(f"{API}/auth/login", json={"email": "a@example.com", "password": "x", "otp": "12"}),
        422,
    )
    user = await make_user(app)
    headers = auth_headers(app, user)
    _problem(await client.post(f"{API}/me/mfa/totp/enable", json={"otp": "<script>"}, headers=headers), 422)
    _problem(await client.patch(f"{API}/me", json={"email": "nope"}, headers=headers), 422)
    _problem(await client.patch(f"{API}/me", json={"role": "admin"}, headers=headers), 422)
    _problem(await client.request("DELETE", f"{API}/me", headers=headers), 422)


async def test_huge_body_and_bad_paths(client: httpx.AsyncClient, app: FastAPI) -> None:
    huge = await client.post(
        f"{API}/auth/register",
        content=b'{"email": "' + b"a" * 2_000_000 + b'"}',
        headers={"content-type": "application/json"},
    )
    _problem(huge, 413)
    from boxoffice.accounts.models import Role

    headers = auth_headers(app, await make_user(app, role=Role.admin))
    for path in ("abc", "0", "-1", "99999999999999999999"):
        response = await client.get(f"{API}/admin/users/{path}", headers=headers)
        assert response.status_code == 422, path
    for q in ("\x00", "q" * 101):
        _problem(await client.get(f"{API}/admin/users", params={"q": q}, headers=headers), 422)
    emoji = await client.get(f"{API}/admin/users", params={"q": "🎬%_\\"}, headers=headers)
    assert emoji.status_code == 200
