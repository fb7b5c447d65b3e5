"""Pure ASGI middleware: request ids, access logs, metrics, body-size limit and security headers."""

from __future__ import annotations

import logging
import secrets
import time

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from boxoffice.kit.logs import request_id_var
from boxoffice.kit.metrics import HTTP_LATENCY, HTTP_REQUESTS

log = logging.getLogger("boxoffice.access")

API_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
]


def _problem(status: int, code: str, title: str, detail: str) -> bytes:
    return orjson.dumps(
        {"type": "about:blank", "title": title, "status": status, "detail": detail, "code": code}
    )


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
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        try:
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
        body = _problem(status, code, title, detail)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


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


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"
