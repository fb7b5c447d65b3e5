"""Issue 16, HTTP edge: private answers are never stored, unsafe static paths are 404s, NUL in page
input is a 4xx (never a 500) on both databases."""

from __future__ import annotations

import httpx
import pyotp
import pytest
from fastapi import FastAPI

from boxoffice.accounts.models import Role
from boxoffice.errors import NotFound
from boxoffice.web.routes.assets import static_file
from tests.factories.accounts import DEFAULT_PASSWORD, bearer, make_user, sign_in
from tests.factories.booking import hold, make_customer
from tests.factories.showtimes import make_showtime
from tests.web.support import page_csrf, page_login

API = "/api/v1"


def _no_store(response: httpx.Response) -> None:
    assert response.headers.get("cache-control") == "no-store", (response.request.url, response.headers)


# --- item 7: Cache-Control on token and private answers ---


async def test_token_answers_are_never_stored(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await make_user(app)
    login = await client.post(f"{API}/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD})
    token = await client.post(
        f"{API}/auth/token", data={"username": user.email, "password": DEFAULT_PASSWORD}
    )
    refresh = await client.post(f"{API}/auth/refresh", json={"refresh_token": login.json()["refresh_token"]})
    refused = await client.post(
        f"{API}/auth/login", json={"email": user.email, "password": "wrong wrong wrong"}
    )
    assert [login.status_code, token.status_code, refresh.status_code, refused.status_code] == [
        200,
        200,
        200,
        401,
    ]
    for answer in (login, token, refresh, refused):
        _no_store(answer)
        assert answer.headers["pragma"] == "no-cache"


async def test_private_answers_to_a_bearer_are_never_stored(app: FastAPI, client: httpx.AsyncClient) -> None:
    customer = await make_customer(app)
    built = await make_showtime(app, rows=1, seats_per_row=4)
    booking = await hold(client, customer, built.showtime_id, built.seat_ids[:1])
    headers = customer.headers
    answers = [
        await client.get(f"{API}/me", headers=headers),
        await client.get(f"{API}/me/bookings", headers=headers),
        await client.get(f"{API}/bookings/{booking['reference']}", headers=headers),
        await client.get(f"{API}/me/export", headers=headers),
    ]
    setup = await client.post(f"{API}/me/mfa/totp/setup", headers=headers)
    code = pyotp.TOTP(setup.json()["secret"]).now()
    enable = await client.post(f"{API}/me/mfa/totp/enable", json={"otp": code}, headers=headers)
    assert "recovery_codes" in enable.json()
    for answer in [*answers, setup, enable]:
        assert answer.status_code == 200, answer.text
        _no_store(answer)


async def test_private_answers_to_a_page_session_are_never_stored(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await make_user(app)
    signed_in = await page_login(client, user.email)  # a redirect that sets the session cookie
    _no_store(signed_in)
    me = await client.get(f"{API}/me")  # the cookie alone authenticates a read
    assert me.status_code == 200
    _no_store(me)


async def test_public_answers_stay_cacheable(app: FastAPI, client: httpx.AsyncClient) -> None:
    built = await make_showtime(app, rows=1, seats_per_row=4)
    seats = f"{API}/showtimes/{built.showtime_id}/seats"
    anonymous = await client.get(seats)
    assert anonymous.headers["cache-control"] == "no-cache"
    etag = anonymous.headers["etag"]
    assert (await client.get(seats, headers={"If-None-Match": etag})).status_code == 304
    movies = await client.get(f"{API}/movies")
    assert "cache-control" not in movies.headers
    # Signed in, the map keeps its ETag revalidation but only the caller's own cache may keep it.
    user = await make_user(app)
    signed_in = await client.get(seats, headers=bearer(await sign_in(client, user.email)))
    assert signed_in.headers["cache-control"] == "private, no-cache"
    assert signed_in.headers["etag"]
    # A signed-in browser sends its cookie with every asset: public files stay public.
    await page_login(client, user.email)
    css = await client.get("/static/css/app.css")
    assert css.status_code == 200
    assert css.headers["cache-control"] == "public, max-age=86400"


# --- item 8: unsafe static paths ---


@pytest.mark.parametrize(
    "path",
    [
        "/static/css/app.css%00.py",
        "/static/css/app%00.css",
        f"/static/css/{'a' * 300}.css",
        "/static/%2e%2e/config.py",
    ],
)
async def test_unsafe_static_paths_are_404(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("path", ["css/app.css\x00.py", f"{'a' * 300}.css", "css/" + "a/" * 3000 + "x.css"])
async def test_the_static_route_refuses_names_the_file_system_refuses(path: str) -> None:
    with pytest.raises(NotFound):
        await static_file(path)


# --- item 9: NUL in page and API input ---


async def _staff_pages(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await make_user(app, role=Role.admin)
    await page_login(client, admin.email)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/?q=a%00b", 422),
        ("/bookings/AB%00CDEFGH", 404),
        ("/backoffice/bookings?q=a%00b", 422),
        ("/backoffice/bookings?q=a%00b%40example.com", 422),
        ("/backoffice/movies?q=a%00b", 422),
        ("/backoffice/users?q=a%00b", 422),
        ("/backoffice/audit?action=a%00b", 422),
    ],
)
async def test_nul_in_page_parameters_is_a_friendly_page(
    app: FastAPI, client: httpx.AsyncClient, path: str, status: int
) -> None:
    await _staff_pages(app, client)
    response = await client.get(path)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "Something went wrong" not in response.text
    # Answered at the edge, before the page middleware: the page still carries the page headers.
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


async def test_nul_in_a_page_form_target_is_a_friendly_404(app: FastAPI, client: httpx.AsyncClient) -> None:
    await _staff_pages(app, client)
    token = await page_csrf(client, "/my/bookings")
    response = await client.post("/bookings/AB%00CDEFGH/cancel", data={"csrf_token": token})
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("text/html")


async def test_nul_in_a_page_form_body_is_a_friendly_page(
    app: FastAPI, client: httpx.AsyncClient, backend: str
) -> None:
    # A body is not checked at the edge: the address reaches the database. SQLite finds no such account
    # (the sign-in is refused); PostgreSQL refuses the text (CharacterNotInRepertoireError, a plain
    # DBAPIError with SQLSTATE 22021), which the error mapping turns into 422 invalid_value.
    user = await make_user(app)
    token = await page_csrf(client, "/login")
    response = await client.post(
        "/login", data={"email": f"a\x00{user.email}", "password": DEFAULT_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == (422 if backend == "postgres" else 401), response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "Something went wrong" not in response.text


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/movies?q=a%00b", 422, "validation_error"),
        ("GET", "/bookings?reference=AB%00C", 422, "validation_error"),
        ("GET", "/bookings?email=a%00b%40example.com", 422, "validation_error"),
        ("GET", "/bookings/AB%00CDEFGH", 404, "not_found"),
        ("POST", "/bookings/AB%00CDEFGH/cancel", 404, "not_found"),
        ("GET", "/admin/audit?action=a%00b", 422, "validation_error"),
        ("GET", "/admin/users?q=a%00b", 422, "validation_error"),
    ],
)
async def test_nul_in_api_parameters_is_a_problem(
    app: FastAPI, client: httpx.AsyncClient, method: str, path: str, status: int, code: str
) -> None:
    headers = (await make_customer(app, role=Role.admin)).headers
    response = await client.request(method, API + path, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    if status == 422:  # named like FastAPI's own validation errors
        assert [e["loc"][0] for e in response.json()["errors"]] == ["query"]
