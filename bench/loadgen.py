"""The load generator for the write scenarios, run as its own process: `python -m bench.loadgen SPEC.json`.

Scenarios (the spec's "scenario" key):
- ceiling: GET one path on N keep-alive connections for D seconds (this client's own ceiling);
- flash: B concurrent buyers, each with its own bearer token, hold random 1-4 seats of one showtime
  until every seat is taken; buyers share what they know (the seats of every successful hold), as a
  crowd watching a live seat map would, so conflicts are real races, not blind guesses;
- checkout: buyers hold 1-4 seats and pay with the test card, until the showtimes are sold out.

It prints one JSON object on stdout.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

from bench.httpclient import Connection

HOLD_PATH = "/api/v1/bookings"
TEST_CARD = "4242424242424242"


def percentile(values: list[float], pct: float) -> float:
    """The pct-th percentile (nearest rank) of `values`, 0.0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def latency_summary(values: list[float]) -> dict[str, float]:
    """p50/p90/p99/max of latencies given in seconds, in milliseconds."""
    return {
        "p50_ms": round(percentile(values, 50) * 1000, 2),
        "p90_ms": round(percentile(values, 90) * 1000, 2),
        "p99_ms": round(percentile(values, 99) * 1000, 2),
        "max_ms": round(max(values, default=0.0) * 1000, 2),
    }


async def ceiling(spec: dict[str, Any]) -> dict[str, Any]:
    """GET spec['path'] as fast as the connections allow for spec['seconds']."""
    deadline = time.perf_counter() + float(spec["seconds"])
    latencies: list[float] = []
    statuses: Counter[int] = Counter()

    async def worker() -> None:
        conn = Connection(spec["url"])
        try:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                status, _ = await conn.request("GET", spec["path"])
                latencies.append(time.perf_counter() - t0)
                statuses[status] += 1
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(int(spec["connections"]))))
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 3),
        "rps": round(len(latencies) / elapsed, 1),
        "statuses": dict(statuses),
        **latency_summary(latencies),
    }


@dataclass
class Sale:
    """What the buyers of one showtime know and did."""

    showtime_id: int
    seat_ids: list[int]
    claimed: set[int] = field(default_factory=set)
    granted: int = 0  # seats in successful holds (more than the seat count means overselling)
    bookings: list[str] = field(default_factory=list)

    def free(self) -> list[int]:
        """Seats nobody is known to hold."""
        return [s for s in self.seat_ids if s not in self.claimed]


@dataclass
class Tally:
    """Counters and latencies of one scenario run."""

    hold_latency: list[float] = field(default_factory=list)
    pay_latency: list[float] = field(default_factory=list)
    hold_status: Counter[str] = field(default_factory=Counter)
    pay_status: Counter[str] = field(default_factory=Counter)
    checkouts: int = 0
    tickets: int = 0
    errors: list[str] = field(default_factory=list)


def _code(status: int, body: bytes) -> str:
    if status < 400:
        return str(status)
    try:
        return f"{status} {orjson.loads(body).get('code', '')}"
    except (orjson.JSONDecodeError, AttributeError):
        return str(status)


async def _hold(
    conn: Connection, sale: Sale, token: str, tally: Tally, rng: random.Random
) -> tuple[str | None, int]:
    """One hold attempt on random free seats; returns (booking reference or None, seats)."""
    free = sale.free()
    if not free:
        return None, 0
    seats = rng.sample(free, min(rng.randint(1, 4), len(free)))
    t0 = time.perf_counter()
    status, body = await conn.request(
        "POST",
        HOLD_PATH,
        json={"showtime_id": sale.showtime_id, "seat_ids": seats},
        headers={"authorization": f"Bearer {token}"},
    )
    tally.hold_latency.append(time.perf_counter() - t0)
    tally.hold_status[_code(status, body)] += 1
    if status != 201:
        if status >= 500 and len(tally.errors) < 5:
            tally.errors.append(body[:300].decode(errors="replace"))
        return None, 0
    sale.claimed.update(seats)
    sale.granted += len(seats)
    reference = str(orjson.loads(body).get("reference", ""))
    sale.bookings.append(reference)
    return reference, len(seats)


