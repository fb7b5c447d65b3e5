"""Passwords made of the user's name, email or the service's name are refused (NIST SP 800-63B); look-alike
addresses (fullwidth forms, mixed scripts) are folded or refused, at registration and at sign-in."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from boxoffice.accounts.passwords import CONTEXT_PROBLEM, password_problems
from boxoffice.accounts.schemas import mixes_scripts
from tests.factories.accounts import DEFAULT_PASSWORD, auth_headers, make_user

API = "/api/v1"


@pytest.mark.parametrize(
    ("password", "full_name", "email"),
    [
        ("Margaret Thompson", "Margaret Thompson", "mt@example.com"),
        ("margaretthompson", "Margaret Thompson", "mt@example.com"),
        ("Thompson.Margaret.1990!", "Margaret Thompson", "mt@example.com"),
        ("margaret margaret margaret", "Margaret Thompson", "mt@example.com"),
        ("boxoffice2026", "Ann Lee", "ann@example.com"),
        ("BoxOffice 2026!", "Ann Lee", "ann@example.com"),
        ("2026boxofficeboxoffice", "Ann Lee", "ann@example.com"),
        ("Lee.BoxOffice.2026", "Ann Lee", "ann@example.com"),
        ("Chesterfield77", "Ann Lee", "ann.chesterfield@example.com"),
    ],
)
def test_passwords_made_of_context_words_are_refused(password: str, full_name: str, email: str) -> None:
    assert password_problems(password, email=email, full_name=full_name) == [CONTEXT_PROBLEM]


@pytest.mark.parametrize(
    "password", [DEFAULT_PASSWORD, "Margaret's violin sonata in G", "box of office chairs 2026 blue"]
)
def test_passwords_that_merely_mention_a_context_word_are_judged_as_usual(password: str) -> None:
    assert password_problems(password, email="mt@example.com", full_name="Margaret Thompson") == []


async def test_registering_with_ones_name_or_the_services_name_as_password_answers_422(
    client: httpx.AsyncClient,
) -> None:
    for password in ("Margaret Thompson", "boxoffice2026"):
        response = await client.post(
            f"{API}/auth/register",
            json={"email": "mt@example.com", "password": password, "full_name": "Margaret Thompson"},
        )
        assert response.status_code == 422, (password, response.text)
        body = response.json()
        assert body["code"] == "weak_password"
        assert body["reasons"] == [CONTEXT_PROBLEM]


async def test_changing_the_password_to_ones_name_answers_422(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    user = await make_user(app, full_name="Margaret Thompson")
    response = await client.post(
        f"{API}/me/password",
        json={"current_password": DEFAULT_PASSWORD, "new_password": "Thompson Margaret 1"},
        headers=auth_headers(app, user),
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "weak_password"


def test_script_mixes() -> None:
    assert mixes_scripts("b\u03bfxoffice")  # Greek omicron
    assert mixes_scripts("\u0430dmin")  # Cyrillic a
    assert not mixes_scripts("boxoffice-2026")
    assert not mixes_scripts("jos\u00e9")
    assert not mixes_scripts("\u043f\u0440\u0438\u043c\u0435\u0440")  # all Cyrillic
    assert not mixes_scripts("\u30e6\u30fc\u30b6\u30fcabc")  # Katakana with Latin, as Japanese writes
    assert not mixes_scripts("\u7528\u6237")  # Han


async def register(client: httpx.AsyncClient, email: str) -> httpx.Response:
    """Register `email` with an acceptable password."""
    return await client.post(
        f"{API}/auth/register", json={"email": email, "password": DEFAULT_PASSWORD, "full_name": "Probe"}
    )


async def test_fullwidth_forms_of_an_address_are_the_same_account(client: httpx.AsyncClient) -> None:
    first = await register(client, "probe@example.com")
    assert first.status_code == 201, first.text
    again = await register(client, "\uff50robe@example.com")  # fullwidth p
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "email_taken"

    local = await register(client, "admin@\uff42\uff4f\uff58office.localhost")  # fullwidth b, o, x
    assert local.status_code == 201, local.text
    assert local.json()["email"] == "admin@boxoffice.localhost"
    assert (await register(client, "admin@boxoffice.localhost")).status_code == 409


@pytest.mark.parametrize(
    "email",
    [
        "admin@b\u03bfxoffice.localhost",  # Greek omicron in the domain
        "\u0430dmin@boxoffice.localhost",  # Cyrillic a in the local part
        "probe@exampl\u0435.com",  # Cyrillic e in the domain
    ],
)
async def test_mixed_script_look_alikes_are_refused(client: httpx.AsyncClient, email: str) -> None:
    response = await register(client, email)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "validation_error"
    assert [e["type"] for e in body["errors"]] == ["email_mixed_scripts"]


async def test_single_script_addresses_still_register(client: httpx.AsyncClient) -> None:
    response = await register(client, "\u043f\u0440\u0438\u043c\u0435\u0440@example.com")
    assert response.status_code == 201, response.text


async def test_sign_in_looks_up_the_folded_address(client: httpx.AsyncClient, app: FastAPI) -> None:
    await make_user(app, email="probe@example.com")
    for typed in ("\uff50robe@example.com", "PROBE@\uff45xample.com"):
        response = await client.post(f"{API}/auth/login", json={"email": typed, "password": DEFAULT_PASSWORD})
        assert response.status_code == 200, (typed, response.text)
