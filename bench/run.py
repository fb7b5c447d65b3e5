"""`python -m bench` / `make bench`: every scenario on PostgreSQL (2 workers) and SQLite (1 process).

Prints one table and writes the full figures to bench/results/bench-<UTC time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import secrets
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import large
from bench.dblimit import pg_claim_rate, sqlite_claim_rate
from bench.report import render_table
from bench.scenarios import SIGNED_IN, Knobs, browse, browse_urls, ceiling, checkout, flash_sale
from bench.seed import (
    BenchFixture,
    add_showtime,
    create_buyers,
    create_fixture,
    engine_for,
    load_demo_data,
    migrate,
    mint_tokens,
    recreate_pg_database,
)
from bench.server import Server, server_env
from bench.wrk import ensure_wrk, run_wrk
from boxoffice.config import Settings

RESULTS = Path(__file__).with_name("results")
SMALL_PG_DB = "boxoffice_bench"


def _settings(url: str, secret: str, var_dir: Path) -> Settings:
    return Settings(
        env="production",
        database_url=url,
        secret_key=secret,
        var_dir=var_dir,
        access_token_minutes=240,
        log_level="WARNING",
    )


async def prepare(url: str, secret: str, var_dir: Path, buyers: int) -> tuple[BenchFixture, list[str]]:
    """Migrate, load the demo data and the bench fixture, create buyers; returns the fixture and tokens."""
    await migrate(url)
    settings = _settings(url, secret, var_dir)
    await load_demo_data(settings)
    engine = engine_for(url)
    try:
        fixture = await create_fixture(engine)
        user_ids = await create_buyers(engine, count=buyers)
    finally:
        await engine.dispose()
    return fixture, mint_tokens(settings, user_ids)


async def run_backend(
    backend: str, knobs: Knobs, work: Path, *, with_scale: bool, log: Path
) -> dict[str, Any]:
    """Every scenario on one backend."""
    secret = secrets.token_urlsafe(48)
    var_dir = work / f"var-{backend}"
    var_dir.mkdir(parents=True, exist_ok=True)
    if backend == "postgresql":
        url = await recreate_pg_database(SMALL_PG_DB)
        workers = 2
    else:
        url = f"sqlite+aiosqlite:///{work / 'bench.db'}"
        workers = 1
    buyer_count = 700 * max(1, knobs.flash_rounds) * len(knobs.flash_buyers) + 2000
    t0 = time.perf_counter()
    fixture, tokens = await prepare(url, secret, var_dir, buyer_count)
    out: dict[str, Any] = {
        "backend": backend,
        "workers": workers,
        "setup_s": round(time.perf_counter() - t0, 1),
    }

    engine = engine_for(url)
    try:
        claim_showtime = await add_showtime(engine, fixture)
        if backend == "postgresql":
            out["db_limit"] = await pg_claim_rate(
                url.replace("+asyncpg", ""),
                showtime_id=claim_showtime,
                seat_ids=fixture.seat_ids,
                buyers=64,
                pool_size=20,
                seconds=knobs.db_limit_seconds,
            )
        else:
            out["db_limit"] = await sqlite_claim_rate(
                str(work / "bench.db"),
                showtime_id=claim_showtime,
                seat_ids=fixture.seat_ids,
                buyers=64,
                seconds=knobs.db_limit_seconds,
            )
        env = server_env(database_url=url, secret=secret, var_dir=var_dir)
        with Server(env, workers=workers, log=log) as server:
            out["ceiling"] = ceiling(server, knobs)
            out["browse"] = browse(server, fixture, knobs, _take(tokens, 1)[0])
            out["flash"] = [
                await flash_sale(
                    server,
                    engine,
                    fixture,
                    _take(tokens, 700 * knobs.flash_rounds),
                    buyers=b,
                    rounds=knobs.flash_rounds if b <= 64 else max(1, knobs.flash_rounds - 1),
                )
                for b in knobs.flash_buyers
            ]
            out["checkout"] = await checkout(server, engine, fixture, _take(tokens, 1500), knobs)
            out["memory_mb"] = server.rss_mb()
            out["children_memory_mb"] = server.children_rss_mb()
    finally:
        await engine.dispose()

    if with_scale:
        out["scale"] = await scale(backend, knobs, work, log=log, small=out["browse"])
    return out


def _take(tokens: list[str], n: int) -> list[str]:
    """The next n unused tokens (each buyer account is used for one purchase at most)."""
    taken = tokens[:n]
    del tokens[:n]
    return taken


async def scale(
    backend: str, knobs: Knobs, work: Path, *, log: Path, small: dict[str, Any]
) -> dict[str, Any]:
    """The browse calls on the large database, as ratios to the same calls on the demo database."""
    secret = secrets.token_urlsafe(48)
    var_dir = work / f"var-{backend}-large"
    var_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    built = await large.ensure_large_database(backend, work, secret=secret, var_dir=var_dir)
    result: dict[str, Any] = {"setup_s": round(time.perf_counter() - t0, 1), "database": built.describe()}
    engine = engine_for(built.url)
    try:
        settings = _settings(built.url, secret, var_dir)
        token = mint_tokens(settings, await create_buyers(engine, count=1, prefix="scale"))[0]
    finally:
        await engine.dispose()
    env = server_env(database_url=built.url, secret=secret, var_dir=var_dir)
    workers = 2 if backend == "postgresql" else 1
    calls: dict[str, Any] = {}
    with Server(env, workers=workers, log=log) as server:
        for name, url in browse_urls(server.url, built.fixture).items():
            # The demo figures were taken on a warm server; warm this one the same way (caches, pool).
            run_wrk(url, seconds=1, connections=knobs.connections, token=token if name == SIGNED_IN else None)
            figures = run_wrk(
                url,
                seconds=knobs.seconds,
                connections=knobs.connections,
                token=token if name == SIGNED_IN else None,
            )
            base = small[name]
            figures["p50_ratio"] = round(figures["p50_ms"] / base["p50_ms"], 2) if base["p50_ms"] else None
            figures["rps_ratio"] = round(base["rps"] / figures["rps"], 2) if figures["rps"] else None
            calls[name] = figures
        result["memory_mb"] = server.rss_mb()
    result["calls"] = calls
    return result


def main() -> None:
    """Parse the options, run the backends, print the table, write the JSON file."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs (smoke test of the harness)")
    parser.add_argument("--backend", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--no-scale", action="store_true", help="skip the large-database scenario")
    parser.add_argument("--sqlite-scale", action="store_true", help="also build the large SQLite database")
    args = parser.parse_args()
    knobs = Knobs()
    if args.quick:
        knobs = Knobs(seconds=2.0, flash_rounds=1, checkout_showtimes=1, db_limit_seconds=2.0)
    ensure_wrk()
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    log = RESULTS / f"server-{stamp}.log"
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    report: dict[str, Any] = {
        "started_at": stamp,
        "machine": {"cpus": _cpus(), "python": platform.python_version(), "platform": platform.platform()},
        "knobs": knobs.__dict__,
        "backends": {},
    }
    with tempfile.TemporaryDirectory(prefix="boxoffice-bench-") as tmp:
        for backend in backends:
            with_scale = not args.no_scale and (backend == "postgresql" or args.sqlite_scale)
            report["backends"][backend] = asyncio.run(
                run_backend(backend, knobs, Path(tmp), with_scale=with_scale, log=log)
            )
    path = RESULTS / f"bench-{stamp}.json"
    path.write_text(json.dumps(report, indent=2))
    print(render_table(report))
    print(f"\nfull figures: {path}\nserver log: {log}")


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    main()
