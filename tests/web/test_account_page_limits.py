"""The signed-in account pages (password change, two-factor off, account deletion) go through the very limiter
the API uses: wrong secrets count against the account's sign-in allowance (per account and client address)
and answer 429 at the same attempt on the page as on the API, the right secret included, until the window
has passed."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from limits.aio.storage import memory

from boxoffice.accounts.models import User
from boxoffice.db import transaction
from tests.conftest import FrozenClock
from tests.factories.accounts import DEFAULT_PASSWORD, auth_headers, make_user
from tests.web.support import page_login, post_form

API = "/api/v1"
ATTEMPTS = 20
NEW_PASSWORD = "another horse battery staple"


class LimiterClock:
    """The in-memory limiter's time, moved forward on request (the rest of the app keeps real time)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        """Seconds since the epoch, as the limiter sees them."""
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass for the limiter."""
        self.offset += seconds


@pytest.fixture
def limiter_clock(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> LimiterClock:
    """Shift the clock of the `limits` memory storage the app's limiter runs on in tests."""
    assert app.state.rate_limiter.backend == "memory"
    clock = LimiterClock()
    monkeypatch.setattr(memory, "time", clock)
    return clock


def allowance(app: FastAPI) -> int:
    """Wrong secrets tolerated per account per 15 minutes (the sign-in limit)."""
    limit: int = app.state.settings.login_attempts_per_15min
    return limit


async def statuses(send: Callable[[int], Awaitable[httpx.Response]]) -> list[int]:
    """The status of each of ATTEMPTS calls of `send(attempt)`."""
    return [(await send(attempt)).status_code for attempt in range(ATTEMPTS)]


def assert_page_429(response: httpx.Response) -> None:
    """A friendly HTML answer in the user's page, with the limiter's Retry-After."""
    assert response.status_code == 429
    assert response.headers["content-type"].startswith("text/html")
    assert 1 <= int(response.headers["retry-after"]) <= 15 * 60
    assert "Too many attempts" in response.text
    assert "try again in about" in response.text


def assert_api_429(response: httpx.Response) -> None:
    """The API's problem+json `rate_limited`, with Retry-After."""
    assert response.status_code == 429
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "rate_limited"
    assert 1 <= int(response.headers["retry-after"]) <= 15 * 60


@asynccontextmanager
async def signed_in_page(
    app: FastAPI, client: httpx.AsyncClient
) -> AsyncIterator[tuple[User, httpx.AsyncClient]]:
    """A new user signed in through the sign-in form, on a browser of its own."""
    user = await make_user(app)
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as browser:
        await page_login(browser, user.email)
        yield user, browser


async def with_two_factor(app: FastAPI, user: User) -> pyotp.TOTP:
    """Turn two-factor on for `user` straight in the database; its authenticator."""
    secret = pyotp.random_base32()
    async with transaction(app.state.sessionmaker) as session:
        row = await session.get(User, user.id)
        assert row is not None
        row.totp_secret, row.mfa_enabled = secret, True
    return pyotp.TOTP(secret)


def wrong_code(totp: pyotp.TOTP, clock: FrozenClock) -> str:
    """A six-digit code the authenticator would not show now (nor one step either side)."""
    valid = {totp.at(clock.now + timedelta(seconds=30 * step)) for step in (-1, 0, 1)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in valid)


