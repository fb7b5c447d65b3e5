"""`boxoffice create-admin`: enforces the password policy, refuses duplicates cleanly."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from boxoffice.accounts.commands import create_admin_account
from boxoffice.errors import Conflict, Unprocessable
from tests.factories.accounts import DEFAULT_PASSWORD, bearer, sign_in


async def test_create_admin_then_sign_in(client: httpx.AsyncClient, app: FastAPI) -> None:
    settings = app.state.settings
    await create_admin_account(
        settings, email=" Chief@Example.com ", password=DEFAULT_PASSWORD, full_name="Chief"
    )
    pair = await sign_in(client, "chief@example.com")
    me = (await client.get("/api/v1/me", headers=bearer(pair))).json()
    assert me["role"] == "admin"
    assert me["email_verified"] is True
    assert (await client.get("/api/v1/admin/users", headers=bearer(pair))).status_code == 200

    with pytest.raises(Conflict, match="already exists"):
        await create_admin_account(
            settings, email="chief@example.com", password=DEFAULT_PASSWORD, full_name="X"
        )
    with pytest.raises(Unprocessable, match="too weak"):
        await create_admin_account(settings, email="weak@example.com", password="password123", full_name="W")
    with pytest.raises(Unprocessable, match="invalid email"):
        await create_admin_account(settings, email="not an email", password=DEFAULT_PASSWORD, full_name="W")


def test_cli_refuses_a_weak_password(tmp_path: object) -> None:
    from boxoffice.cli import app as cli

    result = CliRunner().invoke(
        cli, ["create-admin", "--email", "cli@example.com", "--password-stdin"], input="password123\n"
    )
    assert result.exit_code == 1
    assert "too weak" in result.output
