"""One table from a bench report: each figure, its ratio, the target (PostgreSQL) and whether it is met."""

from __future__ import annotations

from typing import Any

SEAT_SLOTS = 300


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else 0.0


def _verdict(ok: bool | None) -> str:
    return "" if ok is None else ("met" if ok else "MISSED")


def rows_for(backend: str, data: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(scenario, figure, ratio, target, verdict) rows of one backend."""
    pg = backend == "postgresql"
    rows: list[tuple[str, str, str, str, str]] = []
    ceil = data["ceiling"]["wrk"]["rps"]
    client = data["ceiling"]["asyncio_client"]["rps"]
    ceil_cpu = data["ceiling"]["wrk"].get("server_cpu_us_per_request") or 0.0
    rows.append(("ceiling /healthz (wrk)", f"{ceil:,.0f} req/s, server CPU {ceil_cpu} us/req", "1", "", ""))
    rows.append(("  asyncio client, same route", f"{client:,.0f} req/s", f"{_ratio(client, ceil)}", "", ""))
    dbl = data["db_limit"]
    rows.append(("db limit: raw claim loop", f"{dbl['claims_per_s']:,.0f} claims/s", "1", "", ""))
    for name, label, target in (
        ("seat_map", "seat map (300 seats)", 0.5),
        ("seat_map_signed_in", "seat map, signed in (no seats there)", None),
        ("showtime_listing", "showtime listing (cinema, day)", 0.4),
        ("showtime_listing_day", "showtime listing (all, day)", None),
    ):
        b = data["browse"][name]
        r = _ratio(b["rps"], ceil)
        ok = (r >= target and b["non2xx"] == 0) if (pg and target is not None) else None
        cpu = b.get("server_cpu_us_per_request") or 0.0
        fig = f"{b['rps']:,.0f} req/s p50 {b['p50_ms']} p99 {b['p99_ms']} ms, CPU {cpu} us/req"
        if b["non2xx"]:
            fig += f" ({b['non2xx']} non-2xx!)"
        cpu_ratio = f" (CPU {_ratio(ceil_cpu, cpu)})" if cpu else ""
        rows.append(
            (label, fig, f"{r} of ceiling{cpu_ratio}", f">= {target}" if target else "", _verdict(ok))
        )
    for flash in data["flash"]:
        r = _ratio(flash["attempts_per_s"], dbl["claims_per_s"])
        fig = (
            f"{flash['attempts_per_s']:,.0f} holds/s p50 {flash['p50_ms']} p99 {flash['p99_ms']} ms, "
            f"sold {flash['sold_min']}/{SEAT_SLOTS}, oversold {flash['oversold']}, "
            f"CPU {flash.get('server_cpu_us_per_request')} us/hold"
        )
        target = ">= 0.35, p99 < 150" if flash["buyers"] == 64 else ">= 0.35"
        ok = None
        if pg:
            ok = r >= 0.35 and flash["sold_min"] == SEAT_SLOTS and flash["oversold"] == 0
            if flash["buyers"] == 64:
                ok = ok and flash["p99_ms"] < 150
        rows.append((f"flash sale, {flash['buyers']} buyers", fig, f"{r} of db limit", target, _verdict(ok)))
    co = data["checkout"]
    base = data["flash"][0]["attempts_per_s"] if data["flash"] else 0.0
    rows.append(
        (
            "checkout: hold -> pay -> tickets",
            f"{co['checkouts_per_s']:,.0f} checkouts/s ({co['tickets_per_s']:,.0f} tickets/s), "
            f"pay p99 {co['pay']['p99_ms']} ms",
            f"{_ratio(co['checkouts_per_s'], base)} of flash",
            "",
            "",
        )
    )
    scale = data.get("scale")
    if scale:
        for name, call in scale["calls"].items():
            ratio = call.get("p50_ratio")
            ok = (
                (ratio is not None and ratio <= 1.3)
                if pg and name in ("seat_map", "showtime_listing")
                else None
            )
            rows.append(
                (
                    f"scale: {name}",
                    f"p50 {call['p50_ms']} ms, {call['rps']:,.0f} req/s",
                    f"{ratio} x demo p50 ({call.get('rps_ratio')} x rps)",
                    "<= 1.3" if ok is not None else "",
                    _verdict(ok),
                )
            )
    mem = data.get("memory_mb", [])
    worst = max(mem, default=0.0)
    rows.append(
        (
            "memory: RSS per worker",
            ", ".join(f"{m} MB" for m in mem),
            "",
            "< 150 MB",
            _verdict(worst < 150 if pg else None),
        )
    )
    children = data.get("children_memory_mb")
    if children is not None:
        rows.append(
            (
                "  their child processes",
                ", ".join(f"{m} MB" for m in children) or "none",
                "(email rendering)",
                "",
                "",
            )
        )
    return rows


def render_table(report: dict[str, Any]) -> str:
    """The report as an aligned text table, one section per backend."""
    lines: list[str] = []
    for backend, data in report["backends"].items():
        lines.append(f"\n== {backend}, {data['workers']} worker(s) ==")
        rows = [("scenario", "figure", "ratio", "target", ""), *rows_for(backend, data)]
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        for row in rows:
            lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    return "\n".join(lines)