async def test_wrong_current_passwords_answer_429_on_the_page_as_on_the_api(
    app: FastAPI, client: httpx.AsyncClient, limiter_clock: LimiterClock
) -> None:
    api_user = await make_user(app)
    headers = auth_headers(app, api_user)
    async with signed_in_page(app, client) as (_, browser):

        async def api_wrong(attempt: int) -> httpx.Response:
            body = {"current_password": f"guess number {attempt}", "new_password": NEW_PASSWORD}
            return await client.post(f"{API}/me/password", json=body, headers=headers)

        async def page_wrong(attempt: int) -> httpx.Response:
            form = {"current_password": f"guess number {attempt}", "new_password": NEW_PASSWORD}
            return await post_form(browser, "/account/password", form)

        expected = [400] * allowance(app) + [429] * (ATTEMPTS - allowance(app))
        assert await statuses(api_wrong) == expected
        assert await statuses(page_wrong) == expected

        # The right password is refused too while the window lasts (checked before the password).
        right = {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
        assert_api_429(await client.post(f"{API}/me/password", json=right, headers=headers))
        blocked = await post_form(browser, "/account/password", right)
        assert_page_429(blocked)
        assert (await browser.get("/account")).status_code == 200  # still signed in, nothing changed

        limiter_clock.advance(15 * 60 + 1)
        assert (await client.post(f"{API}/me/password", json=right, headers=headers)).status_code == 204
        changed = await post_form(browser, "/account/password", right)
        assert changed.status_code == 303, changed.text


async def test_wrong_two_factor_codes_answer_429_on_the_page_as_on_the_api(
    app: FastAPI, client: httpx.AsyncClient, frozen_clock: FrozenClock, limiter_clock: LimiterClock
) -> None:
    api_user = await make_user(app)
    api_totp = await with_two_factor(app, api_user)
    headers = auth_headers(app, api_user)
    async with signed_in_page(app, client) as (page_user, browser):
        page_totp = await with_two_factor(app, page_user)

        async def api_wrong(attempt: int) -> httpx.Response:
            body = {"password": DEFAULT_PASSWORD, "otp": wrong_code(api_totp, frozen_clock)}
            return await client.post(f"{API}/me/mfa/totp/disable", json=body, headers=headers)

        async def page_wrong(attempt: int) -> httpx.Response:
            form = {"password": DEFAULT_PASSWORD, "otp": wrong_code(page_totp, frozen_clock)}
            return await post_form(browser, "/account/two-factor/disable", form, page="/account/two-factor")

        expected = [400] * allowance(app) + [429] * (ATTEMPTS - allowance(app))
        assert await statuses(api_wrong) == expected
        assert await statuses(page_wrong) == expected

        api_right = {"password": DEFAULT_PASSWORD, "otp": api_totp.at(frozen_clock.now)}
        page_right = {"password": DEFAULT_PASSWORD, "otp": page_totp.at(frozen_clock.now)}
        assert_api_429(await client.post(f"{API}/me/mfa/totp/disable", json=api_right, headers=headers))
        assert_page_429(
            await post_form(browser, "/account/two-factor/disable", page_right, page="/account/two-factor")
        )

        limiter_clock.advance(15 * 60 + 1)
        off = await client.post(f"{API}/me/mfa/totp/disable", json=api_right, headers=headers)
        assert off.status_code == 204, off.text
        page_off = await post_form(
            browser, "/account/two-factor/disable", page_right, page="/account/two-factor"
        )
        assert page_off.status_code == 303, page_off.text
    assert (await client.get(f"{API}/me", headers=headers)).json()["mfa_enabled"] is False


async def test_account_deletion_with_a_wrong_password_answers_429_on_the_page_as_on_the_api(
    app: FastAPI, client: httpx.AsyncClient, limiter_clock: LimiterClock
) -> None:
    api_user = await make_user(app)
    headers = auth_headers(app, api_user)
    async with signed_in_page(app, client) as (_, browser):

        async def api_wrong(attempt: int) -> httpx.Response:
            body = {"password": f"guess number {attempt}"}
            return await client.request("DELETE", f"{API}/me", json=body, headers=headers)

        async def page_wrong(attempt: int) -> httpx.Response:
            return await post_form(browser, "/account/delete", {"password": f"guess number {attempt}"})

        expected = [400] * allowance(app) + [429] * (ATTEMPTS - allowance(app))
        assert await statuses(api_wrong) == expected
        assert await statuses(page_wrong) == expected

        right = {"password": DEFAULT_PASSWORD}
        assert_api_429(await client.request("DELETE", f"{API}/me", json=right, headers=headers))
        assert_page_429(await post_form(browser, "/account/delete", right))
        assert (await client.get(f"{API}/me", headers=headers)).status_code == 200  # both still there
        assert (await browser.get("/account")).status_code == 200

        limiter_clock.advance(15 * 60 + 1)
        assert (await client.request("DELETE", f"{API}/me", json=right, headers=headers)).status_code == 204
        assert (await post_form(browser, "/account/delete", right)).status_code == 303


async def test_the_pages_and_sign_in_share_one_allowance_per_account(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Wrong passwords spread over the pages lock sign-in from the same address too (and the sign-in form
    says when to retry); the owner signing in from another address is not locked out."""
    async with signed_in_page(app, client) as (user, browser):
        for attempt in range(allowance(app)):
            path = "/account/password" if attempt % 2 else "/account/delete"
            form = (
                {"current_password": f"guess {attempt}", "new_password": NEW_PASSWORD}
                if attempt % 2
                else {"password": f"guess {attempt}"}
            )
            assert (await post_form(browser, path, form)).status_code == 400, attempt
    fresh = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with fresh:
        sign_in = await post_form(fresh, "/login", {"email": user.email, "password": DEFAULT_PASSWORD})
    assert_page_429(sign_in)
    api = await client.post(f"{API}/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD})
    assert_api_429(api)
    elsewhere = httpx.ASGITransport(app=app, client=("198.51.100.23", 5555))
    async with httpx.AsyncClient(transport=elsewhere, base_url="http://testserver") as other:
        signed_in = await post_form(other, "/login", {"email": user.email, "password": DEFAULT_PASSWORD})
    assert signed_in.status_code == 303, signed_in.text
