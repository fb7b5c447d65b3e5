"""Pure-ASGI middleware of the pages: the session cookie, CSRF on cookie-authenticated API calls, CSP.

It reads the session cookie, checks it against the account (revocation), sets
`request.state.session_user_id` (which `accounts.deps.get_optional_user` honours, so the JSON API works
for a signed-in page too) and `request.state.web_session`. One CSRF rule, keyed on how the caller
authenticates (`accounts.deps.bearer_token`): a request with a Bearer token is exempt and the cookie
does not authenticate it; every other unsafe `/api/` request the cookie authenticates must carry the
session's token in `X-CSRF-Token`, whatever other headers (`Authorization: Basic ...`) it carries.
An `/api/` request without the session cookie passes straight through (nothing to load or sign).

The cookie is sealed: the signed session document (`WebSession.dumps`, which names the refresh token
and the CSRF token) is encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from
SECRET_KEY by HKDF, so a copied cookie shows nothing and a changed one is refused. Cookies of the older,
signed-only format no longer open: their holders are simply signed out.
"""

from __future__ import annotations

import base64
import functools
import logging
import re
from http.cookies import CookieError, SimpleCookie

import orjson
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from boxoffice.accounts.deps import bearer_token
from boxoffice.config import Settings
from boxoffice.db import transaction
from boxoffice.web import repository
from boxoffice.web.sessions import (
    COOKIE_NAME,
    MAX_AGE_SECONDS,
    WebSession,
    csrf_matches,
    signing_key,
)

log = logging.getLogger("boxoffice.web")

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
PAGE_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
]
ERROR_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<title>Something went wrong · boxoffice</title>"
    '<link rel="stylesheet" href="/static/css/app.css"></head><body><main id="main">'
    '<section class="panel narrow"><h1>Something went wrong</h1>'
    "<p>Sorry, that did not work on our side. Please try again in a moment.</p>"
    '<p class="muted">Error 500</p><p><a class="button" href="/">Back to the movies</a></p>'
    "</section></main></body></html>"
)
# Swagger UI and ReDoc load their own inline code: they keep FastAPI's defaults.
_NO_CSP_PREFIXES = ("/docs", "/redoc", "/openapi.json")


