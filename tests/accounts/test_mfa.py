"""TOTP two-factor: setup with QR, enable with recovery codes, login with a code or a recovery code,
replay refused, disable; and the setting that requires it for admins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pyotp
import pytest_asyncio
from fastapi import FastAPI

from boxoffice.accounts.models import Role
from boxoffice.main import create_app
from tests.conftest import FrozenClock, make_settings
from tests.factories.accounts import DEFAULT_PASSWORD, bearer, make_user, sign_in

API = "/api/v1"


async def _enable(
    client: httpx.AsyncClient, headers: dict[str, str], clock: FrozenClock
) -> tuple[pyotp.TOTP, list[str]]:
    setup = await client.post(f"{API}/me/mfa/totp/setup", headers=headers)
    assert setup.status_code == 200, setup.text
    body = setup.json()
    assert body["otpauth_uri"].startswith("otpauth://totp/boxoffice:")
    assert body["qr_svg_data_uri"].startswith("data:image/svg+xml")
    totp = pyotp.TOTP(body["secret"])
    wrong = await client.post(f"{API}/me/mfa/totp/enable", json={"otp": "000000"}, headers=headers)
    assert wrong.status_code == 400
    enabled = await client.post(
        f"{API}/me/mfa/totp/enable", json={"otp": totp.at(clock.now)}, headers=headers
    )
    assert enabled.status_code == 200, enabled.text
    codes = enabled.json()["recovery_codes"]
    assert len(codes) == 10
    assert len(set(codes)) == 10
    return totp, codes


async def test_totp_login_flow(client: httpx.AsyncClient, app: FastAPI, frozen_clock: FrozenClock) -> None:
    await make_user(app, email="mfa@example.com")
    pair = await sign_in(client, "mfa@example.com")
    totp, codes = await _enable(client, bearer(pair), frozen_clock)
    assert (await client.get(f"{API}/me", headers=bearer(pair))).json()["mfa_enabled"] is True

    creds = {"email": "mfa@example.com", "password": DEFAULT_PASSWORD}
    missing = await client.post(f"{API}/auth/login", json=creds)
    assert missing.status_code == 401
    assert missing.json()["code"] == "mfa_required"
    wrong_password = await client.post(f"{API}/auth/login", json={**creds, "password": "nope nope nope"})
    assert wrong_password.json()["code"] == "invalid_credentials"

    frozen_clock.advance(seconds=30)
    code = totp.at(frozen_clock.now)
    assert (await client.post(f"{API}/auth/login", json={**creds, "otp": code})).status_code == 200
    replay = await client.post(f"{API}/auth/login", json={**creds, "otp": code})
    assert replay.status_code == 401
    assert replay.json()["code"] == "invalid_otp"
    bad = await client.post(f"{API}/auth/login", json={**creds, "otp": "123456"})
    assert bad.json()["code"] == "invalid_otp"

    recovery = await client.post(f"{API}/auth/login", json={**creds, "otp": codes[0].upper()})
    assert recovery.status_code == 200
    spent = await client.post(f"{API}/auth/login", json={**creds, "otp": codes[0]})
    assert spent.status_code == 401

    again = await client.post(f"{API}/me/mfa/totp/setup", headers=bearer(pair))
    assert again.status_code == 409
    frozen_clock.advance(seconds=30)
    refuse = await client.post(
        f"{API}/me/mfa/totp/disable",
        json={"password": "wrong password", "otp": totp.at(frozen_clock.now)},
        headers=bearer(pair),
    )
    assert refuse.status_code == 400
    off = await client.post(
        f"{API}/me/mfa/totp/disable",
        json={"password": DEFAULT_PASSWORD, "otp": totp.at(frozen_clock.now)},
        headers=bearer(pair),
    )
    assert off.status_code == 204, off.text
    assert (await client.post(f"{API}/auth/login", json=creds)).status_code == 200


@pytest_asyncio.fixture
async def strict_app(app: FastAPI, tmp_path: Path) -> AsyncIterator[FastAPI]:
    """A second app on the same database that requires two-factor for admins."""
    settings = make_settings(app.state.settings.database_url, tmp_path, require_mfa_for_admins=True)
    strict = create_app(settings, run_background=False)
    yield strict
    await strict.state.shutdown()


async def test_admins_must_set_up_mfa_when_required(
    client: httpx.AsyncClient, strict_app: FastAPI, frozen_clock: FrozenClock
) -> None:
    await make_user(strict_app, role=Role.admin, email="boss@example.com")
    transport = httpx.ASGITransport(app=strict_app, client=("203.0.113.8", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as strict:
        pair = await sign_in(strict, "boss@example.com")
        blocked = await strict.get(f"{API}/admin/users", headers=bearer(pair))
        assert blocked.status_code == 403
        assert blocked.json()["code"] == "mfa_setup_required"
        assert (await strict.get(f"{API}/me", headers=bearer(pair))).status_code == 200
        await _enable(strict, bearer(pair), frozen_clock)
        assert (await strict.get(f"{API}/admin/users", headers=bearer(pair))).status_code == 200
