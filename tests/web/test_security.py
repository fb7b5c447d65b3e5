"""Page security: session cookie flags, CSRF on forms and cookie-authenticated API calls, CSP, error pages."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from boxoffice.accounts.models import Role, User
from boxoffice.db import transaction
from boxoffice.web.errors import safe_next
from boxoffice.web.middleware import read_session_cookie
from boxoffice.web.sessions import COOKIE_NAME
from tests.factories.accounts import auth_headers, make_user
from tests.web.support import page_csrf, page_login


async def test_pages_carry_csp_and_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/login")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert "<script>" not in response.text  # no inline script: every script is a static file
    assert " onclick=" not in response.text


async def test_session_cookie_is_httponly_lax_and_sealed(app: FastAPI, client: httpx.AsyncClient) -> None:
    response = await client.get("/login")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # only in production
    value = client.cookies[COOKIE_NAME]
    secret = app.state.settings.secret_key
    assert read_session_cookie(secret, value) is not None
    tampered = value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB")
    assert read_session_cookie(secret, tampered) is None


async def test_form_without_csrf_token_is_refused_with_a_page(client: httpx.AsyncClient) -> None:
    await client.get("/login")
    response = await client.post("/logout", data={})
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "form expired" in response.text
    wrong = await client.post("/logout", data={"csrf_token": "forged"})
    assert wrong.status_code == 403


async def test_form_with_csrf_token_works(client: httpx.AsyncClient) -> None:
    token = await page_csrf(client)
    response = await client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/"


async def test_cookie_authenticated_api_write_needs_csrf_header(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await make_user(app, role=Role.admin)
    await page_login(client, user.email)
    session = read_session_cookie(app.state.settings.secret_key, client.cookies[COOKIE_NAME])
    assert session is not None
    refused = await client.post("/api/v1/auth/logout-all")
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"
    # A read with the cookie alone is fine: the page's JS reads the API as the signed-in user.
    summary = await client.get("/api/v1/analytics/summary")
    assert summary.status_code == 200
    # With the header the request passes the CSRF check (whatever the route then answers).
    allowed = await client.post("/api/v1/auth/logout-all", headers={"X-CSRF-Token": session.csrf})
    assert allowed.status_code != 403


async def test_api_call_without_the_cookie_gets_no_page_session(client: httpx.AsyncClient) -> None:
    api = await client.get("/api/v1/showtimes")
    assert api.status_code == 200
    assert "set-cookie" not in api.headers
    assert "content-security-policy" not in api.headers
    assert api.headers["x-content-type-options"] == "nosniff"  # the API's own security headers
    page = await client.get("/login")
    assert page.headers["set-cookie"].startswith(f"{COOKIE_NAME}=")


async def test_page_session_sees_its_own_seats_on_the_seat_map(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The seat map's cached public answer is for anonymous callers only: the cookie is a caller too."""
    from tests.factories.showtimes import make_showtime

    built = await make_showtime(app, rows=1, seats_per_row=4)
    url = f"/api/v1/showtimes/{built.showtime_id}/seats"
    public = await client.get(url)  # cached from now on
    user = await make_user(app)
    await page_login(client, user.email)
    held = await client.post(
        "/api/v1/bookings",
        json={"showtime_id": built.showtime_id, "seat_ids": built.seat_ids[:1]},
        headers=auth_headers(app, user),
    )
    assert held.status_code == 201, held.text
    mine = await client.get(url)  # the page session's cookie alone
    assert [s["seat_id"] for s in mine.json()["seats"] if s["mine"]] == built.seat_ids[:1]
    assert mine.headers["etag"] != public.headers["etag"]
    client.cookies.clear()
    assert not any(s["mine"] for s in (await client.get(url)).json()["seats"])


async def test_bearer_api_writes_are_not_affected(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await make_user(app)
    response = await client.post("/api/v1/auth/logout-all", headers=auth_headers(app, user))
    assert response.status_code != 403 or response.json()["code"] != "csrf_failed"


async def test_disabled_account_loses_its_page_session(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await make_user(app, role=Role.admin)
    await page_login(client, user.email)
    assert (await client.get("/api/v1/analytics/summary")).status_code == 200
    async with transaction(app.state.sessionmaker) as session:
        await session.execute(update(User).where(User.id == user.id).values(is_active=False))
    assert (await client.get("/api/v1/analytics/summary")).status_code == 401


async def test_unknown_page_is_a_friendly_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Page not found" in response.text
    assert "Traceback" not in response.text
    api = await client.get("/api/v1/no-such-thing")
    assert api.headers["content-type"].startswith("application/problem+json")


async def test_static_assets_are_served_locally_and_safely(client: httpx.AsyncClient) -> None:
    css = await client.get("/static/css/app.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    js = await client.get("/static/js/app.js")
    assert js.status_code == 200
    assert (await client.get("/static/../config.py")).status_code == 404
    assert (await client.get("/static/%2e%2e/%2e%2e/config.py")).status_code == 404
    page = await client.get("/login")
    assert "http://" not in page.text.replace("http://testserver", "")
    assert "https://" not in page.text


def test_next_accepts_only_local_paths() -> None:
    assert safe_next("/my/bookings?x=1") == "/my/bookings?x=1"
    for bad in ("//evil.example", "https://evil.example", "/\\evil.example", "javascript:alert(1)", "", None):
        assert safe_next(bad) == "/"


async def test_an_unexpected_page_error_is_a_friendly_500(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals: db password hunter2")

    monkeypatch.setattr("boxoffice.catalog.service.list_movies", broken)
    response = await client.get("/")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "Something went wrong" in response.text
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert "unsafe-inline" not in response.headers["content-security-policy"]


def test_templates_and_scripts_carry_no_inline_code() -> None:
    """The CSP forbids inline script and style: no template may rely on them."""
    import re
    from pathlib import Path

    import boxoffice.web

    root = Path(boxoffice.web.__file__).parent
    for template in (root / "templates").rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), f"inline <script> in {template.name}"
        assert not re.search(r"\sstyle=\"", text), f"inline style attribute in {template.name}"
        assert not re.search(r"\son[a-z]+=\"", text), f"inline event handler in {template.name}"
        assert "http://" not in text, f"an external address in {template.name}"
        assert "https://" not in text, f"an external address in {template.name}"
    for script in (root / "static" / "js").glob("*.js"):
        text = script.read_text()
        assert "eval(" not in text, script.name
        assert "new Function" not in text, script.name
        assert "innerHTML" not in text, f"{script.name} builds markup from strings"


async def test_user_text_is_escaped(app: FastAPI, client: httpx.AsyncClient) -> None:
    from tests.factories.showtimes import make_showtime

    built = await make_showtime(app, rows=1, seats_per_row=2)
    async with transaction(app.state.sessionmaker) as session:
        from boxoffice.catalog.models import Movie

        await session.execute(
            update(Movie).where(Movie.id == built.movie_id).values(title='<script>alert("x")</script>')
        )
    page = await client.get(f"/movies/{built.movie_id}")
    assert page.status_code == 200
    assert '<script>alert("x")</script>' not in page.text
    assert "&lt;script&gt;" in page.text
