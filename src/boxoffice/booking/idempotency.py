"""Idempotency-Key handling: a retried request gets the first answer and never runs twice.

The record is inserted before the work, in the request's own transaction: a concurrent duplicate blocks on
the unique (user, scope, key) index until the first commits (PostgreSQL) or queues behind its write lock
(SQLite, `BEGIN IMMEDIATE`), then finds the stored answer. If the first request fails, its transaction,
record included, rolls back, so a retry runs afresh (nothing was done).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.booking import repository as repo
from boxoffice.booking.models import IdempotencyRecord
from boxoffice.errors import BadRequest, Conflict
from boxoffice.problems import PROBLEM_JSON

MAX_KEY = 200

Action = Callable[[], Awaitable[tuple[int, Any]]]


def _render(status: int, body: Any) -> Response:
    media = PROBLEM_JSON if status >= 400 else "application/json"
    return Response(orjson.dumps(body), status_code=status, media_type=media)


def _check(record: IdempotencyRecord, request_hash: str) -> Response:
    if record.request_hash != request_hash:
        raise Conflict("This Idempotency-Key was used with a different request.", code="idempotency_conflict")
    if record.status_code is None:
        raise Conflict("The first request with this key is still running.", code="idempotency_in_progress")
    response = _render(record.status_code, record.response_body)
    response.headers["Idempotent-Replayed"] = "true"
    return response


async def run_idempotent(
    session: AsyncSession, *, user_id: int, key: str | None, scope: str, payload: Any, action: Action
) -> Response:
    """Run `action` once per (user, scope, key); replay its stored (status, body) for repeats."""
    if key is None:
        status, body = await action()
        return _render(status, body)
    key = key.strip()
    if not key or len(key) > MAX_KEY or not key.isascii():
        raise BadRequest(
            f"Idempotency-Key must be 1 to {MAX_KEY} ASCII characters.", code="invalid_idempotency_key"
        )
    request_hash = hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()
    existing = await repo.get_idempotency(session, user_id=user_id, scope=scope, key=key)
    if existing is not None:
        return _check(existing, request_hash)
    record = IdempotencyRecord(user_id=user_id, scope=scope, key=key, request_hash=request_hash)
    try:
        async with session.begin_nested():
            session.add(record)
            await session.flush()
    except IntegrityError:
        existing = await repo.get_idempotency(session, user_id=user_id, scope=scope, key=key)
        if existing is None:
            raise Conflict(
                "A concurrent request with this key failed; retry.", code="idempotency_in_progress"
            ) from None
        return _check(existing, request_hash)
    status, body = await action()
    record.status_code = status
    record.response_body = body
    await session.flush()
    return _render(status, body)
