"""Profile one route in-process: `python -m bench.profile [--path P] [--n N] [--hold]`.

Calls the ASGI app directly (no sockets, no client) with production settings on a fresh PostgreSQL
database holding the bench fixture, measures the app's own cost per request (wall and CPU time, which
on a busy shared machine is the steadier figure) and prints the top of a cProfile of N requests.
`--hold` profiles `POST /api/v1/bookings` (a fresh showtime per 300 seats) instead of a GET.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import random
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event

from bench.seed import (
    add_showtime,
    create_buyers,
    create_fixture,
    engine_for,
    migrate,
    mint_tokens,
    recreate_pg_database,
)
from boxoffice.config import Settings
from boxoffice.main import create_app

PROFILE_DB = "boxoffice_bench_profile"


async def call(
    app: Any, method: str, path: str, *, body: bytes = b"", token: str | None = None
) -> tuple[int, bytes]:
    """One request straight into the ASGI app; (status, body)."""
    raw_path, _, query = path.partition("?")
    headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    if body:
        headers.append((b"content-length", str(len(body)).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "root_path": "",
        "state": {},
    }
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def main_async(args: argparse.Namespace) -> None:
    """Set up, warm up, time and profile."""
    var_dir = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    url = (
        f"sqlite+aiosqlite:///{var_dir / 'profile.db'}"
        if args.sqlite
        else await recreate_pg_database(PROFILE_DB)
    )
    await migrate(url)
    secret = secrets.token_urlsafe(48)
    settings = Settings(
        env="production",
        database_url=url,
        secret_key=secret,
        var_dir=var_dir,
        log_level="WARNING",
        access_token_minutes=240,
    )
    engine = engine_for(url)
    fixture = await create_fixture(engine)
    tokens = mint_tokens(settings, await create_buyers(engine, count=2 * args.n + 50))
    app = create_app(settings, run_background=False)
    path = args.path.format(
        showtime=fixture.browse_showtime_id, cinema=fixture.cinema_id, date=fixture.listing_date
    )
    rng = random.Random(1)
    state = {"showtime": 0, "free": list[int]()}

    async def one(i: int) -> int:
        if not args.hold:
            status, _ = await call(app, "GET", path, token=tokens[i] if args.auth else None)
            return status
        if len(state["free"]) < 4:
            state["showtime"] = await add_showtime(engine, fixture)
            state["free"] = list(fixture.seat_ids)
        seats = rng.sample(state["free"], rng.randint(1, 4))
        for s in seats:
            state["free"].remove(s)
        body = orjson.dumps({"showtime_id": state["showtime"], "seat_ids": seats})
        status, answer = await call(app, "POST", "/api/v1/bookings", body=body, token=tokens[i])
        if status != 201:
            print(status, answer[:200])
        return status

    async with app.router.lifespan_context(app):
        for i in range(20):
            await one(i)
        if args.sql:
            await print_statements(app, lambda: one(19))
        wall = time.perf_counter()
        cpu = time.process_time()
        statuses = [await one(20 + i) for i in range(args.n)]
        cpu = time.process_time() - cpu
        wall = time.perf_counter() - wall
        if args.pyinstrument:
            from pyinstrument import Profiler

            tree = Profiler(interval=0.0002, async_mode="enabled")
            tree.start()
            for i in range(args.n):
                await one(20 + args.n + i)
            tree.stop()
        else:
            profiler = cProfile.Profile(time.process_time)  # CPU time: waits on the database do not count
            profiler.enable()
            for i in range(args.n):
                await one(20 + args.n + i)
            profiler.disable()
    await engine.dispose()
    label = "POST /api/v1/bookings" if args.hold else path
    print(f"{label}: {args.n} requests, statuses {sorted(set(statuses))}")
    print(
        f"  wall {wall / args.n * 1e6:.0f} us/request, CPU {cpu / args.n * 1e6:.0f} us/request (unprofiled)"
    )
    if args.pyinstrument:
        print(tree.output_text(unicode=False, color=False, show_all=bool(os.environ.get("PYI_ALL"))))
        return
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
    print(out.getvalue())


async def print_statements(app: Any, request: Any) -> None:
    """Print the SQL statements (and how many) that one more request sends to the database."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(" ".join(statement.split())[:160])

    sync_engine = app.state.engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", record)
    try:
        await request()
    finally:
        event.remove(sync_engine, "before_cursor_execute", record)
    print(f"one request: {len(statements)} statements (plus BEGIN/COMMIT and pool pings)")
    for n, statement in enumerate(statements, 1):
        print(f"  {n:2}. {statement}")


def main() -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--path", default="/api/v1/showtimes/{showtime}/seats")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--hold", action="store_true")
    parser.add_argument("--auth", action="store_true", help="send a bearer token with GETs")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead of PostgreSQL")
    parser.add_argument("--sql", action="store_true", help="print the statements of one request first")
    parser.add_argument("--pyinstrument", action="store_true", help="a pyinstrument call tree instead")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=30)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
