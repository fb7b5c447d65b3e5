"""Account pages over HTTP: register, verify from the email, sign in (TOTP), profile, password, sign out."""

from __future__ import annotations

import re
from urllib.parse import unquote

import httpx
import pyotp
from fastapi import FastAPI

from boxoffice.accounts.deferred import wait_deferred
from boxoffice.accounts.models import Role
from tests.factories.accounts import DEFAULT_PASSWORD, auth_headers, make_user
from tests.web.support import (
    csrf_from,
    emails_to,
    link_in,
    page_csrf,
    page_login,
    post_form,
    session_of,
)

NEW_PASSWORD = "another horse battery staple"


async def test_register_verify_and_sign_in(app: FastAPI, client: httpx.AsyncClient) -> None:
    email = "newcomer@example.com"
    response = await post_form(
        client, "/register", {"email": email, "full_name": "Nina Newcomer", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/account"
    account = await client.get("/account")
    assert account.status_code == 200
    assert "Confirm your email address" in account.text
    assert "Nina Newcomer" in account.text

    [message] = await emails_to(app, email)
    link = unquote(link_in(message.text_body, "verify-email"))
    landing = await client.get(link)
    assert landing.status_code == 200
    token = re.search(r'name="token" value="([^"]+)"', landing.text)
    assert token
    confirmed = await client.post(
        "/verify-email", data={"token": token.group(1), "csrf_token": csrf_from(landing.text)}
    )
    assert confirmed.status_code == 303
    account = await client.get("/account")
    assert "Confirm your email address" not in account.text
    assert "Your email address is confirmed" in account.text
    # The link works once.
    again = await client.post(
        "/verify-email", data={"token": token.group(1), "csrf_token": csrf_from(account.text)}
    )
    assert again.status_code == 400
    assert "invalid" in again.text.lower()


async def test_register_with_taken_email_or_weak_password_shows_the_form(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    existing = await make_user(app)
    taken = await post_form(
        client, "/register", {"email": existing.email, "full_name": "Copy Cat", "password": DEFAULT_PASSWORD}
    )
    assert taken.status_code == 409
    assert "already exists" in taken.text
    weak = await post_form(
        client, "/register", {"email": "weak@example.com", "full_name": "W", "password": "123"}
    )
    assert weak.status_code in (400, 422)
    assert 'value="weak@example.com"' in weak.text  # what was typed is kept


async def test_sign_in_wrong_password_and_fixation(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await make_user(app)
    wrong = await post_form(client, "/login", {"email": user.email, "password": "not my password"})
    assert wrong.status_code == 401
    assert "wrong" in wrong.text
    before = session_of(app, client)
    await page_login(client, user.email)
    after = session_of(app, client)
    assert after.uid == user.id
    assert after.sid != before.sid
    assert after.csrf != before.csrf  # a token planted before sign-in is worthless after it
    assert (await client.get("/account")).status_code == 200


async def test_next_redirect_is_local_only(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await make_user(app)
    response = await post_form(
        client, "/login", {"email": user.email, "password": DEFAULT_PASSWORD, "next": "//evil.example/x"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"


async def test_signed_out_visitor_is_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/account")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/account"


async def test_sign_out_revokes_the_server_session(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await make_user(app)
    await page_login(client, user.email)
    stolen = client.cookies.get("bo_session")
    token = await page_csrf(client, "/account")
    out = await client.post("/logout", data={"csrf_token": token})
    assert out.status_code == 303
    # Replaying the old cookie no longer works: the accounts session behind it is revoked.
    client.cookies.set("bo_session", stolen)
    assert (await client.get("/account")).status_code == 303


async def test_sign_out_everywhere_from_the_api_ends_the_page_session(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await make_user(app)
    await page_login(client, user.email)
    assert (await client.get("/account")).status_code == 200
    ended = await client.post("/api/v1/auth/logout-all", headers=auth_headers(app, user))
    assert ended.status_code == 204
    assert (await client.get("/account")).status_code == 303


async def test_change_password_keeps_this_session(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await make_user(app)
    await page_login(client, user.email)
    response = await post_form(
        client, "/account/password", {"current_password": "wrong one", "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 400
    response = await post_form(
        client, "/account/password", {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 303, response.text
    assert (await client.get("/account")).status_code == 200
    other = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with other:
        await page_login(other, user.email, NEW_PASSWORD)


async def test_forgot_and_reset_password(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await make_user(app)
    sent = await post_form(client, "/password/forgot", {"email": user.email})
    assert sent.status_code == 200
    assert "on its way" in sent.text
    unknown = await post_form(client, "/password/forgot", {"email": "nobody@example.com"})
    assert "on its way" in unknown.text  # reveals nothing
    [message] = await emails_to(app, user.email)
    link = unquote(link_in(message.text_body, "reset-password"))
    page = await client.get(link)
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token
    done = await client.post(
        "/reset-password",
        data={"token": token.group(1), "new_password": NEW_PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/login"
    await page_login(client, user.email, NEW_PASSWORD)
    await wait_deferred()  # the lookup for the unknown address runs after its answer


async def test_two_factor_setup_and_sign_in_with_code(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await make_user(app, role=Role.owner)
    await page_login(client, user.email)
    setup = await post_form(client, "/account/two-factor/setup", {}, page="/account/two-factor")
    assert setup.status_code == 200
    assert 'src="data:image/svg+xml' in setup.text
    secret = re.search(r"by hand: <code>([A-Z2-7]+)</code>", setup.text)
    assert secret
    enabled = await client.post(
        "/account/two-factor/enable",
        data={"otp": pyotp.TOTP(secret.group(1)).now(), "csrf_token": csrf_from(setup.text)},
    )
    assert enabled.status_code == 200
    assert "recovery codes" in enabled.text
    codes = re.findall(r"<li><code>([^<]+)</code></li>", enabled.text)
    assert len(codes) >= 5

    fresh = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with fresh:
        asked = await post_form(fresh, "/login", {"email": user.email, "password": DEFAULT_PASSWORD})
        assert asked.status_code == 200
        assert 'name="otp"' in asked.text
        ok = await fresh.post(
            "/login",
            data={
                "email": user.email,
                "password": DEFAULT_PASSWORD,
                "otp": codes[0],
                "csrf_token": csrf_from(asked.text),
            },
        )
        assert ok.status_code == 303, ok.text


async def test_profile_update_and_delete_account(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await make_user(app)
    await page_login(client, user.email)
    saved = await post_form(client, "/account", {"full_name": "Renamed Person", "email": user.email})
    assert saved.status_code == 303
    assert "Renamed Person" in (await client.get("/account")).text
    refused = await post_form(client, "/account/delete", {"password": "wrong"}, page="/account/delete")
    assert refused.status_code == 400
    deleted = await post_form(
        client, "/account/delete", {"password": DEFAULT_PASSWORD}, page="/account/delete"
    )
    assert deleted.status_code == 303
    assert (await client.get("/account")).status_code == 303
    again = await post_form(client, "/login", {"email": user.email, "password": DEFAULT_PASSWORD})
    assert again.status_code == 401
