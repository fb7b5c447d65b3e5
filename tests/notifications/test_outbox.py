"""The email outbox: .eml files without SMTP, real SMTP delivery on loopback (aiosmtpd) with the
verification and reset links followed, retries with backoff, and failures that never fail the request."""

from __future__ import annotations

import email
import socket
from collections.abc import AsyncIterator, Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from fastapi import FastAPI

from boxoffice.accounts.deferred import wait_deferred
from boxoffice.main import create_app
from boxoffice.notifications.sender import MAX_ATTEMPTS, deliver_due, parse_smtp_url
from tests.conftest import FrozenClock, make_settings
from tests.factories.accounts import DEFAULT_PASSWORD, link_token, make_user, outbox

API = "/api/v1"
NEW_PASSWORD = "a fresh passphrase for movie nights"


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def body(self, index: int, subtype: str = "plain") -> str:
        """The text (or html) part of message `index`."""
        for part in self.messages[index].walk():
            if part.get_content_type() == f"text/{subtype}":
                payload = part.get_payload(decode=True)
                assert isinstance(payload, bytes)
                return payload.decode(part.get_content_charset() or "utf-8")
        raise AssertionError("no such part")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on loopback."""
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


async def _app_with(app: FastAPI, tmp_path: Path, **overrides: Any) -> FastAPI:
    return create_app(
        make_settings(app.state.settings.database_url, tmp_path, **overrides), run_background=False
    )


@pytest_asyncio.fixture
async def smtp_app(
    app: FastAPI, tmp_path: Path, smtp_server: tuple[Inbox, int]
) -> AsyncIterator[tuple[FastAPI, Inbox]]:
    """An app on the test database that sends through the loopback SMTP server."""
    inbox, port = smtp_server
    smtp = await _app_with(
        app, tmp_path, smtp_url=f"smtp://127.0.0.1:{port}", email_from="Box <box@example.com>"
    )
    yield smtp, inbox
    await smtp.state.shutdown()


async def test_emails_go_through_smtp_and_the_links_work(
    client: httpx.AsyncClient, smtp_app: tuple[FastAPI, Inbox]
) -> None:
    app, inbox = smtp_app
    transport = httpx.ASGITransport(app=app, client=("198.51.100.4", 4444))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
        registered = await api.post(
            f"{API}/auth/register",
            json={"email": "mail@example.com", "password": DEFAULT_PASSWORD, "full_name": "M"},
        )
        assert registered.status_code == 201
        assert inbox.messages == []  # queued, not sent inside the request
        assert await deliver_due(app) == 1
        [message] = inbox.messages
        assert message["To"] == "mail@example.com"
        assert message["From"] == "Box <box@example.com>"
        assert message["Subject"] == "Confirm your email address"
        assert "verify-email?token=" in inbox.body(0, "html")
        token = link_token(inbox.body(0), "verify-email")
        assert (await api.post(f"{API}/auth/verify-email", json={"token": token})).json()[
            "email_verified"
        ] is True

        assert (
            await api.post(f"{API}/auth/password/forgot", json={"email": "mail@example.com"})
        ).status_code == 202
        await wait_deferred()  # the reset email is queued after the answer
        assert await deliver_due(app) == 1
        reset = link_token(inbox.body(1), "reset-password")
        done = await api.post(
            f"{API}/auth/password/reset", json={"token": reset, "new_password": NEW_PASSWORD}
        )
        assert done.status_code == 204
        assert await deliver_due(app) == 1  # the "password changed" notice
        assert inbox.messages[2]["Subject"] == "Your boxoffice password was changed"
        login = await api.post(
            f"{API}/auth/login", json={"email": "mail@example.com", "password": NEW_PASSWORD}
        )
        assert login.status_code == 200
        assert await deliver_due(app) == 0
    [row, *_] = await outbox(app, to="mail@example.com")
    assert row.status == "sent"
    assert row.sent_at is not None


async def test_without_smtp_emails_are_written_as_eml(client: httpx.AsyncClient, app: FastAPI) -> None:
    await client.post(
        f"{API}/auth/register",
        json={"email": "file@example.com", "password": DEFAULT_PASSWORD, "full_name": "F"},
    )
    assert await deliver_due(app) == 1
    [row] = await outbox(app, to="file@example.com")
    path = Path(app.state.settings.outbox_dir) / f"{row.id}-confirm-your-email-address.eml"
    message = email.message_from_bytes(path.read_bytes())
    assert message["To"] == "file@example.com"
    assert row.status == "sent"


async def test_a_failing_smtp_server_is_retried_then_given_up(
    client: httpx.AsyncClient, app: FastAPI, tmp_path: Path, frozen_clock: FrozenClock
) -> None:
    broken = await _app_with(app, tmp_path, smtp_url=f"smtp://127.0.0.1:{_free_port()}")
    try:
        transport = httpx.ASGITransport(app=broken, client=("198.51.100.5", 4444))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
            response = await api.post(f"{API}/auth/password/forgot", json={"email": "x@example.com"})
            assert response.status_code == 202
            await make_user(broken, email="retry@example.com")
            response = await api.post(f"{API}/auth/password/forgot", json={"email": "retry@example.com"})
            assert response.status_code == 202  # the request never fails because of email
        await wait_deferred()
        for attempt in range(1, MAX_ATTEMPTS + 1):
            assert await deliver_due(broken) == 0
            [row] = await outbox(broken, to="retry@example.com")
            assert row.attempts == attempt
            assert row.last_error
            assert await deliver_due(broken) == 0  # not due again yet: backoff
            frozen_clock.advance(hours=1, seconds=1)
        assert row.status == "failed"
    finally:
        await broken.state.shutdown()


def test_smtp_urls() -> None:
    plain = parse_smtp_url("smtp://mail.example.com")
    assert (plain.host, plain.port, plain.use_tls, plain.start_tls) == ("mail.example.com", 25, False, False)
    tls = parse_smtp_url("smtps://user%40x:p%3Ass@mail.example.com")
    assert (tls.port, tls.use_tls, tls.username, tls.password) == (465, True, "user@x", "p:ss")
    starttls = parse_smtp_url("smtp+starttls://mail.example.com:2525")
    assert (starttls.port, starttls.start_tls) == (2525, True)
    with pytest.raises(ValueError, match="unsupported"):
        parse_smtp_url("http://mail.example.com")
