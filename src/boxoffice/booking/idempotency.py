"""Idempotency-Key handling: a retried request gets the first answer and never runs twice.

The record is inserted before the work, in the request's own transaction: a concurrent duplicate blocks on
the unique (user, scope, key) index until the first commits (PostgreSQL) or queues behind its write lock
(SQLite, `BEGIN IMMEDIATE`), then finds the stored answer. If the first request fails, its transaction,
record included, rolls back, so a retry runs afresh (nothing was done). Payments commit their record with
the attempt before the provider is called (booking/payflow.py): a retry then learns the attempt's fate.
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


def render(status: int, body: Any, *, replayed: bool = False) -> Response:
    """The HTTP answer of a stored (status, body); replays say so in `Idempotent-Replayed`."""
    media = PROBLEM_JSON if status >= 400 else "application/json"
    response = Response(orjson.dumps(body), status_code=status, media_type=media)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def normalise_key(key: str) -> str:
    """The key as stored; 400 `invalid_idempotency_key` for an empty, over-long or non-ASCII one."""
    key = key.strip()
    if not key or len(key) > MAX_KEY or not key.isascii():
        raise BadRequest(
            f"Idempotency-Key must be 1 to {MAX_KEY} ASCII characters.", code="invalid_idempotency_key"
        )
    return key


def fingerprint(payload: Any) -> str:
    """The hash of a request body: the same key with another body is a conflict."""
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def find(
    session: AsyncSession, *, user_id: int, scope: str, key: str, request_hash: str
) -> IdempotencyRecord | None:
    """The record of an earlier request with this key; 409 `idempotency_conflict` for another body."""
    record = await repo.get_idempotency(session, user_id=user_id, scope=scope, key=key)
    if record is not None and record.request_hash != request_hash:
        raise Conflict("This Idempotency-Key was used with a different request.", code="idempotency_conflict")
    return record


async def reserve(
    session: AsyncSession,
    *,
    user_id: int,
    scope: str,
    key: str,
    request_hash: str,
) -> IdempotencyRecord | None:
    """Insert the in-progress record; None when a concurrent request with the key inserted it first."""
    record = IdempotencyRecord(user_id=user_id, scope=scope, key=key, request_hash=request_hash)
    try:
        async with session.begin_nested():
            session.add(record)
            await session.flush()
    except IntegrityError:
        return None
    return record


def _in_progress() -> Conflict:
    return Conflict("The first request with this key is still running.", code="idempotency_in_progress")


async def run_idempotent(
    session: AsyncSession, *, user_id: int, key: str | None, scope: str, payload: Any, action: Action
) -> Response:
    """Run `action` once per (user, scope, key); replay its stored (status, body) for repeats."""
    if key is None:
        status, body = await action()
        return render(status, body)
    key = normalise_key(key)
    request_hash = fingerprint(payload)
    record = None
    existing = await find(session, user_id=user_id, scope=scope, key=key, request_hash=request_hash)
    if existing is None:
        record = await reserve(session, user_id=user_id, scope=scope, key=key, request_hash=request_hash)
        if record is None:
            existing = await find(session, user_id=user_id, scope=scope, key=key, request_hash=request_hash)
            if existing is None:
                raise Conflict(
                    "A concurrent request with this key failed; retry.", code="idempotency_in_progress"
                )
    if record is None:
        assert existing is not None
        if existing.status_code is None:
            raise _in_progress()
        return render(existing.status_code, existing.response_body, replayed=True)
    status, body = await action()
    record.status_code = status
    record.response_body = body
    await session.flush()
    return render(status, body)
