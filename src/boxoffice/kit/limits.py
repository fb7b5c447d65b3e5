"""Pure ASGI guards in front of the app: request header limits (431) and the allowed Host names (400).

uvicorn's default HTTP parser (httptools) puts no bound on request headers, so the app counts them itself;
the proxy in front (nginx's `large_client_header_buffers`) is the first guard and bounds the memory.
"""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

# Operations endpoints answer whatever Host a probe or a scraper uses (a node's own address): they build
# no links, and /metrics has its own token.
HOST_CHECK_EXEMPT = frozenset({"/healthz", "/readyz", "/metrics"})


def _problem(status: int, title: str, code: str, detail: str) -> bytes:
    return orjson.dumps(
        {"type": "about:blank", "title": title, "status": status, "detail": detail, "code": code}
    )


async def _answer(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


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
            body = _problem(431, "Request Header Fields Too Large", "headers_too_large", detail)
            await _answer(send, 431, body)
            return
        if scope.get("path") not in HOST_CHECK_EXEMPT:
            raw = next((value for name, value in headers if name == b"host"), None)
            if raw is None:  # no Host (HTTP/1.0): the address the request came in on, as Starlette's URL does
                server = scope.get("server")
                raw = str(server[0]).encode() if server else b""
            if not host_allowed(host_name(raw), self.allowed_hosts):
                body = _problem(
                    400, "Bad Request", "invalid_host", "This host name is not served here (ALLOWED_HOSTS)."
                )
                await _answer(send, 400, body)
                return
        await self.app(scope, receive, send)
