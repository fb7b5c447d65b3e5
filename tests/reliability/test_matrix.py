"""The authorization matrix, checked: every route of the app x six actors, on SQLite and PostgreSQL.

The route list comes from the app itself (`app.routes`), so a new route without a row in
matrix_table.MATRIX fails test_every_route_has_a_row. Denials must be problem+json (HTML pages
excepted) and 401s must carry `WWW-Authenticate: Bearer`.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from boxoffice.main import create_app
from tests.conftest import make_settings
from tests.reliability.actors import ACTORS, build_world
from tests.reliability.figures import record
from tests.reliability.matrix_ctx import Ctx, Row, first_status, judge, resolve
from tests.reliability.matrix_table import KNOWN_DEFECTS, MATRIX

_PARAM = re.compile(r"\{[^}]+\}")


def shape(key: str) -> str:
    """`METHOD /path/{x}` with every path parameter written `{}`."""
    return _PARAM.sub("{}", key)


def app_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(METHOD, path template) of every HTTP route of the app, routers included (HEAD folded into GET)."""
    found: set[tuple[str, str]] = set()
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if isinstance(route, Mount):
            found.add(("GET", str(ctx.path) + "/{path}"))
            continue
        for method in ctx.methods or set():
            if method != "HEAD":
                found.add((method, str(ctx.path)))
    return sorted(found)


ROWS = {shape(k): (k, row) for k, row in MATRIX.items()}


def test_every_route_has_a_row(tmp_path: Path) -> None:
    app = create_app(make_settings("sqlite+aiosqlite:///:memory:", tmp_path), run_background=False)
    missing = [f"{m} {p}" for m, p in app_routes(app) if shape(f"{m} {p}") not in ROWS]
    assert not missing, "routes without a row in tests/reliability/matrix_table.py:\n" + "\n".join(missing)


def _fill(path: str, ids: tuple[object, ...]) -> str:
    names = _PARAM.findall(path)
    assert len(names) == len(ids), f"{path} needs {len(names)} ids, the row gives {ids}"
    for name, value in zip(names, ids, strict=True):
        path = path.replace(name, str(value), 1)
    return path


async def _call(ctx: Ctx, method: str, path: str, row: Row, actor: str) -> httpx.Response:
    headers = dict(ctx.headers(actor))
    if row.fresh_actor is not None and actor != "anonymous":
        role = row.fresh_actor if actor.startswith("customer") else ctx.world.users[actor].role
        headers = (await ctx.fresh_user(role))[1]
    ids = await resolve(row.ids, ctx, actor) if row.ids is not None else ()
    url = _fill(path, tuple(ids))
    kwargs: dict[str, object] = {"headers": headers}
    if row.json is not None:
        kwargs["json"] = await resolve(row.json, ctx, actor)
    form = dict(await resolve(row.form, ctx, actor)) if row.form is not None else None
    ctx.client.cookies.clear()
    if row.csrf:
        form = {**(form or {}), "csrf_token": await ctx.csrf_token()}
    if form is not None:
        kwargs["data"] = form
    if row.query is not None:
        kwargs["params"] = await resolve(row.query, ctx, actor)
    if row.stream:
        status = await first_status(ctx.app, method, url, headers)
        return httpx.Response(status, headers={"content-type": "application/problem+json"}, text="(stream)")
    return await ctx.client.request(method, url, **kwargs)  # type: ignore[arg-type]


def _problems(response: httpx.Response, expected: str, path: str) -> list[str]:
    status = response.status_code
    out = []
    if not judge(expected, status):
        out.append(f"expected {expected}, got {status}: {response.text[:160]}")
    if status in (401, 403, 404) and path.startswith("/api/"):
        if not response.headers.get("content-type", "").startswith("application/problem+json"):
            out.append(f"{status} is not problem+json")
        if status == 401 and response.headers.get("www-authenticate", "").lower() != "bearer":
            out.append("401 without WWW-Authenticate: Bearer")
    return out


