"""Queue emails: render the templates and write an outbox row in the caller's transaction."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, NamedTuple

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.db import after_commit
from boxoffice.notifications.models import OutboxEmail
from boxoffice.notifications.signal import wake_outbox

MAX_SUBJECT = 300


class Attachment(NamedTuple):
    """A file attached to an email."""

    filename: str
    content_type: str
    data: bytes


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
) -> OutboxEmail:
    """Render and store an email in the caller's transaction; the sender is woken after commit."""
    text, html = render_email(template, context)
    email = OutboxEmail(
        to_address=to,
        subject=subject.replace("\r", " ").replace("\n", " ")[:MAX_SUBJECT],
        text_body=text,
        html_body=html,
        attachments=[
            {
                "filename": filename,
                "content_type": content_type,
                "data_b64": base64.b64encode(data).decode("ascii"),
            }
            for filename, content_type, data in attachments
        ],
    )
    session.add(email)
    await session.flush()
    after_commit(session, wake_outbox)
    return email
