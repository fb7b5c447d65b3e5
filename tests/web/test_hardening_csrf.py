"""Issue 16, item 6: one CSRF rule keyed on how the caller authenticates.

Only a Bearer token exempts a request from the CSRF check, and then the cookie does not authenticate it;
any request the page cookie authenticates needs the CSRF token on unsafe methods, whatever other
headers it carries; a non-Bearer `Authorization` header never authenticates.
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.factories.accounts import auth_headers, make_user
from tests.web.support import page_csrf, page_login

API = "/api/v1"
BASIC = {"Authorization": "Basic YWRtaW46YWRtaW4="}


async def test_basic_header_does_not_skip_csrf_for_a_cookie_session(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await make_user(app, email="basic@example.com")
    await page_login(client, user.email)
    refused = await client.post(f"{API}/auth/logout-all", headers=BASIC)
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"
    # The session survived the forged write; the cookie still reads (a safe method needs no token).
    me = await client.get(f"{API}/me", headers=BASIC)
    assert me.status_code == 200
    page_form = await client.post("/logout", data={}, headers=BASIC)
    assert page_form.status_code == 403
    assert me.json()["email"] == "basic@example.com"
    # With the token the cookie-authenticated write goes through.
    token = await page_csrf(client, "/account")
    allowed = await client.post(f"{API}/auth/logout-all", headers={**BASIC, "X-CSRF-Token": token})
    assert allowed.status_code == 204


async def test_other_schemes_and_empty_bearer_need_csrf_too(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await make_user(app)
    await page_login(client, user.email)
    for value in ("Digest username=x", "Token abc", "Bearer", "Bearer ", "bearerabc"):
        refused = await client.post(f"{API}/auth/logout-all", headers={"Authorization": value})
        assert refused.status_code == 403, value
        assert refused.json()["code"] == "csrf_failed"


async def test_non_bearer_header_never_authenticates(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/me", headers=BASIC)
    assert response.status_code == 401


async def test_bearer_request_is_exempt_and_the_cookie_does_not_authenticate_it(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    page_user = await make_user(app, email="page@example.com")
    api_user = await make_user(app, email="api@example.com")
    await page_login(client, page_user.email)
    me = await client.get(f"{API}/me", headers=auth_headers(app, api_user))
    assert me.json()["email"] == "api@example.com"
    # An unsafe bearer call needs no CSRF token and acts for the bearer, not for the cookie.
    out = await client.post(f"{API}/auth/logout-all", headers=auth_headers(app, api_user))
    assert out.status_code == 204
    still = await client.get(f"{API}/me")
    assert still.status_code == 200
    assert still.json()["email"] == "page@example.com"
    # A bad bearer token is a 401 even though a live cookie came along.
    forged = await client.get(f"{API}/me", headers={"Authorization": "Bearer not.a.token"})
    assert forged.status_code == 401
    forged_write = await client.post(
        f"{API}/auth/logout-all", headers={"Authorization": "Bearer not.a.token"}
    )
    assert forged_write.status_code == 401
    assert (await client.get(f"{API}/me")).status_code == 200
