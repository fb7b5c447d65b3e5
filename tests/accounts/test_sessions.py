"""Sign-in, refresh rotation and reuse detection, logout, password change and reset, deletion, export."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI

from boxoffice.accounts.models import Role
from tests.conftest import FrozenClock
from tests.factories.accounts import (
    DEFAULT_PASSWORD,
    auth_headers,
    bearer,
    link_token,
    make_user,
    outbox,
    sign_in,
)

API = "/api/v1"
NEW_PASSWORD = "a brand new passphrase for the cinema"


async def test_login_returns_a_token_pair_and_wrong_credentials_look_alike(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await make_user(app, email="bo@example.com")
    pair = await sign_in(client, "BO@example.com")
    assert pair["token_type"] == "bearer"
    assert pair["expires_in"] == 15 * 60
    assert (await client.get(f"{API}/me", headers=bearer(pair))).json()["email"] == "bo@example.com"

    wrong = await client.post(
        f"{API}/auth/login", json={"email": "bo@example.com", "password": "not it at all"}
    )
    unknown = await client.post(
        f"{API}/auth/login", json={"email": "no@example.com", "password": "not it at all"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["code"] == unknown.json()["code"] == "invalid_credentials"
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert wrong.headers["www-authenticate"] == "Bearer"


async def test_oauth2_token_form_for_swagger(client: httpx.AsyncClient, app: FastAPI) -> None:
    await make_user(app, email="form@example.com")
    response = await client.post(
        f"{API}/auth/token", data={"username": "form@example.com", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "bearer"
    bad = await client.post(
        f"{API}/auth/token", data={"username": "form@example.com", "password": "nope nope"}
    )
    assert bad.status_code == 401


async def test_refresh_rotates_and_reuse_revokes_the_family(client: httpx.AsyncClient, app: FastAPI) -> None:
    await make_user(app, email="rot@example.com")
    first = await sign_in(client, "rot@example.com")
    second = (await client.post(f"{API}/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await client.get(f"{API}/me", headers=bearer(second))).status_code == 200

    # The stolen first token is replayed: refused, and the thief's and victim's whole session ends.
    reused = await client.post(f"{API}/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert reused.json()["code"] == "invalid_token"
    after = await client.post(f"{API}/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert after.status_code == 401
    # Other sessions are untouched.
    other = await sign_in(client, "rot@example.com")
    ok = await client.post(f"{API}/auth/refresh", json={"refresh_token": other["refresh_token"]})
    assert ok.status_code == 200

    admin = await make_user(app, role=Role.admin)
    audit = await client.get(
        f"{API}/admin/audit",
        params={"action": "account.refresh_token_reused"},
        headers=auth_headers(app, admin),
    )
    assert audit.json()["total"] == 1


async def test_refresh_token_expires(
    client: httpx.AsyncClient, app: FastAPI, frozen_clock: FrozenClock
) -> None:
    await make_user(app, email="exp@example.com")
    pair = await sign_in(client, "exp@example.com")
    frozen_clock.advance(days=31)
    response = await client.post(f"{API}/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert response.status_code == 401
    garbage = await client.post(f"{API}/auth/refresh", json={"refresh_token": "x" * 43})
    assert garbage.status_code == 401


async def test_logout_and_logout_all(client: httpx.AsyncClient, app: FastAPI) -> None:
    await make_user(app, email="out@example.com")
    a = await sign_in(client, "out@example.com")
    b = await sign_in(client, "out@example.com")
    logout = await client.post(
        f"{API}/auth/logout", json={"refresh_token": a["refresh_token"]}, headers=bearer(a)
    )
    assert logout.status_code == 204
    assert (
        await client.post(f"{API}/auth/refresh", json={"refresh_token": a["refresh_token"]})
    ).status_code == 401
    assert (await client.post(f"{API}/auth/logout-all")).status_code == 401

    assert (await client.post(f"{API}/auth/logout-all", headers=bearer(b))).status_code == 204
    assert (
        await client.post(f"{API}/auth/refresh", json={"refresh_token": b["refresh_token"]})
    ).status_code == 401
    assert (await client.get(f"{API}/me", headers=bearer(b))).status_code == 401
    # Signing in again works.
    c = await sign_in(client, "out@example.com")
    assert (await client.get(f"{API}/me", headers=bearer(c))).status_code == 200


async def test_password_reset_flow(
    client: httpx.AsyncClient, app: FastAPI, frozen_clock: FrozenClock
) -> None:
    await make_user(app, email="reset@example.com", verified=False)
    old = await sign_in(client, "reset@example.com")
    frozen_clock.advance(seconds=2)

    unknown = await client.post(f"{API}/auth/password/forgot", json={"email": "ghost@example.com"})
    known = await client.post(f"{API}/auth/password/forgot", json={"email": "reset@example.com"})
    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json()
    assert await outbox(app, to="ghost@example.com") == []
    [email] = await outbox(app, to="reset@example.com")
    token = link_token(email.text_body, "reset-password")

    weak = await client.post(f"{API}/auth/password/reset", json={"token": token, "new_password": "password1"})
    assert weak.status_code == 422
    done = await client.post(
        f"{API}/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert done.status_code == 204, done.text

    # Every session ends: the old access and refresh tokens are dead.
    assert (await client.get(f"{API}/me", headers=bearer(old))).status_code == 401
    assert (
        await client.post(f"{API}/auth/refresh", json={"refresh_token": old["refresh_token"]})
    ).status_code == 401
    fresh = await sign_in(client, "reset@example.com", NEW_PASSWORD)
    me = (await client.get(f"{API}/me", headers=bearer(fresh))).json()
    assert me["email_verified"] is True  # the link reached the inbox
    wrong_old = await client.post(
        f"{API}/auth/login", json={"email": "reset@example.com", "password": DEFAULT_PASSWORD}
    )
    assert wrong_old.status_code == 401
    notices = await outbox(app, to="reset@example.com")
    assert notices[-1].subject == "Your boxoffice password was changed"

    used = await client.post(
        f"{API}/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD + "!"}
    )
    assert used.status_code == 400
    assert used.json()["code"] == "invalid_token"


async def test_reset_link_expires_after_an_hour(
    client: httpx.AsyncClient, app: FastAPI, frozen_clock: FrozenClock
) -> None:
    await make_user(app, email="late@example.com")
    await client.post(f"{API}/auth/password/forgot", json={"email": "late@example.com"})
    [email] = await outbox(app, to="late@example.com")
    frozen_clock.advance(minutes=61)
    response = await client.post(
        f"{API}/auth/password/reset",
        json={"token": link_token(email.text_body, "reset-password"), "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_token"


async def test_change_password_keeps_this_session_and_ends_the_others(
    client: httpx.AsyncClient, app: FastAPI, frozen_clock: FrozenClock
) -> None:
    await make_user(app, email="chg@example.com")
    here = await sign_in(client, "chg@example.com")
    there = await sign_in(client, "chg@example.com")
    frozen_clock.advance(seconds=2)
    wrong = await client.post(
        f"{API}/me/password",
        json={"current_password": "not my password", "new_password": NEW_PASSWORD},
        headers=bearer(here),
    )
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "invalid_password"
    response = await client.post(
        f"{API}/me/password",
        json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(here),
    )
    assert response.status_code == 204, response.text
    assert (await client.get(f"{API}/me", headers=bearer(here))).status_code == 200
    assert (
        await client.post(f"{API}/auth/refresh", json={"refresh_token": here["refresh_token"]})
    ).status_code == 200
    assert (await client.get(f"{API}/me", headers=bearer(there))).status_code == 401
    gone = await client.post(f"{API}/auth/refresh", json={"refresh_token": there["refresh_token"]})
    assert gone.status_code == 401
    await sign_in(client, "chg@example.com", NEW_PASSWORD)


async def test_delete_account_erases_personal_data(client: httpx.AsyncClient, app: FastAPI) -> None:
    user = await make_user(app, email="bye@example.com", full_name="Bea Bye")
    pair = await sign_in(client, "bye@example.com")
    wrong = await client.request(
        "DELETE", f"{API}/me", json={"password": "not the password"}, headers=bearer(pair)
    )
    assert wrong.status_code == 400
    response = await client.request(
        "DELETE", f"{API}/me", json={"password": DEFAULT_PASSWORD}, headers=bearer(pair)
    )
    assert response.status_code == 204, response.text
    assert (await client.get(f"{API}/me", headers=bearer(pair))).status_code == 401
    assert (
        await client.post(f"{API}/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    ).status_code == 401
    login = await client.post(
        f"{API}/auth/login", json={"email": "bye@example.com", "password": DEFAULT_PASSWORD}
    )
    assert login.status_code == 401

    admin = await make_user(app, role=Role.admin)
    row = (await client.get(f"{API}/admin/users/{user.id}", headers=auth_headers(app, admin))).json()
    assert row["email"] == f"deleted-{user.id}@invalid"
    assert row["full_name"] == "Deleted user"
    assert row["is_active"] is False
    assert row["deleted_at"] is not None
    # The address is free again.
    again = await client.post(
        f"{API}/auth/register",
        json={"email": "bye@example.com", "password": NEW_PASSWORD, "full_name": "Bea"},
    )
    assert again.status_code == 201


async def test_export_has_profile_and_audit(client: httpx.AsyncClient, app: FastAPI) -> None:
    await make_user(app, email="me@example.com")
    pair = await sign_in(client, "me@example.com")
    response = await client.get(f"{API}/me/export", headers=bearer(pair))
    assert response.status_code == 200
    body = response.json()
    assert body["profile"]["email"] == "me@example.com"
    assert "password_hash" not in response.text
    actions = [e["action"] for e in body["sections"]["audit"]]
    assert "account.login_succeeded" in actions
    assert body["sections"]["bookings"] == []  # the booking domain's section (registered by booking)


async def test_concurrent_refreshes_of_one_token_give_one_new_pair(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await make_user(app, email="race@example.com")
    pair = await sign_in(client, "race@example.com")
    body = {"refresh_token": pair["refresh_token"]}
    responses = await asyncio.gather(*[client.post(f"{API}/auth/refresh", json=body) for _ in range(4)])
    assert sorted(r.status_code for r in responses) == [200, 401, 401, 401]
