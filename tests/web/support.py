"""Helpers for page tests: read the CSRF token from a page, sign in through the real sign-in form."""

from __future__ import annotations

import asyncio
import re

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from boxoffice.db import transaction
from boxoffice.notifications.models import OutboxEmail
from boxoffice.web.middleware import read_session_cookie
from boxoffice.web.sessions import COOKIE_NAME, WebSession
from tests.factories.accounts import DEFAULT_PASSWORD

_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token of the page's forms; every hidden token on the page must be the meta tag's."""
    meta = _META.search(html)
    assert meta, "the page carries no CSRF meta tag"
    hidden = re.findall(r'name="csrf_token" value="([^"]*)"', html)
    assert all(token == meta.group(1) for token in hidden), "a form carries a wrong or empty CSRF token"
    return meta.group(1)


async def page_csrf(client: httpx.AsyncClient, path: str = "/login") -> str:
    """GET a page and return its CSRF token (the session cookie is kept by the client)."""
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return csrf_from(response.text)


async def post_form(
    client: httpx.AsyncClient, path: str, data: dict[str, str], *, page: str | None = None
) -> httpx.Response:
    """Submit a form like a browser: fetch the page for its token, then POST."""
    token = await page_csrf(client, page or path)
    return await client.post(path, data={**data, "csrf_token": token})


async def page_login(
    client: httpx.AsyncClient, email: str, password: str = DEFAULT_PASSWORD
) -> httpx.Response:
    """Sign in through the sign-in form; asserts it worked."""
    response = await post_form(client, "/login", {"email": email, "password": password, "next": "/account"})
    assert response.status_code == 303, response.text
    return response


def session_of(app: FastAPI, client: httpx.AsyncClient) -> WebSession:
    """The page session the client's cookie holds."""
    session = read_session_cookie(app.state.settings.secret_key, client.cookies[COOKIE_NAME])
    assert session is not None
    return session


async def emails_to(app: FastAPI, address: str, *, wait: float = 5.0) -> list[OutboxEmail]:
    """The emails queued for `address`, oldest first (the outbox table, before delivery).

    Some emails are queued after the answer (forgot password looks the address up afterwards, for equal
    timing), so this waits up to `wait` seconds for the first one.
    """
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        async with transaction(app.state.sessionmaker, write=False) as session:
            rows = list(
                await session.scalars(
                    select(OutboxEmail).where(OutboxEmail.to_address == address).order_by(OutboxEmail.id)
                )
            )
        if rows or asyncio.get_running_loop().time() > deadline:
            return rows
        await asyncio.sleep(0.05)


def link_in(text: str, page: str) -> str:
    """The local path of the `page` link in an email body (e.g. "/verify-email?token=...")."""
    match = re.search(rf"https?://[^/\s]+(/{page}\?token=[A-Za-z0-9_\-%]+)", text)
    assert match, f"no /{page} link in the email"
    return match.group(1)
