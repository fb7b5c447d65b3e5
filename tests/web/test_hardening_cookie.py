"""Issue 16: the page session cookie is encrypted (no refresh token or JSON in clear), Secure behind HTTPS."""

from __future__ import annotations

import base64
import binascii

import httpx
from fastapi import FastAPI

from boxoffice.web.middleware import cookie_is_secure, read_session_cookie
from boxoffice.web.sessions import COOKIE_NAME, WebSession, signing_key
from tests.factories.accounts import make_user
from tests.web.support import page_login

API = "/api/v1"


def _decodings(value: str) -> list[bytes]:
    """Every piece of `value` that decodes as URL-safe base64, decoded."""
    out = []
    for piece in [value, *value.split(".")]:
        try:
            out.append(base64.urlsafe_b64decode(piece + "=" * (-len(piece) % 4)))
        except (binascii.Error, ValueError):
            continue
    return out


async def test_cookie_holds_no_refresh_token_or_json_in_clear(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await make_user(app)
    await page_login(client, user.email)
    raw = client.cookies[COOKIE_NAME]
    session = read_session_cookie(app.state.settings.secret_key, raw)
    assert session is not None
    assert session.uid == user.id
    assert session.refresh
    assert session.family
    for secret in (session.refresh, session.family, session.csrf):
        assert secret not in raw
        assert all(secret.encode() not in decoded for decoded in _decodings(raw))
    assert all(b'"r"' not in decoded and not decoded.startswith(b"{") for decoded in _decodings(raw))
    # Nor is it the old signed-only format any more.
    assert WebSession.loads(raw, signing_key(app.state.settings.secret_key)) is None


async def test_tampered_cookie_is_ignored(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await make_user(app)
    await page_login(client, user.email)
    raw = client.cookies[COOKIE_NAME]
    assert (await client.get(f"{API}/me")).status_code == 200
    middle = len(raw) // 2
    for tampered in (
        raw[:middle] + ("A" if raw[middle] != "A" else "B") + raw[middle + 1 :],
        raw[:-4],
        raw + "x",
    ):
        client.cookies.clear()
        client.cookies.set(COOKIE_NAME, tampered)
        response = await client.get(f"{API}/me")
        assert response.status_code == 401
        account = await client.get("/account")
        assert account.status_code in (302, 303, 401)
        assert read_session_cookie(app.state.settings.secret_key, tampered) is None
    client.cookies.clear()
    client.cookies.set(COOKIE_NAME, raw)
    assert (await client.get(f"{API}/me")).status_code == 200


async def test_old_signed_cookies_stop_working(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await make_user(app)
    await page_login(client, user.email)
    session = read_session_cookie(app.state.settings.secret_key, client.cookies[COOKIE_NAME])
    assert session is not None
    old = session.dumps(signing_key(app.state.settings.secret_key))  # the signed, unencrypted format
    client.cookies.clear()
    client.cookies.set(COOKIE_NAME, old)
    assert (await client.get(f"{API}/me")).status_code == 401


def test_cookie_is_secure_behind_https_or_in_production(app: FastAPI) -> None:
    settings = app.state.settings
    assert not cookie_is_secure(settings.model_copy(update={"base_url": "http://127.0.0.1:8000"}))
    assert cookie_is_secure(settings.model_copy(update={"base_url": "https://tickets.example.com"}))
    assert cookie_is_secure(settings.model_copy(update={"base_url": "HTTPS://tickets.example.com"}))
    assert cookie_is_secure(settings.model_copy(update={"env": "production", "base_url": "http://x"}))
