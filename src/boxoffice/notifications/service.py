"""Queue emails: render the templates and write an outbox row in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.db import after_commit
from boxoffice.notifications.attachments import Attachment, deferred_entry, inline_entry
from boxoffice.notifications.models import OutboxEmail
from boxoffice.notifications.signal import wake_outbox

MAX_SUBJECT = 300


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("boxoffice.notifications", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def render_email(template: str, context: Mapping[str, Any]) -> tuple[str, str]:
    """The text and HTML bodies of `template` (`<template>.txt` and `<template>.html`)."""
    env = _env()
    text = env.get_template(f"{template}.txt").render(**context)
    html = env.get_template(f"{template}.html").render(**context)
    return text, html


async def queue_email(
    session: AsyncSession,
    *,
    to: str,
    subject: str,
    template: str,
    context: Mapping[str, Any],
    attachments: Iterable[Attachment | tuple[str, str, bytes]] = (),
    deferred: Iterable[tuple[str, Mapping[str, Any]]] = (),
) -> OutboxEmail:
    """Render and store an email in the caller's transaction; the sender is woken after commit.

    `attachments` are stored as they are; each `(kind, args)` of `deferred` is rendered by the sender
    when it delivers the email (see notifications/attachments.py), after the inline files.
    """
    text, html = render_email(template, context)
    email = OutboxEmail(
        to_address=to,
        subject=subject.replace("\r", " ").replace("\n", " ")[:MAX_SUBJECT],
        text_body=text,
        html_body=html,
        attachments=[inline_entry(a) for a in attachments]
        + [deferred_entry(kind, args) for kind, args in deferred],
    )
    session.add(email)
    await session.flush()
    after_commit(session, wake_outbox)
    return email
