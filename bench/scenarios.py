"""The scenarios of one backend: ceiling, db limit, browse, flash sale, checkout, memory.

Each function takes a running `Server` (and the fixture) and returns plain dicts for the report.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bench.seed import BenchFixture, add_showtime, seat_counts
from bench.server import ROOT, Server
from bench.wrk import run_wrk


@dataclass
class Knobs:
    """How long and how hard: `--quick` shrinks every figure for a smoke run."""

    seconds: float = 5.0
    connections: int = 64
    flash_rounds: int = 3  # sell-outs per buyer count (the large crowd does one fewer: it is slow)
    flash_buyers: tuple[int, ...] = (64, 512)
    checkout_buyers: int = 32
    checkout_showtimes: int = 2
    db_limit_seconds: float = 5.0


def run_loadgen(spec: dict[str, Any], timeout: float = 300) -> dict[str, Any]:
    """Run bench.loadgen in its own process with `spec`; its JSON answer."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(spec, fh)
        path = fh.name
    try:
        out = subprocess.run(
            [sys.executable, "-m", "bench.loadgen", path],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    finally:
        Path(path).unlink(missing_ok=True)
    if out.returncode != 0:
        raise RuntimeError(f"loadgen failed: {out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def with_cpu(server: Server, figures: dict[str, Any], cpu_before: float, count: int) -> dict[str, Any]:
    """Add the server's CPU time per request (steadier than rates on a shared, busy machine)."""
    used = server.cpu_seconds() - cpu_before
    figures["server_cpu_us_per_request"] = round(used / count * 1e6, 1) if count else None
    return figures


def ceiling(server: Server, knobs: Knobs) -> dict[str, Any]:
    """GET /healthz with wrk (the ceiling) and with the asyncio client (its own cost, for comparison)."""
    cpu = server.cpu_seconds()
    wrk = run_wrk(server.url + "/healthz", seconds=knobs.seconds, connections=knobs.connections)
    wrk = with_cpu(server, wrk, cpu, wrk["requests"])
    client = run_loadgen(
        {
            "scenario": "ceiling",
            "url": server.url,
            "path": "/healthz",
            "seconds": min(knobs.seconds, 3.0),
            "connections": knobs.connections,
        }
    )
    return {"wrk": wrk, "asyncio_client": client}


SIGNED_IN = "seat_map_signed_in"  # a signed-in caller without seats there: one EXISTS, then the cache


def browse(server: Server, fixture: BenchFixture, knobs: Knobs, token: str) -> dict[str, Any]:
    """The 300-seat seat map (anonymous and signed in) and the showtime listings, with wrk."""
    out = {}
    for name, url in browse_urls(server.url, fixture).items():
        cpu = server.cpu_seconds()
        figures = run_wrk(
            url,
            seconds=knobs.seconds,
            connections=knobs.connections,
            token=token if name == SIGNED_IN else None,
        )
        out[name] = with_cpu(server, figures, cpu, figures["requests"])
    return out


def browse_urls(base: str, fixture: BenchFixture) -> dict[str, str]:
    """The read paths measured by browse and scale."""
    return {
        "seat_map": f"{base}/api/v1/showtimes/{fixture.browse_showtime_id}/seats",
        SIGNED_IN: f"{base}/api/v1/showtimes/{fixture.browse_showtime_id}/seats",
        "showtime_listing": (
            f"{base}/api/v1/showtimes?cinema_id={fixture.cinema_id}&date={fixture.listing_date}"
        ),
        "showtime_listing_day": f"{base}/api/v1/showtimes?date={fixture.listing_date}",
    }


async def flash_sale(
    server: Server,
    engine: AsyncEngine,
    fixture: BenchFixture,
    tokens: list[str],
    *,
    buyers: int,
    rounds: int,
) -> dict[str, Any]:
    """`rounds` sell-outs of a fresh 300-seat showtime by `buyers` concurrent buyers."""
    runs = []
    for _ in range(rounds):
        showtime_id = await add_showtime(engine, fixture)
        cpu = server.cpu_seconds()
        result = run_loadgen(
            {
                "scenario": "flash",
                "url": server.url,
                "showtime_id": showtime_id,
                "seat_ids": fixture.seat_ids,
                "tokens": tokens,
                "buyers": buyers,
                "max_seconds": 120,
            }
        )
        with_cpu(server, result, cpu, result["attempts"])
        counts = await seat_counts(engine, showtime_id)
        taken = counts.get("held", 0) + counts.get("sold", 0)
        result["showtime_id"] = showtime_id
        result["seats_taken_in_db"] = taken
        result["oversold"] = max(0, result["seats_granted"] - taken) + max(0, taken - len(fixture.seat_ids))
        runs.append(result)
    attempts = sum(r["attempts"] for r in runs)
    seconds = sum(r["seconds"] for r in runs)
    return {
        "buyers": buyers,
        "rounds": runs,
        "attempts_per_s": round(attempts / seconds, 1) if seconds else 0.0,
        "server_cpu_us_per_request": round(
            sum(r["server_cpu_us_per_request"] * r["attempts"] for r in runs) / attempts, 1
        )
        if attempts
        else None,
        "p50_ms": max(r["p50_ms"] for r in runs),
        "p99_ms": max(r["p99_ms"] for r in runs),
        "sold_min": min(r["seats_taken_in_db"] for r in runs),
        "oversold": sum(r["oversold"] for r in runs),
        "statuses": _merge(r["statuses"] for r in runs),
    }


async def checkout(
    server: Server, engine: AsyncEngine, fixture: BenchFixture, tokens: list[str], knobs: Knobs
) -> dict[str, Any]:
    """Hold then pay with the test card until `checkout_showtimes` fresh showtimes are sold out."""
    showtime_ids = [await add_showtime(engine, fixture) for _ in range(knobs.checkout_showtimes)]
    cpu = server.cpu_seconds()
    result = run_loadgen(
        {
            "scenario": "checkout",
            "url": server.url,
            "showtime_ids": showtime_ids,
            "seat_ids": {str(sid): fixture.seat_ids for sid in showtime_ids},
            "tokens": tokens,
            "buyers": knobs.checkout_buyers,
            "max_seconds": 180,
        }
    )
    result["server_cpu_us_per_checkout"] = round(
        (server.cpu_seconds() - cpu) / max(1, result["checkouts"]) * 1e6, 1
    )
    sold = 0
    for sid in showtime_ids:
        sold += (await seat_counts(engine, sid)).get("sold", 0)
    result["seats_sold_in_db"] = sold
    return result


def _merge(dicts: Any) -> dict[str, int]:
    merged: dict[str, int] = {}
    for d in dicts:
        for key, value in d.items():
            merged[key] = merged.get(key, 0) + int(value)
    return merged
