"""Helpers for page tests: read the CSRF token from a page, mint a signed-in page session."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from boxoffice.accounts.models import User
from boxoffice.web.sessions import COOKIE_NAME, WebSession, signing_key, stamp_of

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token a page carries (hidden input or meta tag)."""
    match = _CSRF.search(html) or _META.search(html)
    assert match, "the page carries no CSRF token"
    return match.group(1)


async def page_csrf(client: httpx.AsyncClient, path: str = "/login") -> str:
    """GET a page and return its CSRF token (the session cookie is kept by the client)."""
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return csrf_from(response.text)


def sign_in_cookie(app: FastAPI, client: httpx.AsyncClient, user: User) -> WebSession:
    """Give `client` a signed-in page session for `user` (like a completed sign-in form)."""
    session = WebSession()
    session.sign_in(user_id=user.id, stamp=stamp_of(user.password_changed_at, user.tokens_valid_after))
    client.cookies.set(COOKIE_NAME, session.dumps(signing_key(app.state.settings.secret_key)))
    return session
