"""SMTP over TLS (smtps://) and STARTTLS with authentication (smtp+starttls://user:pass@), against real
aiosmtpd servers on loopback with a throw-away certificate."""

from __future__ import annotations

import email
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from fastapi import FastAPI

from boxoffice.main import create_app
from boxoffice.notifications.sender import deliver_due
from tests.conftest import make_settings
from tests.factories.accounts import DEFAULT_PASSWORD, outbox

API = "/api/v1"


class Inbox:
    """Keeps what the server receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.tls: list[bool] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        self.tls.append(session.ssl is not None)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert, key)."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certificate[0]), str(certificate[1]))
    return context


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"mailer",
        b"s3cr:t",
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtps_server(certificate: tuple[Path, Path]) -> Iterator[tuple[Inbox, int]]:
    """Implicit TLS from the first byte."""
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=_server_context(certificate))
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def starttls_server(certificate: tuple[Path, Path]) -> Iterator[tuple[Inbox, int]]:
    """Plain connection upgraded with STARTTLS; login required, only over TLS."""
    inbox, port = Inbox(), _free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=_server_context(certificate),
        require_starttls=True,
        authenticator=_authenticator,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    yield inbox, port
    controller.stop()


async def _register_and_deliver(app: FastAPI, smtp_url: str, tmp_path: Path, address: str) -> int:
    sender = create_app(
        make_settings(app.state.settings.database_url, tmp_path, smtp_url=smtp_url), run_background=False
    )
    try:
        transport = httpx.ASGITransport(app=sender, client=("198.51.100.7", 4444))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
            response = await api.post(
                f"{API}/auth/register",
                json={"email": address, "password": DEFAULT_PASSWORD, "full_name": "T"},
            )
            assert response.status_code == 201
        return await deliver_due(sender)
    finally:
        await sender.state.shutdown()


async def test_smtps_with_a_private_ca(
    client: httpx.AsyncClient,
    app: FastAPI,
    tmp_path: Path,
    smtps_server: tuple[Inbox, int],
    certificate: tuple[Path, Path],
) -> None:
    inbox, port = smtps_server
    # Without trusting the CA, the certificate is refused and the email waits for a retry.
    assert await _register_and_deliver(app, f"smtps://127.0.0.1:{port}", tmp_path, "tls1@example.com") == 0
    [row] = await outbox(app, to="tls1@example.com")
    assert row.status == "pending"
    assert row.last_error
    assert "CERTIFICATE" in row.last_error.upper()
    assert (
        await _register_and_deliver(
            app, f"smtps://127.0.0.1:{port}?cafile={certificate[0]}", tmp_path, "tls2@example.com"
        )
        == 1
    )
    assert len(inbox.messages) == 1  # TLS from the first byte: the untrusted run failed on the certificate
    assert inbox.messages[0]["To"] == "tls2@example.com"


async def test_starttls_with_login(
    client: httpx.AsyncClient,
    app: FastAPI,
    tmp_path: Path,
    starttls_server: tuple[Inbox, int],
    certificate: tuple[Path, Path],
) -> None:
    inbox, port = starttls_server
    url = f"smtp+starttls://mailer:s3cr%3At@127.0.0.1:{port}?cafile={certificate[0]}"
    assert await _register_and_deliver(app, url, tmp_path, "st@example.com") == 1
    assert inbox.tls == [True]
    wrong = f"smtp+starttls://mailer:wrong@127.0.0.1:{port}?cafile={certificate[0]}"
    assert await _register_and_deliver(app, wrong, tmp_path, "st2@example.com") == 0
    [row] = await outbox(app, to="st2@example.com")
    assert row.status == "pending"
    assert row.attempts == 1
