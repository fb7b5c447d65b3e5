"""boxoffice installed the way a user deploys it, with Stripe configured against a stand-in of Stripe's API.

`python -m venv` + `pip install .` from the checkout (no development group: what is not a runtime
dependency is not there), then `boxoffice migrate`, `boxoffice demo` and `boxoffice serve` in production
mode with BOXOFFICE_PAYMENT_PROVIDER=stripe: the demo customer holds a seat and pays it with `pm_card_visa`
through HTTP, and the booking is confirmed. A provider that cannot be built (no secret key) stops the server
at start-up with a clear message. pip reuses its cache (PIP_CACHE_DIR or ~/.cache/pip) between runs.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.standins.stripe import StandIn, running_stand_in
from tests.test_deploy_hardening import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
DEMO_CUSTOMER = "customer@boxoffice.localhost"
DEMO_PASSWORD = "popcorn-and-a-movie"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `bin/` of a fresh venv holding `pip install .` of this checkout."""
    venv = tmp_path_factory.mktemp("prod") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "--quiet"]
    started = time.monotonic()
    done = subprocess.run([*pip, "install", str(ROOT)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    print(f"pip install . took {time.monotonic() - started:.0f} s")  # noqa: T201
    listed = subprocess.run([*pip, "list"], capture_output=True, text=True, check=True).stdout.lower()
    assert "pytest" not in listed  # the development group stayed out
    return venv / "bin"


def production_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """A production environment, nothing inherited from the developer's BOXOFFICE_ settings or venv."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BOXOFFICE_", "VIRTUAL_ENV", "PYTHON")) and k != "FORWARDED_ALLOW_IPS"
    }
    env.update(
        {
            "BOXOFFICE_ENV": "production",
            "BOXOFFICE_VAR_DIR": str(var_dir),
            "BOXOFFICE_DATABASE_URL": f"sqlite+aiosqlite:///{var_dir / 'boxoffice.db'}",
            "BOXOFFICE_SECRET_KEY": secrets.token_urlsafe(48),
            "BOXOFFICE_LOG_LEVEL": "WARNING",
            "BOXOFFICE_PAYMENT_PROVIDER": "stripe",
            **extra,
        }
    )
    return env


@pytest.fixture
def stand_in() -> Iterator[tuple[str, StandIn]]:
    """The stand-in Stripe API on a free loopback port."""
    with running_stand_in() as served:
        yield served


def test_a_production_install_migrates(installed: Path, tmp_path: Path) -> None:
    env = production_env(tmp_path, BOXOFFICE_STRIPE_SECRET_KEY="sk_test_x")
    done = subprocess.run(
        [str(installed / "boxoffice"), "migrate"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr


def _wait_healthy(base_url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the server did not start:\n" + log.read_text())
        time.sleep(0.2)


def test_a_production_install_holds_and_pays_through_stripe(
    installed: Path, tmp_path: Path, stand_in: tuple[str, StandIn]
) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = production_env(
        tmp_path,
        BOXOFFICE_BASE_URL=base_url,
        BOXOFFICE_STRIPE_SECRET_KEY="sk_test_" + secrets.token_hex(12),
        BOXOFFICE_STRIPE_WEBHOOK_SECRET="whsec_" + secrets.token_hex(16),
        BOXOFFICE_STRIPE_API_BASE=stand_in[0],
    )
    boxoffice = str(installed / "boxoffice")
    subprocess.run([boxoffice, "migrate"], env=env, cwd=tmp_path, check=True, timeout=180)
    subprocess.run([boxoffice, "demo"], env=env, cwd=tmp_path, check=True, timeout=180)
    log = tmp_path / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [boxoffice, "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_healthy(base_url, proc, log)
        with httpx.Client(base_url=base_url, timeout=30) as http:
            signed_in = http.post(
                "/api/v1/auth/login", json={"email": DEMO_CUSTOMER, "password": DEMO_PASSWORD}
            )
            assert signed_in.status_code == 200, signed_in.text
            auth = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
            showtimes = http.get("/api/v1/showtimes", params={"per_page": 100}).json()["items"]
            assert showtimes, "the demo has no showtimes"
            showtime_id = showtimes[-1]["id"]  # the latest: its sales are open
            best = http.get(f"/api/v1/showtimes/{showtime_id}/seats/best", params={"count": 1})
            assert best.status_code == 200, best.text
            seat_id = best.json()["seats"][0]["seat_id"]
            held = http.post(
                "/api/v1/bookings", json={"showtime_id": showtime_id, "seat_ids": [seat_id]}, headers=auth
            )
            assert held.status_code == 201, held.text + log.read_text()
            reference = held.json()["reference"]
            paid = http.post(
                f"/api/v1/bookings/{reference}/pay",
                json={"method": "card", "payment_method": "pm_card_visa"},
                headers={**auth, "Idempotency-Key": f"prod-{reference}"},
            )
            assert paid.status_code == 200, paid.text + log.read_text()
            assert paid.json()["status"] == "confirmed"
            assert http.get(f"/api/v1/bookings/{reference}", headers=auth).json()["status"] == "confirmed"
        assert any(path == "/v1/payment_intents" for path, _, _ in stand_in[1].calls)
        assert proc.poll() is None
        assert "Traceback" not in log.read_text()  # e.g. the sweeper failing on a missing module
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_a_production_install_without_a_stripe_key_stops_at_start_up(installed: Path, tmp_path: Path) -> None:
    port = free_port()
    env = production_env(tmp_path, BOXOFFICE_BASE_URL=f"http://127.0.0.1:{port}")
    boxoffice = str(installed / "boxoffice")
    subprocess.run([boxoffice, "migrate"], env=env, cwd=tmp_path, check=True, timeout=180)
    started = time.monotonic()
    done = subprocess.run(
        [boxoffice, "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "BOXOFFICE_STRIPE_SECRET_KEY is not set" in done.stderr
    assert time.monotonic() - started < 30
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
