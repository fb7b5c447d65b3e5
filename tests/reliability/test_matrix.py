"""The authorization matrix, checked: every route of the app x six actors, on SQLite and PostgreSQL.

The route list comes from the app itself (`app.routes`), so a new route without a row in
matrix_table.MATRIX fails test_every_route_has_a_row. Denials must be problem+json (HTML pages
excepted) and 401s must carry `WWW-Authenticate: Bearer`.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from boxoffice.main import create_app
from tests.conftest import make_settings
from tests.factories.accounts import auth_headers, make_user
from tests.reliability.actors import ACTORS, build_world
from tests.reliability.figures import record
from tests.reliability.matrix_ctx import Ctx, Row, judge, resolve
from tests.reliability.matrix_table import MATRIX

_PARAM = re.compile(r"\{[^}]+\}")


def shape(key: str) -> str:
    """`METHOD /path/{x}` with every path parameter written `{}`."""
    return _PARAM.sub("{}", key)


def app_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(METHOD, path template) of every HTTP route of the app (HEAD folded into GET)."""
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        if isinstance(route, Mount):
            found.add(("GET", route.path + "/{path}"))
            continue
        if isinstance(route, APIRoute | Route):
            for method in route.methods or set():
                if method != "HEAD":
                    found.add((method, route.path))
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
        user = await make_user(ctx.app, role=role)
        headers = auth_headers(ctx.app, user)
    ids = await resolve(row.ids, ctx, actor) if row.ids is not None else ()
    url = _fill(path, tuple(ids))
    kwargs: dict[str, object] = {"headers": headers}
    if row.json is not None:
        kwargs["json"] = await resolve(row.json, ctx, actor)
    if row.form is not None:
        kwargs["data"] = await resolve(row.form, ctx, actor)
    if row.query is not None:
        kwargs["params"] = await resolve(row.query, ctx, actor)
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
    cells = 0
    routes = app_routes(app)
    for method, path in routes:
        entry = ROWS.get(shape(f"{method} {path}"))
        if entry is None:
            continue  # reported by test_every_route_has_a_row
        _key, row = entry
        for actor, expected in row.expected().items():
            cells += 1
            try:
                response = await _call(ctx, method, path, row, actor)
            except AssertionError as exc:
                failures.append(f"{method} {path} as {actor}: setup failed: {exc}")
                continue
            failures += [f"{method} {path} as {actor}: {p}" for p in _problems(response, expected, path)]
    record(
        f"matrix-{backend}",
        {"routes": len(routes), "actors": len(ACTORS), "cells_checked": cells, "cells_failed": len(failures)},
    )
    assert not failures, f"{len(failures)} of {cells} matrix cells are wrong:\n" + "\n".join(failures)
