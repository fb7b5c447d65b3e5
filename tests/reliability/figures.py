"""Figures of the last reliability run, written to test-output/reliability/ for docs/reliability.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-output" / "reliability"


def record(name: str, figures: dict[str, Any]) -> None:
    """Merge `figures` into test-output/reliability/<name>.json."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    current: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    current.update(figures)
    path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
