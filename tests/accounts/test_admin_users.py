"""Admin user management: list, search, create any role, change role, deactivate, delete; guards."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from boxoffice.accounts.models import Role
from tests.factories.accounts import DEFAULT_PASSWORD, auth_headers, make_user, sign_in

API = "/api/v1"


async def test_customers_owners_and_anonymous_are_kept_out(client: httpx.AsyncClient, app: FastAPI) -> None:
    customer = await make_user(app)
    owner = await make_user(app, role=Role.owner)
    routes = [
        ("GET", f"{API}/admin/users", None),
        (
            "POST",
            f"{API}/admin/users",
            {"email": "x@example.com", "password": DEFAULT_PASSWORD, "full_name": "X", "role": "admin"},
        ),
        ("GET", f"{API}/admin/users/{customer.id}", None),
        ("PATCH", f"{API}/admin/users/{customer.id}", {"role": "admin"}),
        ("DELETE", f"{API}/admin/users/{owner.id}", None),
        ("GET", f"{API}/admin/audit", None),
    ]
    for method, url, body in routes:
        anonymous = await client.request(method, url, json=body)
        assert anonymous.status_code == 401, (method, url)
        for user in (customer, owner):
            response = await client.request(method, url, json=body, headers=auth_headers(app, user))
            assert response.status_code == 403, (method, url, user.role)
            assert response.json()["code"] == "forbidden"
    # Nothing changed: the customer is still a customer.
    me = await client.get(f"{API}/me", headers=auth_headers(app, customer))
    assert me.json()["role"] == "customer"


async def test_register_cannot_create_an_admin(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{API}/auth/register",
        json={"email": "sneaky@example.com", "password": DEFAULT_PASSWORD, "full_name": "S", "role": "admin"},
    )
    assert response.status_code == 422


async def test_admin_lists_and_searches(client: httpx.AsyncClient, app: FastAPI) -> None:
    admin = await make_user(app, role=Role.admin, email="root@example.com")
    await make_user(app, email="zed@example.com", full_name="Zed Zebra")
    await make_user(app, role=Role.owner, email="own@example.com", full_name="Olga 100%_Owner")
    headers = auth_headers(app, admin)
    everyone = (await client.get(f"{API}/admin/users", headers=headers)).json()
    assert everyone["total"] == 3
    assert everyone["page"] == 1
    assert everyone["per_page"] == 20
    by_name = (await client.get(f"{API}/admin/users", params={"q": "ZEBRA"}, headers=headers)).json()
    assert [u["email"] for u in by_name["items"]] == ["zed@example.com"]
    owners = (await client.get(f"{API}/admin/users", params={"role": "owner"}, headers=headers)).json()
    assert [u["email"] for u in owners["items"]] == ["own@example.com"]
    literal = (await client.get(f"{API}/admin/users", params={"q": "100%_"}, headers=headers)).json()
    assert literal["total"] == 1
    wildcard = (await client.get(f"{API}/admin/users", params={"q": "%"}, headers=headers)).json()
    assert wildcard["total"] == 1
    paged = (
        await client.get(f"{API}/admin/users", params={"per_page": 2, "page": 2}, headers=headers)
    ).json()
    assert len(paged["items"]) == 1
    assert paged["total"] == 3
    bad_role = await client.get(f"{API}/admin/users", params={"role": "god"}, headers=headers)
    assert bad_role.status_code == 422
    missing = await client.get(f"{API}/admin/users/999999", headers=headers)
    assert missing.status_code == 404


async def test_admin_creates_owner_and_changes_roles(client: httpx.AsyncClient, app: FastAPI) -> None:
    admin = await make_user(app, role=Role.admin)
    headers = auth_headers(app, admin)
    created = await client.post(
        f"{API}/admin/users",
        json={
            "email": "Owner@Example.com",
            "password": DEFAULT_PASSWORD,
            "full_name": "Otto",
            "role": "owner",
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    owner = created.json()
    assert owner["role"] == "owner"
    assert owner["email_verified"] is True
    duplicate = await client.post(
        f"{API}/admin/users",
        json={
            "email": "owner@example.com",
            "password": DEFAULT_PASSWORD,
            "full_name": "Otto",
            "role": "owner",
        },
        headers=headers,
    )
    assert duplicate.status_code == 409
    weak = await client.post(
        f"{API}/admin/users",
        json={"email": "w@example.com", "password": "12345678901", "full_name": "W", "role": "admin"},
        headers=headers,
    )
    assert weak.status_code == 422
    await sign_in(client, "owner@example.com")

    promoted = await client.patch(f"{API}/admin/users/{owner['id']}", json={"role": "admin"}, headers=headers)
    assert promoted.status_code == 200
    assert promoted.json()["role"] == "admin"
    self_demote = await client.patch(
        f"{API}/admin/users/{admin.id}", json={"role": "customer"}, headers=headers
    )
    assert self_demote.status_code == 409
    assert self_demote.json()["code"] == "cannot_modify_self"

    audit = (
        await client.get(f"{API}/admin/audit", params={"subject_id": owner["id"]}, headers=headers)
    ).json()
    actions = {e["action"] for e in audit["items"]}
    assert {"account.created", "account.role_changed", "account.login_succeeded"} <= actions
    role_change = next(e for e in audit["items"] if e["action"] == "account.role_changed")
    assert role_change["actor_id"] == admin.id
    assert role_change["data"] == {"old": "owner", "new": "admin"}
    assert role_change["ip"] == "203.0.113.7"


async def test_deactivate_reactivate_and_delete(client: httpx.AsyncClient, app: FastAPI) -> None:
    admin = await make_user(app, role=Role.admin)
    headers = auth_headers(app, admin)
    user = await make_user(app, email="temp@example.com")
    pair = await sign_in(client, "temp@example.com")
    off = await client.patch(f"{API}/admin/users/{user.id}", json={"is_active": False}, headers=headers)
    assert off.json()["is_active"] is False
    login = await client.post(
        f"{API}/auth/login", json={"email": "temp@example.com", "password": DEFAULT_PASSWORD}
    )
    assert login.status_code == 401
    assert (
        await client.post(f"{API}/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    ).status_code == 401
    on = await client.patch(f"{API}/admin/users/{user.id}", json={"is_active": True}, headers=headers)
    assert on.json()["is_active"] is True
    await sign_in(client, "temp@example.com")

    deleted = await client.delete(f"{API}/admin/users/{user.id}", headers=headers)
    assert deleted.status_code == 204
    row = (await client.get(f"{API}/admin/users/{user.id}", headers=headers)).json()
    assert row["email"] == f"deleted-{user.id}@invalid"
    assert row["deleted_at"] is not None
    assert (await client.delete(f"{API}/admin/users/{admin.id}", headers=headers)).status_code == 409
    assert (
        await client.patch(f"{API}/admin/users/{user.id}", json={"role": "owner"}, headers=headers)
    ).status_code == 409
