"""Attacks, each a test (part 1): forged tokens, CSRF on every form, session fixation, open redirects,
SQL/template/HTML injection in every search and filter. Part 2 is test_attacks_abuse.py. Both backends."""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from fastapi import FastAPI

from boxoffice.accounts.models import Role
from tests.factories.accounts import DEFAULT_PASSWORD, auth_headers, make_user
from tests.factories.showtimes import make_showtime
from tests.reliability.figures import record
from tests.reliability.test_matrix import app_routes

API = "/api/v1"
CARD_OK = "4242424242424242"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
_tried: dict[str, int] = {}


def tried(name: str, n: int = 1) -> None:
    """Count attack requests for the figures."""
    _tried[name] = _tried.get(name, 0) + n
    record("attacks", {"requests": _tried, "total": sum(_tried.values())})


async def csrf_token(client: httpx.AsyncClient) -> str:
    """The CSRF token of the client's current page session (a session is started when needed)."""
    page = await client.get("/login")
    if page.status_code == 303:  # signed in: any page form carries the token
        page = await client.get("/account")
    found = CSRF_INPUT.search(page.text)
    assert found, f"no csrf_token on the page ({page.status_code})"
    return found.group(1)


async def page_login(
    client: httpx.AsyncClient, email: str, password: str = DEFAULT_PASSWORD
) -> httpx.Response:
    """Sign in through the page form (a cookie session)."""
    token = await csrf_token(client)
    return await client.post("/login", data={"email": email, "password": password, "csrf_token": token})


# --- tokens -------------------------------------------------------------------------------------------


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_forged_and_misused_tokens_are_401(app: FastAPI, client: httpx.AsyncClient) -> None:
    customer = await make_user(app, role=Role.customer)
    settings = app.state.settings
    good = auth_headers(app, customer)["Authorization"].split()[1]
    claims = jwt.decode(good, options={"verify_signature": False})
    now = int(time.time())
    forged = {
        "alg_none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({**claims, 'role': 'admin'})}.",
        "wrong_key": jwt.encode(claims, "not-the-key-" + secrets.token_hex(16), algorithm="HS256"),
        "role_tampered": good.split(".")[0]
        + "."
        + _b64({**claims, "role": "admin"})
        + "."
        + good.split(".")[2],
        "expired": jwt.encode(
            {**claims, "exp": now - 3600, "iat": now - 7200, "nbf": now - 7200},
            settings.secret_key,
            algorithm="HS256",
        ),
        "wrong_audience": jwt.encode(
            {**claims, "aud": "someone-else"}, settings.secret_key, algorithm="HS256"
        ),
        "not_access_type": jwt.encode({**claims, "typ": "refresh"}, settings.secret_key, algorithm="HS256"),
        "unknown_user": jwt.encode({**claims, "sub": "999999"}, settings.secret_key, algorithm="HS256"),
        "hs512_confusion": jwt.encode(claims, settings.secret_key, algorithm="HS512"),
        "garbage": "a.b.c",
        "empty_bearer": "",
    }
    for name, token in forged.items():
        for path in (f"{API}/me", f"{API}/admin/users"):
            r = await client.get(path, headers={"Authorization": f"Bearer {token}"})
            tried("token_forgery")
            assert r.status_code == 401, f"{name} on {path}: {r.status_code} {r.text}"
            assert r.headers.get("www-authenticate", "").lower().startswith("bearer"), name
            assert r.headers["content-type"].startswith("application/problem+json"), name
    # The role in a genuine token is not what grants access: the account's role is.
    r = await client.get(f"{API}/admin/users", headers={"Authorization": f"Bearer {good}"})
    assert r.status_code == 403


