"""Email attachments, stored inline or rendered by the sender when the email goes out.

An outbox row's `attachments` holds entries of two forms:

    {"filename": "a.pdf", "content_type": "application/pdf", "data_b64": "..."}   # inline bytes
    {"render": "booking_tickets", "args": {"booking_id": 42}}                      # deferred

A deferred entry names a renderer that a domain registered at import time, so that notifications never
imports it:

    register_renderer("booking_tickets", load_tickets)   # async fn(session, args) -> [Build, ...]

The sender calls the renderer in a short read transaction (database reads only); the renderer answers with
a `Build` per file: a module-level function and the plain data it needs. Once that transaction has closed,
the sender runs each build in its render process (notifications/renderpool.py): the CPU-bound work (a PDF,
QR codes) and its libraries stay out of the web worker, its event loop and its memory, and no transaction
waits for it. A renderer raises `Obsolete` when the email no longer makes sense (its booking was refunded,
say); any other error, in the renderer or in a build, is a failed attempt, retried with the sender's backoff.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession


class Attachment(NamedTuple):
    """A file attached to an email."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Build:
    """A file made when the email is sent: `function(*args)` returns its bytes.

    It runs in another process, so `function` is a module-level function and `args` plain picklable data:
    no session, no ORM objects, no closures.
    """

    filename: str
    content_type: str
    function: Callable[..., bytes]
    args: tuple[Any, ...] = ()


Renderer = Callable[[AsyncSession, dict[str, Any]], Awaitable[Sequence[Build]]]


class Obsolete(Exception):
    """Raised by a renderer when its email should not be sent any more; the message says why."""


_renderers: dict[str, Renderer] = {}


def register_renderer(kind: str, render: Renderer) -> None:
    """Add (or replace) the renderer of deferred attachments of `kind`."""
    _renderers[kind] = render


def inline_entry(attachment: Attachment | tuple[str, str, bytes]) -> dict[str, Any]:
    """The stored form of a file attached as it is."""
    filename, content_type, data = attachment
    return {
        "filename": filename,
        "content_type": content_type,
        "data_b64": base64.b64encode(data).decode("ascii"),
    }


def deferred_entry(kind: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """The stored form of files that the renderer of `kind` makes from `args` (JSON values) at send time."""
    return {"render": kind, "args": dict(args)}


def _decode(entry: Mapping[str, Any]) -> Attachment:
    return Attachment(
        str(entry.get("filename", "attachment")),
        str(entry.get("content_type", "application/octet-stream")),
        base64.b64decode(entry["data_b64"]),
    )


async def prepare(session: AsyncSession, entries: Sequence[Mapping[str, Any]]) -> list[Attachment | Build]:
    """The email's files in order: inline ones decoded, deferred ones as builds (the renderers only read)."""
    files: list[Attachment | Build] = []
    for entry in entries:
        if "render" not in entry:
            files.append(_decode(entry))
            continue
        render = _renderers.get(str(entry["render"]))
        if render is None:
            raise LookupError(f"no attachment renderer registered for {entry['render']!r}")
        files.extend(await render(session, dict(entry.get("args") or {})))
    return files
