"""Registration, email verification, resend, and email change, through the HTTP API."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.conftest import FrozenClock
from tests.factories.accounts import DEFAULT_PASSWORD, bearer, link_token, make_user, outbox, sign_in

API = "/api/v1"


async def register(client: httpx.AsyncClient, email: str = "ana@example.com", **extra: str) -> httpx.Response:
    body = {"email": email, "password": DEFAULT_PASSWORD, "full_name": "Ana Silva", **extra}
    return await client.post(f"{API}/auth/register", json=body)


async def test_register_sends_link_and_verify_confirms_once(client: httpx.AsyncClient, app: FastAPI) -> None:
    response = await register(client, "Ana@Example.COM")
    assert response.status_code == 201, response.text
    user = response.json()
    assert user["email"] == "ana@example.com"
    assert user["role"] == "customer"
    assert user["email_verified"] is False
    assert "password" not in response.text

    [email] = await outbox(app, to="ana@example.com")
    assert email.subject == "Confirm your email address"
    assert "http://testserver/verify-email?token=" in email.text_body
    assert "verify-email?token=" in email.html_body
    token = link_token(email.text_body, "verify-email")

    # Unverified customers can sign in and see their account.
    pair = await sign_in(client, "ana@example.com")
    assert (await client.get(f"{API}/me", headers=bearer(pair))).json()["email_verified"] is False

    verified = await client.post(f"{API}/auth/verify-email", json={"token": token})
    assert verified.status_code == 200, verified.text
    assert verified.json()["email_verified"] is True
    me = await client.get(f"{API}/me", headers=bearer(pair))
    assert me.json()["email_verified"] is True

    again = await client.post(f"{API}/auth/verify-email", json={"token": token})
    assert again.status_code == 400
    assert again.json()["code"] == "invalid_token"


async def test_register_duplicate_email_is_409(client: httpx.AsyncClient) -> None:
    assert (await register(client)).status_code == 201
    duplicate = await register(client, "ANA@example.com")
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "email_taken"


async def test_weak_passwords_are_refused(client: httpx.AsyncClient) -> None:
    for password in ("short", "password123", "qwertyuiop", "aaaaaaaaaaaa", "ana.silva.rocks@example.com1"):
        response = await register(client, "ana.silva.rocks@example.com", password=password)
        assert response.status_code == 422, (password, response.text)
        assert response.json()["code"] in ("weak_password", "validation_error"), password
    containing_email = await register(client, "zorro@example.com", password="my zorro@example.com pass")
    assert containing_email.json()["code"] == "weak_password"
    too_long = await register(client, password="x" * 129)
    assert too_long.status_code == 422
    # No composition rules: a long passphrase of lower-case words is fine.
    assert (await register(client, password="purple elephants dance quietly")).status_code == 201


async def test_forged_and_expired_verification_tokens(
    client: httpx.AsyncClient, app: FastAPI, frozen_clock: FrozenClock
) -> None:
    assert (await register(client)).status_code == 201
    [email] = await outbox(app)
    token = link_token(email.text_body, "verify-email")
    forged = await client.post(f"{API}/auth/verify-email", json={"token": token[:-2] + "xx"})
    assert forged.status_code == 400
    assert forged.json()["code"] == "invalid_token"
    frozen_clock.advance(hours=49)
    expired = await client.post(f"{API}/auth/verify-email", json={"token": token})
    assert expired.status_code == 400
    assert expired.json()["code"] == "invalid_token"


async def test_resend_answers_the_same_and_only_newest_link_works(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    assert (await register(client)).status_code == 201
    unknown = await client.post(f"{API}/auth/resend-verification", json={"email": "nobody@example.com"})
    known = await client.post(f"{API}/auth/resend-verification", json={"email": "ana@example.com"})
    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json()
    first, second = await outbox(app, to="ana@example.com")
    old = link_token(first.text_body, "verify-email")
    new = link_token(second.text_body, "verify-email")
    assert (await client.post(f"{API}/auth/verify-email", json={"token": old})).status_code == 400
    assert (await client.post(f"{API}/auth/verify-email", json={"token": new})).status_code == 200
    assert len(await outbox(app, to="nobody@example.com")) == 0


async def test_email_change_is_confirmed_through_the_new_address(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    user = await make_user(app, email="old@example.com")
    pair = await sign_in(client, "old@example.com")
    taken = await make_user(app, email="taken@example.com")
    conflict = await client.patch(f"{API}/me", json={"email": taken.email}, headers=bearer(pair))
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "email_taken"

    response = await client.patch(
        f"{API}/me", json={"email": "new@example.com", "full_name": "  Nova Name "}, headers=bearer(pair)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["email"] == "old@example.com"
    assert body["pending_email"] == "new@example.com"
    assert body["full_name"] == "Nova Name"
    [notice] = await outbox(app, to="old@example.com")
    assert "new@example.com" in notice.text_body
    [confirm] = await outbox(app, to="new@example.com")
    token = link_token(confirm.text_body, "verify-email")

    verified = await client.post(f"{API}/auth/verify-email", json={"token": token})
    assert verified.status_code == 200
    assert verified.json()["email"] == "new@example.com"
    assert verified.json()["pending_email"] is None
    await sign_in(client, "new@example.com")
    old_login = await client.post(
        f"{API}/auth/login", json={"email": "old@example.com", "password": DEFAULT_PASSWORD}
    )
    assert old_login.status_code == 401
    assert user.id == verified.json()["id"]