async def _run_buyers(spec: dict[str, Any], sales: list[Sale], *, pay: bool) -> tuple[Tally, float]:
    token_iter = iter(list(spec["tokens"]))
    deadline = time.perf_counter() + float(spec.get("max_seconds", 60))
    tally = Tally()
    pay_body = spec.get("pay_body") or {"method": "card", "card_number": TEST_CARD}

    async def buyer(index: int) -> None:
        rng = random.Random(index)
        conn = Connection(spec["url"])
        token = next(token_iter)
        try:
            while time.perf_counter() < deadline:
                open_sales = [s for s in sales if s.free()]
                if not open_sales:
                    return
                sale = open_sales[index % len(open_sales)]
                reference, seats = await _hold(conn, sale, token, tally, rng)
                if reference is None:
                    continue
                holder = token
                # A fresh customer for the next purchase: per-customer hold limits stay out of the way.
                token = next(token_iter, token)
                if pay:
                    await _pay(conn, reference, holder, seats, pay_body, tally)
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(buyer(i) for i in range(int(spec["buyers"]))))
    return tally, time.perf_counter() - started


async def _pay(
    conn: Connection, reference: str, token: str, seats: int, body: dict[str, Any], tally: Tally
) -> None:
    t0 = time.perf_counter()
    status, answer = await conn.request(
        "POST", f"{HOLD_PATH}/{reference}/pay", json=body, headers={"authorization": f"Bearer {token}"}
    )
    tally.pay_latency.append(time.perf_counter() - t0)
    tally.pay_status[_code(status, answer)] += 1
    if status == 200:
        tally.checkouts += 1
        tally.tickets += seats
    elif status >= 500 and len(tally.errors) < 5:
        tally.errors.append(answer[:300].decode(errors="replace"))


async def flash(spec: dict[str, Any]) -> dict[str, Any]:
    """B buyers against one showtime until it is sold out (or max_seconds)."""
    sale = Sale(int(spec["showtime_id"]), [int(s) for s in spec["seat_ids"]])
    tally, elapsed = await _run_buyers(spec, [sale], pay=False)
    attempts = len(tally.hold_latency)
    return {
        "buyers": spec["buyers"],
        "attempts": attempts,
        "seconds": round(elapsed, 3),
        "attempts_per_s": round(attempts / elapsed, 1) if elapsed else 0.0,
        "holds": len(sale.bookings),
        "seats_granted": sale.granted,
        "seats_known_free": len(sale.free()),
        "statuses": dict(tally.hold_status),
        "errors": tally.errors,
        **latency_summary(tally.hold_latency),
    }


async def checkout(spec: dict[str, Any]) -> dict[str, Any]:
    """Buyers hold and pay across the given showtimes until they are sold out."""
    sales = [Sale(int(sid), [int(s) for s in spec["seat_ids"][str(sid)]]) for sid in spec["showtime_ids"]]
    tally, elapsed = await _run_buyers(spec, sales, pay=True)
    return {
        "buyers": spec["buyers"],
        "seconds": round(elapsed, 3),
        "checkouts": tally.checkouts,
        "tickets": tally.tickets,
        "checkouts_per_s": round(tally.checkouts / elapsed, 1) if elapsed else 0.0,
        "tickets_per_s": round(tally.tickets / elapsed, 1) if elapsed else 0.0,
        "hold_statuses": dict(tally.hold_status),
        "pay_statuses": dict(tally.pay_status),
        "seats_granted": sum(s.granted for s in sales),
        "errors": tally.errors,
        "hold": latency_summary(tally.hold_latency),
        "pay": latency_summary(tally.pay_latency),
    }


SCENARIOS = {"ceiling": ceiling, "flash": flash, "checkout": checkout}


def main() -> None:
    """Read the spec file named on the command line, run its scenario, print the result as JSON."""
    with open(sys.argv[1], "rb") as fh:
        spec = orjson.loads(fh.read())
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvicorn[standard] brings uvloop
        pass
    result = asyncio.run(SCENARIOS[spec["scenario"]](spec))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