async def test_authorization_matrix(app: FastAPI, client: httpx.AsyncClient, backend: str) -> None:
    ctx = Ctx(app=app, client=client, world=await build_world(app))
    failures: list[str] = []
    observed: dict[str, dict[str, float]] = defaultdict(dict)
    cells = 0
    routes = app_routes(app)
    order = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 3, "DELETE": 4}
    for method, path in sorted(routes, key=lambda r: (order.get(r[0], 5), r[1])):
        entry = ROWS.get(shape(f"{method} {path}"))
        if entry is None:
            continue  # reported by test_every_route_has_a_row
        _key, row = entry
        started = time.perf_counter()
        for actor, expected in row.expected().items():
            cells += 1
            try:
                response = await _call(ctx, method, path, row, actor)
            except AssertionError as exc:
                failures.append(f"{method} {path} as {actor}: setup failed: {exc}")
                continue
            except Exception as exc:  # the app raised: a 500 in production
                failures.append(f"{method} {path} as {actor}: the app raised {exc!r}")
                continue
            observed[f"{method} {path}"][actor] = response.status_code
            failures += [f"{method} {path} as {actor}: {p}" for p in _problems(response, expected, path)]
        observed[f"{method} {path}"]["seconds"] = round(time.perf_counter() - started, 2)
    known = [f for f in failures if any(f.startswith(k + " as ") for k in KNOWN_DEFECTS)]
    fixed = [k for k in KNOWN_DEFECTS if not any(f.startswith(k + " as ") for f in failures)]
    unknown = [f for f in failures if f not in known]
    record(f"matrix-observed-{backend}", {"cells": observed})
    record(
        f"matrix-{backend}",
        {
            "routes": len(routes),
            "actors": len(ACTORS),
            "cells_checked": cells,
            "cells_failed": len(unknown),
            "cells_failing_on_known_defects": len(known),
            "known_defects": sorted(KNOWN_DEFECTS),
        },
    )
    assert not unknown, f"{len(unknown)} of {cells} matrix cells are wrong:\n" + "\n".join(unknown)
    assert not fixed, f"known defects now fixed, remove them from KNOWN_DEFECTS: {fixed}"


async def test_lists_never_leak_another_customers_or_cinemas_bookings(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The matrix checks answers by status; lists answer 200 to everyone, so check what is in them."""
    ctx = Ctx(app=app, client=client, world=await build_world(app))
    a_ref = (await ctx.booking_a())["reference"]
    held_ref = (await ctx.booking("customer_a", paid=False))["reference"]
    b_ref = (await ctx.booking("customer_b", paid=True, show=ctx.world.show_y))["reference"]

    async def refs(actor: str, path: str, **params: object) -> set[str]:
        r = await client.get(path, headers=ctx.headers(actor), params=params)  # type: ignore[arg-type]
        assert r.status_code == 200, (actor, path, r.status_code, r.text)
        body = r.json()
        items = body["items"] if isinstance(body, dict) and "items" in body else body
        if isinstance(items, dict):  # the cart: {bookings: [...], total}
            items = items.get("bookings", [])
        return {i["reference"] for i in items}

    api = "/api/v1"
    assert a_ref in await refs("customer_a", f"{api}/bookings")
    assert a_ref in await refs("customer_a", f"{api}/me/bookings")
    assert held_ref in await refs("customer_a", f"{api}/cart")
    for path in (f"{api}/bookings", f"{api}/me/bookings", f"{api}/cart"):
        assert not {a_ref, held_ref} & await refs("customer_b", path), path
    assert b_ref not in await refs("customer_a", f"{api}/bookings")
    assert a_ref in await refs("owner_x", f"{api}/bookings")
    assert b_ref not in await refs("owner_x", f"{api}/bookings")
    assert a_ref not in await refs("owner_y", f"{api}/bookings")
    assert {a_ref, b_ref} <= await refs("admin", f"{api}/bookings")
    # filters cannot widen the view
    assert a_ref not in await refs("owner_y", f"{api}/bookings", showtime_id=ctx.world.show_x.showtime_id)
    assert a_ref not in await refs("customer_b", f"{api}/bookings", showtime_id=ctx.world.show_x.showtime_id)
    # an owner's analytics never include another owner's cinema
    r = await client.get(
        f"{api}/analytics/summary",
        headers=ctx.headers("owner_y"),
        params={"cinema_id": ctx.world.show_x.cinema_id},
    )
    assert r.status_code in (403, 404), r.text
    # one customer's export holds nothing of another's
    export = await client.get(f"{api}/me/export", headers=ctx.headers("customer_b"))
    assert export.status_code == 200
    assert a_ref not in export.text
    assert ctx.world.users["customer_a"].email not in export.text
