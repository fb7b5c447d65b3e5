"""Figures of the last reliability run, written to test-output/reliability/ for docs/reliability.md."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-output" / "reliability"


def record(name: str, figures: dict[str, Any]) -> None:
    """Merge `figures` into test-output/reliability/<name>.json (under a file lock, written atomically:
    the suite runs in several pytest-xdist workers)."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    with (OUT / f".{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        current.update(figures)
        partial = path.with_suffix(f".{os.getpid()}.partial")
        partial.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
        partial.replace(path)


def summary() -> dict[str, Any]:
    """The headline figures of the last run, read back from test-output/reliability/."""

    def load(name: str) -> dict[str, Any]:
        path = OUT / f"{name}.json"
        return dict(json.loads(path.read_text())) if path.exists() else {}

    fuzz = {b: load(f"fuzz-{b}") for b in ("sqlite", "postgres")}
    matrix = {b: load(f"matrix-{b}") for b in ("sqlite", "postgres")}
    attacks = load("attacks")
    faults = load("faults-inprocess")
    return {
        "operations_fuzzed": {b: f.get("operations_fuzzed", 0) for b, f in fuzz.items()},
        "examples_run": {b: f.get("examples_run", 0) for b, f in fuzz.items()},
        "fuzz_answers_5xx": {b: f.get("answers_5xx", 0) for b, f in fuzz.items()},
        "matrix_cells_checked": {b: m.get("cells_checked", 0) for b, m in matrix.items()},
        "matrix_routes": {b: m.get("routes", 0) for b, m in matrix.items()},
        "attack_requests": attacks.get("total", 0),
        "attack_requests_by_kind": attacks.get("requests", {}),
        "faults_injected": sorted(faults)
        + [n for n in ("postgres-restart", "worker-kill") if load(f"faults-{n}")],
        "postgres_restart": load("faults-postgres-restart"),
        "worker_kill": load("faults-worker-kill"),
        "backup": load("backup"),
    }


if __name__ == "__main__":  # `python -m tests.reliability.figures`
    print(json.dumps(summary(), indent=2, sort_keys=True))  # noqa: T201
