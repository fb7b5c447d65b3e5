"""Deployment hardening against a real `boxoffice serve`: header limits, allowed hosts, forwarded headers,
BASE_URL from --port, the metrics token, and a payment provider that cannot be built stopping start-up."""

from __future__ import annotations

import email
import email.policy
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from boxoffice.config import ConfigError
from boxoffice.main import create_app
from tests.conftest import make_settings

pytestmark = pytest.mark.slow

METRICS_TOKEN = secrets.token_urlsafe(24)
BOXOFFICE = [sys.executable, "-m", "boxoffice.cli"]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """A clean environment for a server process: no BOXOFFICE_ setting leaks in from outside."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_") and k != "FORWARDED_ALLOW_IPS"
    }
    env.update(
        {
            "BOXOFFICE_ENV": "development",
            "BOXOFFICE_VAR_DIR": str(var_dir),
            "BOXOFFICE_DATABASE_URL": f"sqlite+aiosqlite:///{var_dir / 'boxoffice.db'}",
            "BOXOFFICE_LOG_LEVEL": "WARNING",
            "BOXOFFICE_SECRET_KEY": secrets.token_urlsafe(48),
            **extra,
        }
    )
    return env


@dataclass
class Served:
    base_url: str
    port: int
    var_dir: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`boxoffice serve --port N` with no BASE_URL set, a metrics token and a small per-address limit."""
    var_dir = tmp_path_factory.mktemp("hardening-var")
    env = server_env(var_dir, BOXOFFICE_METRICS_TOKEN=METRICS_TOKEN, BOXOFFICE_IP_REQUESTS_PER_HOUR="2")
    subprocess.run(
        [*BOXOFFICE, "migrate"], env=env, cwd=var_dir, check=True, capture_output=True, timeout=120
    )
    port = free_port()
    log = (var_dir / "server.log").open("w")
    proc = subprocess.Popen(
        [*BOXOFFICE, "serve", "--port", str(port)], env=env, cwd=var_dir, stdout=log, stderr=subprocess.STDOUT
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start:\n" + (var_dir / "server.log").read_text())
            time.sleep(0.2)
        yield Served(base_url, port, var_dir)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_a_one_megabyte_header_is_refused(served: Served) -> None:
    response = httpx.get(f"{served.base_url}/healthz", headers={"X-Big": "a" * 1_048_576}, timeout=30)
    assert response.status_code in (400, 431), response.status_code
    assert httpx.get(f"{served.base_url}/healthz", timeout=5).status_code == 200  # the server is fine


def test_thousands_of_headers_are_refused(served: Served) -> None:
    headers = [(f"X-H{n}", "v") for n in range(2_000)]
    response = httpx.get(f"{served.base_url}/healthz", headers=headers, timeout=30)
    assert response.status_code == 431
    assert response.json()["code"] == "headers_too_large"


def test_unknown_hosts_are_refused(served: Served) -> None:
    evil = httpx.get(f"{served.base_url}/", headers={"Host": "evil.example.com"}, timeout=10)
    assert evil.status_code == 400
    assert evil.json()["code"] == "invalid_host"
    for host in (f"127.0.0.1:{served.port}", f"localhost:{served.port}"):
        assert httpx.get(f"{served.base_url}/", headers={"Host": host}, timeout=10).status_code == 200
    # a probe or a scraper on the node's own address still reaches the operations endpoints
    assert httpx.get(f"{served.base_url}/healthz", headers={"Host": "10.0.0.5:8001"}).status_code == 200


def test_forwarded_for_is_not_believed_without_configured_proxies(served: Served) -> None:
    statuses = [
        httpx.post(
            f"{served.base_url}/api/v1/auth/password/forgot",
            json={"email": f"who{n}@example.com"},
            headers={"X-Forwarded-For": f"198.51.100.{n}"},
            timeout=10,
        ).status_code
        for n in range(3)
    ]
    assert statuses == [202, 202, 429]  # one address, whatever X-Forwarded-For claims


def test_base_url_follows_the_port_when_unset(served: Served) -> None:
    body = {"email": "port@example.com", "password": "a long and quiet river 1987", "full_name": "Pat Port"}
    response = httpx.post(f"{served.base_url}/api/v1/auth/register", json=body, timeout=10)
    assert response.status_code == 201, response.text
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for path in (served.var_dir / "outbox").glob("*.eml"):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if "port@example.com" in str(message["To"]):
                text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
                assert f"http://127.0.0.1:{served.port}/verify-email?token=" in text
                return
        time.sleep(0.2)
    pytest.fail("no verification email in the outbox")


def test_metrics_need_the_token(served: Served) -> None:
    url = f"{served.base_url}/metrics"
    assert httpx.get(url, timeout=10).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401
    good = httpx.get(url, headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10)
    assert good.status_code == 200
    assert "boxoffice_http_requests_total" in good.text


async def test_metrics_are_not_served_in_production_without_a_token(db_url: str, tmp_path: Path) -> None:
    app = create_app(make_settings(db_url, tmp_path, env="production"), run_background=False)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            assert (await client.get("/metrics")).status_code == 404
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/", headers={"Host": "localhost"})).status_code == 400
    finally:
        await app.state.shutdown()


def test_create_app_refuses_a_payment_provider_it_cannot_build(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", tmp_path, payment_provider="stripe")
    with pytest.raises(ConfigError, match="BOXOFFICE_STRIPE_SECRET_KEY"):
        create_app(settings, run_background=False)


def test_serve_exits_at_start_up_when_the_provider_cannot_be_built(tmp_path: Path) -> None:
    env = server_env(tmp_path, BOXOFFICE_PAYMENT_PROVIDER="stripe")
    started = time.monotonic()
    done = subprocess.run(
        [*BOXOFFICE, "serve", "--port", str(free_port())],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "BOXOFFICE_STRIPE_SECRET_KEY is not set" in done.stderr
    assert time.monotonic() - started < 30


def test_uvicorn_exits_at_start_up_when_the_provider_cannot_be_built(tmp_path: Path) -> None:
    env = server_env(tmp_path, BOXOFFICE_PAYMENT_PROVIDER="stripe")
    command = [sys.executable, "-m", "uvicorn", "boxoffice.main:create_app", "--factory"]
    done = subprocess.run(
        [*command, "--port", str(free_port())],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "BOXOFFICE_STRIPE_SECRET_KEY is not set" in done.stdout + done.stderr
