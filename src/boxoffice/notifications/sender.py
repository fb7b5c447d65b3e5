"""Deliver the outbox: SMTP (aiosmtplib) when `SMTP_URL` is set, otherwise `.eml` files under var/outbox/.

Rows are claimed with a lease (next_attempt_at pushed into the future, in a short transaction that
skips rows locked by another worker), their deferred attachments rendered (notifications/attachments.py,
built in the render process of notifications/renderpool.py), then sent outside any transaction and marked
sent or rescheduled with exponential backoff; after MAX_ATTEMPTS the row is marked failed and kept for
inspection. A failing renderer or build is a failed attempt like a failing SMTP server; a renderer that says
the email is obsolete gets the row marked skipped, unsent.
"""

from __future__ import annotations

import asyncio
import email.policy
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
from fastapi import FastAPI

from boxoffice.config import Settings
from boxoffice.db import transaction
from boxoffice.kit.clock import utc_now
from boxoffice.notifications import attachments, renderpool, repository
from boxoffice.notifications.attachments import Attachment, Build
from boxoffice.notifications.models import OutboxEmail
from boxoffice.notifications.signal import wait_for_mail

log = logging.getLogger("boxoffice.email")

MAX_ATTEMPTS = 6
BATCH = 50
LEASE = timedelta(minutes=5)
POLL_SECONDS = 5.0
SMTP_TIMEOUT = 30.0


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failures: 30 s, 1, 2, 4, 8 min... at most 1 h."""
    return min(timedelta(seconds=30 * 2 ** max(0, attempts - 1)), timedelta(hours=1))


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to connect, parsed from SMTP_URL."""

    host: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool
    cafile: str | None = None


def parse_smtp_url(url: str) -> SmtpTarget:
    """`smtp://`, `smtp+starttls://` or `smtps://`, with optional `user:password@`, port, and
    `?cafile=/path/ca.pem` to trust a private CA (an internal relay)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps", "smtp+starttls"):
        raise ValueError(f"unsupported SMTP_URL scheme {scheme!r}: use smtp, smtp+starttls or smtps")
    use_tls = scheme == "smtps"
    start_tls = scheme == "smtp+starttls"
    default_port = 465 if use_tls else 587 if start_tls else 25
    return SmtpTarget(
        host=parts.hostname or "localhost",
        port=parts.port or default_port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=use_tls,
        start_tls=start_tls,
        cafile=query["cafile"][0] if query.get("cafile") else None,
    )


_POLICY = email.policy.SMTP.clone(max_line_length=998)


def _add_body(message: EmailMessage, body: str, subtype: str, *, first: bool) -> None:
    add = message.set_content if first else message.add_alternative
    try:
        add(body, subtype=subtype, cte="8bit")
    except ValueError:
        add(body, subtype=subtype)


def build_message(settings: Settings, row: OutboxEmail, files: Sequence[Attachment]) -> EmailMessage:
    """The MIME message of an outbox row: text, HTML alternative, and its files (already rendered)."""
    message = EmailMessage(policy=_POLICY)
    message["From"] = settings.email_from
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Date"] = formatdate(row.created_at.timestamp(), usegmt=True)
    message["Message-ID"] = make_msgid(idstring=f"outbox-{row.id}", domain="boxoffice")
    # 8bit keeps the bodies readable in .eml files and links unbroken (quoted-printable would turn
    # `token=` into `token=3D` and wrap long links); a body with an over-long line falls back.
    _add_body(message, row.text_body, "plain", first=True)
    if row.html_body:
        _add_body(message, row.html_body, "html", first=False)
    for file in files:
        maintype, _, subtype = file.content_type.partition("/")
        message.add_attachment(
            file.data, maintype=maintype, subtype=subtype or "octet-stream", filename=file.filename
        )
    return message


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:50] or "email"


async def _render(app: FastAPI, row: OutboxEmail) -> list[Attachment]:
    """The row's files: renderers read in a short read transaction, then each file is built in the render
    process (a child that crashed mid-build raises BrokenProcessPool: a failed attempt)."""
    if not row.attachments:
        return []
    async with transaction(app.state.sessionmaker, write=False) as session:
        parts = await attachments.prepare(session, row.attachments)
    files: list[Attachment] = []
    for part in parts:
        if isinstance(part, Build):
            data = await renderpool.run(part.function, *part.args)
            part = Attachment(part.filename, part.content_type, data)
        files.append(part)
    return files


async def _send(settings: Settings, row: OutboxEmail, files: Sequence[Attachment]) -> None:
    message = build_message(settings, row, files)
    if settings.smtp_url:
        target = parse_smtp_url(settings.smtp_url)
        await aiosmtplib.send(
            message,
            hostname=target.host,
            port=target.port,
            username=target.username,
            password=target.password,
            use_tls=target.use_tls,
            start_tls=target.start_tls,
            cert_bundle=target.cafile,
            timeout=SMTP_TIMEOUT,
        )
        log.info("email %s sent to SMTP %s:%s", row.id, target.host, target.port)
        return
    outbox = Path(settings.outbox_dir)
    path = outbox / f"{row.id}-{_slug(row.subject)}.eml"

    def write() -> None:
        outbox.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes(message))

    await asyncio.to_thread(write)
    log.info("email %s to %s written to %s (no SMTP_URL set)", row.id, row.to_address, path)


async def _claim(app: FastAPI) -> list[OutboxEmail]:
    now = utc_now()
    async with transaction(app.state.sessionmaker) as session:
        rows = list(await repository.claim_due(session, now=now, lease=LEASE, limit=BATCH))
    return rows


async def _record(app: FastAPI, row: OutboxEmail, error: str | None) -> None:
    now = utc_now()
    values: dict[str, object]
    if error is None:
        values = {"status": "sent", "sent_at": now, "last_error": None}
    elif row.attempts >= MAX_ATTEMPTS:
        values = {"status": "failed", "last_error": error}
        log.error(
            "email %s to %s failed for good after %s attempts: %s",
            row.id,
            row.to_address,
            row.attempts,
            error,
        )
    else:
        values = {"next_attempt_at": now + backoff(row.attempts), "last_error": error}
        log.warning("email %s attempt %s failed, will retry: %s", row.id, row.attempts, error)
    async with transaction(app.state.sessionmaker) as session:
        await repository.update_email(session, email_id=row.id, values=values)


async def _skip(app: FastAPI, row: OutboxEmail, reason: str) -> None:
    log.info("email %s to %s skipped: %s", row.id, row.to_address, reason)
    async with transaction(app.state.sessionmaker) as session:
        await repository.update_email(
            session, email_id=row.id, values={"status": "skipped", "last_error": reason[:2000]}
        )


async def deliver_due(app: FastAPI) -> int:
    """Send every email that is due now; returns how many were sent."""
    settings: Settings = app.state.settings
    sent = 0
    while True:
        rows = await _claim(app)
        for row in rows:
            try:
                await _send(settings, row, await _render(app, row))
            except attachments.Obsolete as exc:
                await _skip(app, row, str(exc))
            except Exception as exc:
                await _record(app, row, f"{type(exc).__name__}: {exc}"[:2000])
            else:
                await _record(app, row, None)
                sent += 1
        if len(rows) < BATCH:
            return sent


async def run_outbox(app: FastAPI) -> None:
    """Background loop: deliver due emails when woken after a commit, and every few seconds."""
    while True:
        try:
            await deliver_due(app)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("outbox delivery round failed")
        await wait_for_mail(POLL_SECONDS)