def _cookie_value(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"cookie":
            try:
                jar = SimpleCookie(value.decode("latin-1"))
            except CookieError:
                continue
            morsel = jar.get(COOKIE_NAME)
            if morsel is not None:
                return morsel.value
    return None


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope["headers"]:
        if name == wanted:
            return str(value.decode("latin-1"))
    return None


# A sealed cookie longer than this is refused before any decryption (browsers keep at most 4096 bytes).
_MAX_SEALED = 8192
_SEALED = re.compile(r"[A-Za-z0-9_-]+")


@functools.lru_cache(maxsize=8)
def _cookie_cipher(secret_key: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"boxoffice.web.session.cookie.v2"
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def write_session_cookie(secret_key: str, session: WebSession) -> str:
    """The cookie value of `session`: its signed document, encrypted (unpadded URL-safe base64)."""
    signed = session.dumps(signing_key(secret_key))
    return _cookie_cipher(secret_key).encrypt(signed.encode()).decode("ascii").rstrip("=")


def read_session_cookie(secret_key: str, value: str) -> WebSession | None:
    """The session in a cookie value, or None when forged, changed, of the old format or too old."""
    if len(value) > _MAX_SEALED or not _SEALED.fullmatch(value):
        return None
    token = value.encode("ascii") + b"=" * (-len(value) % 4)
    try:
        # Only the canonical spelling opens: the decoder would forgive trailing junk and stray bits.
        if base64.urlsafe_b64encode(base64.urlsafe_b64decode(token)) != token:
            return None
        signed = _cookie_cipher(secret_key).decrypt(token, ttl=MAX_AGE_SECONDS)
    except (InvalidToken, ValueError):
        return None
    return WebSession.loads(signed.decode("ascii", errors="replace"), signing_key(secret_key))


def cookie_is_secure(settings: Settings) -> bool:
    """True when the session cookie must be `Secure`: in production, or whenever BASE_URL is https."""
    return settings.is_production or settings.base_url.lower().startswith("https://")


def set_cookie_header(value: str, *, secure: bool, max_age: int = MAX_AGE_SECONDS) -> bytes:
    """The Set-Cookie header of the session cookie."""
    parts = [f"{COOKIE_NAME}={value}", "Path=/", "HttpOnly", "SameSite=Lax", f"Max-Age={max_age}"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts).encode()


class WebSessionMiddleware:
    """Load and check the page session, guard cookie-authenticated API writes, add page headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        page_headers = not path.startswith(("/api/", *_NO_CSP_PREFIXES))
        if path.startswith("/static/") or path in ("/healthz", "/readyz", "/metrics"):
            await self.app(scope, receive, self._headers_only(send, page_headers))
            return
        raw = _cookie_value(scope)
        if raw is None and path.startswith("/api/"):
            # An API call without a page session: nothing to load, check, sign or add (no cookie means
            # no cookie-authenticated caller, so no CSRF check either). Pages still get a session.
            await self.app(scope, receive, send)
            return
        fastapi_app = scope["app"]
        settings: Settings = fastapi_app.state.settings
        secret = settings.secret_key
        session = (read_session_cookie(secret, raw) if raw else None) or WebSession(dirty=raw is not None)
        state = scope.setdefault("state", {})
        state["web_session"] = session
        # A Bearer caller is judged by its token alone: the cookie neither authenticates it nor asks it
        # for a CSRF token. Any other caller the cookie authenticates needs the token on unsafe methods.
        has_bearer = bearer_token(_header(scope, b"authorization")) is not None
        if session.uid is not None and not has_bearer and await self._still_valid(fastapi_app, session):
            state["session_user_id"] = session.uid
        if (
            path.startswith("/api/")
            and scope["method"] in UNSAFE_METHODS
            and "session_user_id" in state
            and not csrf_matches(session, _header(scope, b"x-csrf-token"))
        ):
            await self._refuse_csrf(send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if session.dirty:
                    value = write_session_cookie(secret, session)
                    headers.append(
                        (b"set-cookie", set_cookie_header(value, secure=cookie_is_secure(settings)))
                    )
                    session.dirty = False
                if page_headers:
                    headers = self._add_page_headers(headers, secure=settings.is_production)
                message["headers"] = headers
            await send(message)

        if not page_headers:
            await self.app(scope, receive, send_wrapper)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send_wrapper(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            # A page never shows a traceback or a JSON problem: log it and answer a friendly page.
            if started:
                raise
            log.exception("unhandled error on page %s %s", scope["method"], path)
            await self._error_page(tracking_send)

    @staticmethod
    async def _error_page(send: Send) -> None:
        body = ERROR_PAGE.encode()
        await send(
            {
                "type": "http.response.start",
                "status": 500,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _still_valid(self, fastapi_app: object, session: WebSession) -> bool:
        """False (and the session signed out) when the account is gone or its sessions were revoked."""
        assert session.uid is not None
        try:
            async with transaction(fastapi_app.state.sessionmaker, write=False) as db:  # type: ignore[attr-defined]
                live = await repository.page_session_is_live(db, user_id=session.uid, family=session.family)
        except Exception:
            log.warning("could not check a page session; treating the request as anonymous", exc_info=True)
            return False
        if not live:
            session.sign_out()
            return False
        return True

    @staticmethod
    def _add_page_headers(headers: list[tuple[bytes, bytes]], *, secure: bool) -> list[tuple[bytes, bytes]]:
        existing = {k.lower() for k, _ in headers}
        extra = [h for h in PAGE_HEADERS if h[0] not in existing]
        content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
        if content_type.startswith(b"text/html") and b"cache-control" not in existing:
            extra.append((b"cache-control", b"no-store"))
        if secure:
            extra.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
        return headers + extra

    def _headers_only(self, send: Send, page_headers: bool) -> Send:
        async def wrapper(message: Message) -> None:
            if page_headers and message["type"] == "http.response.start":
                message["headers"] = self._add_page_headers(list(message.get("headers", [])), secure=False)
            await send(message)

        return wrapper

    @staticmethod
    async def _refuse_csrf(send: Send) -> None:
        body = orjson.dumps(
            {
                "type": "https://boxoffice.dev/problems/csrf_failed",
                "title": "Forbidden",
                "status": 403,
                "detail": "A signed-in page request must carry its X-CSRF-Token header.",
                "code": "csrf_failed",
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
