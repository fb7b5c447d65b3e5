"""The admin audit log API: every account event with actor, IP and time; filters; pagination."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from boxoffice.accounts.models import Role
from tests.factories.accounts import DEFAULT_PASSWORD, auth_headers, make_user

API = "/api/v1"


async def test_account_events_are_audited_and_filterable(client: httpx.AsyncClient, app: FastAPI) -> None:
    admin = await make_user(app, role=Role.admin)
    headers = auth_headers(app, admin)
    registered = await client.post(
        f"{API}/auth/register",
        json={"email": "aud@example.com", "password": DEFAULT_PASSWORD, "full_name": "Aud"},
    )
    user_id = registered.json()["id"]
    await client.post(f"{API}/auth/login", json={"email": "aud@example.com", "password": "wrong password!"})
    await client.post(f"{API}/auth/login", json={"email": "aud@example.com", "password": DEFAULT_PASSWORD})

    log = (await client.get(f"{API}/admin/audit", headers=headers)).json()
    assert [e["action"] for e in log["items"]] == [
        "account.login_succeeded",
        "account.login_failed",
        "account.registered",
    ]
    failed = log["items"][1]
    assert failed["subject_id"] == str(user_id)
    assert failed["ip"] == "203.0.113.7"
    assert failed["data"] == {"reason": "bad_password"}
    assert failed["at"].endswith(("Z", "+00:00"))

    only_failed = (
        await client.get(f"{API}/admin/audit", params={"action": "account.login_failed"}, headers=headers)
    ).json()
    assert only_failed["total"] == 1
    by_actor = (await client.get(f"{API}/admin/audit", params={"actor_id": user_id}, headers=headers)).json()
    assert by_actor["total"] == 3
    by_subject = (
        await client.get(
            f"{API}/admin/audit", params={"subject_type": "user", "subject_id": user_id}, headers=headers
        )
    ).json()
    assert by_subject["total"] == 3
    page2 = (
        await client.get(f"{API}/admin/audit", params={"per_page": 2, "page": 2}, headers=headers)
    ).json()
    assert page2["total"] == 3
    assert len(page2["items"]) == 1
    none = (await client.get(f"{API}/admin/audit", params={"action": "nothing.here"}, headers=headers)).json()
    assert none == {"items": [], "total": 0, "page": 1, "per_page": 20}


async def test_audit_filters_are_validated(client: httpx.AsyncClient, app: FastAPI) -> None:
    headers = auth_headers(app, await make_user(app, role=Role.admin))
    for params in ({"actor_id": "abc"}, {"action": "x" * 65}, {"subject_id": "a\x00b"}, {"per_page": 101}):
        response = await client.get(f"{API}/admin/audit", params=params, headers=headers)
        assert response.status_code == 422, params
        assert response.headers["content-type"].startswith("application/problem+json")
