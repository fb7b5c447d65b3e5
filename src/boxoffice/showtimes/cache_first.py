"""Routes that may answer from a per-process cache before FastAPI reads their parameters.

Why: for every request FastAPI extracts and validates each declared parameter and solves each
dependency (the session, the caller, paging): for the public seat map and showtime listing, whose
answer nearly always comes from memory (seatmap_cache.py, listing_cache.py), that work costs more than
the answer itself (docs/performance.md).

How: the showtimes router makes its routes with `CacheFirstRoute`. An endpoint marked
`@cache_first(peek)` gets `peek(request)` called first: a response is the cached answer for exactly
this raw input, served as is; None hands the request to FastAPI, which validates, runs the endpoint
and fills the cache. Entries only ever come from requests FastAPI accepted, and a peek keys them by
the raw input (or falls through on anything it does not fully recognise), so a peek answers only what
the endpoint would have answered. A peek skips the route's dependencies: only for public answers.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.routing import APIRoute

Peek = Callable[[Request], Response | None]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])

_PEEK = "_cache_first_peek"


def cache_first(peek: Peek) -> Callable[[Endpoint], Endpoint]:
    """Mark an endpoint: `peek(request)` may answer before FastAPI solves the endpoint's parameters."""

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, _PEEK, peek)
        return endpoint

    return mark


class CacheFirstRoute(APIRoute):
    """An APIRoute that lets a `cache_first` peek answer first; any other endpoint runs unchanged."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, preceded by the endpoint's peek when it has one."""
        handler = super().get_route_handler()
        peek: Peek | None = getattr(self.endpoint, _PEEK, None)
        if peek is None:
            return handler

        async def peek_first(request: Request) -> Response:
            response = peek(request)
            return response if response is not None else await handler(request)

        return peek_first


class RawResponse(Response):
    """A response built from ready header bytes (Response() encodes a header dict on every request)."""

    def __init__(self, body: bytes, status_code: int, raw_headers: list[tuple[bytes, bytes]]) -> None:
        self.status_code = status_code
        self.body = body
        self.background = None
        self.raw_headers = raw_headers


def json_response(body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> Response:
    """200 with a JSON `body` and the given extra headers."""
    raw = [
        *(headers or ()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("latin-1")),
    ]
    return RawResponse(body, 200, raw)
