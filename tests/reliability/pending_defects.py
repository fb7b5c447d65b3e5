"""Reproducers of defects found by the reliability suite in code owned by others.

Not collected by `make test` (the file name does not start with test_); run them with
`.venv/bin/pytest -q tests/reliability/pending_defects.py`. Each fails today; once it passes,
move it into the suite proper. docs/reliability.md lists them with their owners.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.factories.accounts import auth_headers, make_user

API = "/api/v1"


async def test_chunked_oversized_body_is_413_not_400(app: FastAPI, client: httpx.AsyncClient) -> None:
    """Core middleware: a body over max_body_bytes without Content-Length answers 400, not 413.

    RequestContextMiddleware raises _BodyTooLargeError from `receive`, but FastAPI's request handler
    turns any exception while reading the body into 400 "There was an error parsing the body".
    """
    user = await make_user(app)

    async def chunks() -> Any:
        for _ in range(40):
            yield b"x" * 65536

    r = await client.post(
        f"{API}/auth/login",
        content=chunks(),
        headers={**auth_headers(app, user), "content-type": "application/json"},
    )
    assert r.status_code == 413, (r.status_code, r.text)


async def test_deeply_nested_json_is_422_not_400(app: FastAPI, client: httpx.AsyncClient) -> None:
    """Core: JSON nested deeper than the parser's recursion limit answers 400 bad_request.

    API.md / the issue ask for 413 or 422 (a clear validation answer); FastAPI turns the parser's
    RecursionError into HTTPException(400, "There was an error parsing the body").
    """
    user = await make_user(app)
    headers = {**auth_headers(app, user), "content-type": "application/json"}
    for depth in (5_000, 100_000):
        r = await client.post(f"{API}/bookings", content=b"[" * depth + b"]" * depth, headers=headers)
        assert r.status_code in (413, 422), (depth, r.status_code, r.text)
