"""Queue an email with files and read back the files the sender delivered (.eml under var/outbox/)."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from boxoffice.db import transaction
from boxoffice.notifications.models import OutboxEmail
from boxoffice.notifications.service import queue_email

TO = "files@example.com"


async def queue(app: FastAPI, **files: Any) -> None:
    """Queue one email to TO with the given attachments / deferred files."""
    async with transaction(app.state.sessionmaker) as session:
        await queue_email(
            session,
            to=TO,
            subject="Files for you",
            template="email_change_notice",
            context={"name": "F", "new_email": "new@example.com"},
            **files,
        )


def files_of(app: FastAPI, row: OutboxEmail) -> list[tuple[str | None, str]]:
    """(filename, text) of each attachment of the .eml the sender wrote for `row`."""
    path = Path(app.state.settings.outbox_dir) / f"{row.id}-files-for-you.eml"
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return [(part.get_filename(), part.get_content()) for part in message.iter_attachments()]
