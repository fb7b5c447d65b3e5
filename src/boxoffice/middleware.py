"""Pure ASGI middleware: request ids, access logs, metrics, body-size and header limits, allowed hosts,
security and cache headers."""

from __future__ import annotations

import logging
import secrets
import time
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from boxoffice.errors import AppError, NotFound, Unprocessable
from boxoffice.kit.logs import request_id_var
from boxoffice.kit.metrics import HTTP_LATENCY, HTTP_REQUESTS
from boxoffice.problems import error_response

log = logging.getLogger("boxoffice.access")

API_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
]
# The OAuth2 token answers (RFC 6749 5.1): never stored, whatever their status.
TOKEN_PATHS = frozenset({"/api/v1/auth/login", "/api/v1/auth/token", "/api/v1/auth/refresh"})
_NO_STORE = [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]
_NUL_MESSAGE = "text must not contain NUL characters"


def _problem(status: int, code: str, title: str, detail: str) -> bytes:
    return orjson.dumps(
        {"type": "about:blank", "title": title, "status": status, "detail": detail, "code": code}
    )


async def send_problem(
    send: Send, status: int, code: str, title: str, detail: str, *, close: bool = False
) -> None:
    """Answer a problem+json from a middleware, before (or instead of) the app."""
    body = _problem(status, code, title, detail)
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    """Give every request an id, log and measure it, refuse oversized bodies with 413."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if 0 < len(incoming) <= 64 and incoming.isascii() else secrets.token_hex(8)
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status_holder = [500]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                extra = [(b"x-request-id", rid.encode())]
                existing = {k.lower() for k, _ in message.get("headers", [])}
                extra += [h for h in API_SECURITY_HEADERS if h[0] not in existing]
                message["headers"] = _cache_headers(scope, list(message.get("headers", []))) + extra
            await send(message)

        try:
            refusal = _nul_refusal(scope)
            if refusal is not None:
                await _answer_error(scope, receive, send_wrapper, refusal)
                return
            length = headers.get(b"content-length")
            if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
                await self._reject(
                    send_wrapper,
                    413,
                    "payload_too_large",
                    "Payload too large",
                    f"The body may not exceed {self.max_body_bytes} bytes.",
                )
                return
            if length is None and scope["method"] in _BODY_METHODS:
                # No Content-Length (chunked): read the body here, within the limit, then replay it.
                body = await self._read_limited(receive)
                if body is None:
                    await self._reject(
                        send_wrapper,
                        413,
                        "payload_too_large",
                        "Payload too large",
                        f"The body may not exceed {self.max_body_bytes} bytes.",
                    )
                    return
                receive = _replay(body, receive)
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            HTTP_REQUESTS.labels(scope["method"], route, str(status_holder[0])).inc()
            HTTP_LATENCY.labels(scope["method"], route).observe(elapsed)
            if route not in ("/healthz", "/metrics"):
                log.info(
                    "%s %s %s %.1fms",
                    scope["method"],
                    scope["path"],
                    status_holder[0],
                    elapsed * 1000,
                    extra={"status": status_holder[0], "duration_ms": round(elapsed * 1000, 2)},
                )
            request_id_var.reset(token)

    async def _read_limited(self, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it exceeds the limit."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    @staticmethod
    async def _reject(send: Send, status: int, code: str, title: str, detail: str) -> None:
        await send_problem(send, status, code, title, detail)


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive callable that hands out `body` once, then defers to the real one (disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _carries_credentials(scope: Scope) -> bool:
    """A bearer (any Authorization) header, or a live page session (set by the pages' middleware)."""
    if any(name == b"authorization" for name, _ in scope["headers"]):
        return True
    return scope.get("state", {}).get("session_user_id") is not None


def _cache_headers(scope: Scope, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`no-store` on token answers and on answers to a caller with credentials (or that set a cookie).

    A route that declared its own policy keeps it when the policy is `public` (static files, posters:
    the same for everyone, and the page cookie rides along on every request of a signed-in browser) or
    already forbids storing; any other policy (the seat map's `no-cache` with its ETag) becomes
    `private`, so that only the caller's own browser may keep it. Anonymous answers are left as they are.
    """
    if scope["path"] in TOKEN_PATHS:
        kept = [(k, v) for k, v in headers if k.lower() not in (b"cache-control", b"pragma")]
        return kept + _NO_STORE
    names = {k.lower() for k, _ in headers}
    if not (_carries_credentials(scope) or b"set-cookie" in names):
        return headers
    if b"cache-control" not in names:
        return [*headers, _NO_STORE[0]]
    result = []
    for key, value in headers:
        if key.lower() == b"cache-control":
            policy = value.lower()
            if not any(word in policy for word in (b"public", b"private", b"no-store")):
                value = b"private, " + value
        result.append((key, value))
    return result


def _nul_refusal(scope: Scope) -> AppError | None:
    """NUL in the path (names nothing: 404) or in query text (invalid input: 422), else None.

    PostgreSQL refuses NUL in text; stopping it here answers the same on every database and page."""
    if "\x00" in scope["path"]:
        return NotFound("Nothing here has that name.", code="not_found")
    query: bytes = scope.get("query_string", b"")
    if b"%00" not in query and b"\x00" not in query:
        return None
    names = [k for k, v in parse_qsl(query.decode("latin-1"), keep_blank_values=True) if "\x00" in k + v]
    errors = [{"loc": ["query", name], "msg": _NUL_MESSAGE, "type": "value_error"} for name in names]
    fields = ", ".join(f"query.{name}" for name in names[:5]) or "query"
    error = Unprocessable(
        f"Invalid input: {fields}",
        code="validation_error",  # as the API's own NUL guards answer (FastAPI validation)
        extra={"errors": errors or [{"loc": ["query"], "msg": _NUL_MESSAGE, "type": "value_error"}]},
    )
    error.title = "Invalid input"
    return error


async def _answer_error(scope: Scope, receive: Receive, send: Send, error: AppError) -> None:
    """Answer `error` as the app's handlers would: the friendly page for pages, else problem+json."""
    await error_response(Request(scope, receive), error)(scope, receive, send)


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


# Request header limits (431) and allowed Host names (400), the outermost guard. uvicorn's default HTTP parser
# (httptools) puts no bound on request headers, so the app counts them itself; the proxy in front (nginx's
# `large_client_header_buffers`) is the first guard and bounds the memory.
# Operations endpoints answer whatever Host a probe or a scraper uses (a node's own address): they build
# no links, and /metrics has its own token.
HOST_CHECK_EXEMPT = frozenset({"/healthz", "/readyz", "/metrics"})


def host_name(raw: bytes) -> str:
    """The host part of a Host header value, lower-cased, without the port (IPv6 literals keep brackets)."""
    value = raw.decode("latin-1").strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[: end + 1] if end > 0 else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def host_allowed(host: str, allowed: list[str]) -> bool:
    """True when `host` matches one of `allowed` (`*` any, `*.example.com` its subdomains)."""
    for pattern in allowed:
        if pattern == "*" or pattern == host:
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
    return False


class RequestLimitsMiddleware:
    """Answer 431 to requests with too many or too large headers, 400 to a Host not in `allowed_hosts`."""

    def __init__(self, app: ASGIApp, *, max_header_bytes: int, max_headers: int, allowed_hosts: list[str]):
        self.app = app
        self.max_header_bytes = max_header_bytes
        self.max_headers = max_headers
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        size = sum(len(name) + len(value) for name, value in headers)
        if len(headers) > self.max_headers or size > self.max_header_bytes:
            detail = (
                f"At most {self.max_headers} request headers of {self.max_header_bytes} bytes in all "
                f"(this request: {len(headers)} headers, {size} bytes)."
            )
            await send_problem(
                send, 431, "headers_too_large", "Request Header Fields Too Large", detail, close=True
            )
            return
        if scope.get("path") not in HOST_CHECK_EXEMPT:
            raw = next((value for name, value in headers if name == b"host"), None)
            if raw is None:  # no Host (HTTP/1.0): the address the request came in on, as Starlette's URL does
                server = scope.get("server")
                raw = str(server[0]).encode() if server else b""
            if not host_allowed(host_name(raw), self.allowed_hosts):
                detail = "This host name is not served here (ALLOWED_HOSTS)."
                await send_problem(send, 400, "invalid_host", "Bad Request", detail, close=True)
                return
        await self.app(scope, receive, send)