async def test_a_refresh_token_is_not_an_access_token(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await make_user(app)
    r = await client.post(f"{API}/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD})
    assert r.status_code == 200, r.text
    refresh = r.json()["refresh_token"]
    r = await client.get(f"{API}/me", headers={"Authorization": f"Bearer {refresh}"})
    tried("token_forgery")
    assert r.status_code == 401


# --- CSRF, session fixation, open redirects ----------------------------------------------------------


def _page_forms(app: FastAPI) -> list[str]:
    return [p for m, p in app_routes(app) if m == "POST" and not p.startswith(("/api/", "/static"))]


async def test_every_page_form_refuses_a_missing_or_foreign_csrf_token(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await make_user(app)
    forms = _page_forms(app)
    assert len(forms) >= 10, forms
    # a token from another browser's session
    other = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    foreign = await csrf_token(other)
    await other.aclose()
    assert (await page_login(client, user.email)).status_code == 303
    for path in forms:
        url = re.sub(r"\{[^}]+\}", "X1", path)
        for data in ({}, {"csrf_token": foreign}, {"csrf_token": ""}):
            r = await client.post(url, data={**data, "full_name": "Mallory", "password": "x"})
            tried("csrf")
            assert r.status_code == 403, f"POST {path} with {data or 'no token'}: {r.status_code}"
    # still signed in, nothing changed
    me = await client.get(f"{API}/me", headers={"X-CSRF-Token": await csrf_token(client)})
    assert me.status_code == 200
    assert me.json()["full_name"] != "Mallory"


async def test_cookie_authenticated_api_writes_need_the_csrf_header(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await make_user(app)
    assert (await page_login(client, user.email)).status_code == 303
    r = await client.patch(f"{API}/me", json={"full_name": "Mallory"})
    tried("csrf")
    assert r.status_code == 403
    assert r.json()["code"] == "csrf_failed"
    r = await client.patch(f"{API}/me", json={"full_name": "Mallory"}, headers={"X-CSRF-Token": "forged"})
    tried("csrf")
    assert r.status_code == 403
    r = await client.patch(
        f"{API}/me", json={"full_name": "Alice"}, headers={"X-CSRF-Token": await csrf_token(client)}
    )
    assert r.status_code == 200


async def test_session_fixation_a_planted_cookie_never_becomes_signed_in(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await make_user(app)
    await client.get("/login")
    planted = dict(client.cookies)
    assert planted, "the login page starts a session cookie"
    token_before = await csrf_token(client)
    assert (await page_login(client, user.email)).status_code == 303
    after = dict(client.cookies)
    assert after != planted, "signing in must issue a new session cookie"
    assert await csrf_token(client) != token_before, "signing in must rotate the CSRF token"
    # The attacker, still holding the planted cookie, is not signed in.
    attacker = httpx.AsyncClient(transport=client._transport, base_url="http://testserver", cookies=planted)
    r = await attacker.get("/account")
    await attacker.aclose()
    tried("session_fixation")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")


EVIL_NEXT = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "http:evil.example",
    "/%2F%2Fevil.example",
    "\t//evil.example",
    "https:/\\evil.example",
    "/x?y=1\r\nLocation: https://evil.example",
]


def _is_local(location: str) -> bool:
    """A browser would stay on this site: a path, no scheme, no authority, no control characters."""
    parts = urlsplit(location)
    return (
        location.startswith("/")
        and not location.startswith(("//", "/\\"))
        and not parts.scheme
        and not parts.netloc
        and not any(ord(c) < 32 for c in location)
    )


async def test_open_redirects_in_next_stay_on_site(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await make_user(app)
    for target in EVIL_NEXT:
        client.cookies.clear()
        token = await csrf_token(client)
        r = await client.post(
            "/login",
            data={"email": user.email, "password": DEFAULT_PASSWORD, "csrf_token": token, "next": target},
        )
        tried("open_redirect")
        assert r.status_code == 303, (target, r.status_code)
        assert _is_local(r.headers["location"]), f"next={target!r} sent us to {r.headers['location']!r}"
        # signed in: GET /login?next= redirects at once
        r = await client.get("/login", params={"next": target})
        tried("open_redirect")
        assert r.status_code == 303
        assert _is_local(r.headers["location"]), f"GET /login?next={target!r} -> {r.headers['location']!r}"


# --- injection ----------------------------------------------------------------------------------------

SQLI = [
    "' OR '1'='1",
    "1; DROP TABLE users; --",
    '" OR ""="',
    "%' UNION SELECT password_hash FROM users --",
    "1)) OR sleep(5) --",
    "\\'; SELECT pg_sleep(5); --",
]
TEMPLATE = ["{{ 7191*7193 }}", "${7191*7193}", "{% print(7191*7193) %}", "#{7191*7193}", "<%= 7191*7193 %>"]
XSS = ["<script>alert('boxoffice')</script>", '"><img src=x onerror=alert(1)>']
PRODUCT = str(7191 * 7193)  # what an evaluated template payload would print


def _search_targets(app: FastAPI) -> list[tuple[str, str]]:
    """(path, query parameter) of every string query parameter of a parameterless GET in the OpenAPI."""
    spec = app.openapi()
    out = []
    for path, item in spec["paths"].items():
        op = item.get("get")
        if op is None or "{" in path:
            continue
        for param in op.get("parameters", []):
            schema = param.get("schema", {})
            types = {schema.get("type")} | {s.get("type") for s in schema.get("anyOf", [])}
            if param.get("in") == "query" and "string" in types:
                out.append((path, param["name"]))
    return out


PAGE_SEARCHES = [
    ("/", "q"),
    ("/", "date"),
    ("/cinemas", "city"),
    ("/login", "next"),
    ("/verify-email", "token"),
    ("/reset-password", "token"),
]


async def test_injection_probes_in_every_search_and_filter(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await make_user(app, role=Role.admin)
    await make_showtime(app, rows=2, seats_per_row=3)
    headers = auth_headers(app, admin)
    targets = _search_targets(app)
    assert len(targets) >= 8, targets  # movies q/genre/language, showtimes, admin users q/role, ...
    for path, name in targets + PAGE_SEARCHES:
        for payload in SQLI + TEMPLATE + XSS:
            r = await client.get(path, params={name: payload}, headers=headers)
            tried("injection")
            assert r.status_code < 500, f"GET {path}?{name}={payload!r}: {r.status_code} {r.text[:200]}"
            assert PRODUCT not in r.text, f"template evaluated: GET {path}?{name}={payload!r}"
            if r.headers.get("content-type", "").startswith("text/html"):
                assert "<script>alert('boxoffice')" not in r.text, f"reflected XSS: {path}?{name}"
                assert "<img src=x onerror" not in r.text, f"reflected XSS: {path}?{name}"
    # the database is intact and no row leaked: an always-true filter finds nothing
    r = await client.get(f"{API}/admin/users", params={"q": "' OR '1'='1"}, headers=headers)
    assert r.status_code == 200
    assert r.json()["total"] == 0
    assert (await client.get(f"{API}/admin/users", headers=headers)).json()["total"] >= 1


async def test_template_injection_in_stored_fields_is_not_evaluated(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await make_user(app)
    headers = auth_headers(app, user)
    r = await client.patch(
        f"{API}/me", json={"full_name": "{{ 7191*7193 }}<script>alert('boxoffice')</script>"}, headers=headers
    )
    assert r.status_code == 200
    assert (await page_login(client, user.email)).status_code == 303
    page = await client.get("/account")
    tried("injection")
    assert page.status_code == 200
    assert PRODUCT not in page.text
    assert "<script>alert('boxoffice')" not in page.text
