"""Turn a seat map (seats with x, y) into rows of cells for the template: seats, aisles and gaps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TYPE_LABELS = {
    "standard": "Standard",
    "premium": "Premium",
    "recliner": "Recliner",
    "wheelchair": "Wheelchair space",
    "companion": "Companion seat",
}


@dataclass
class SeatRow:
    """One row of the plan: its label and a cell per column (a seat dict, or None for a gap)."""

    label: str
    cells: list[dict[str, Any] | None] = field(default_factory=list)

    @property
    def seats(self) -> int:
        """How many seats the row has."""
        return sum(1 for cell in self.cells if cell is not None)


def build_grid(seats: list[dict[str, Any]]) -> list[SeatRow]:
    """Rows front first, each with one cell per column so aisles line up (no inline styles needed)."""
    if not seats:
        return []
    width = max(s["x"] for s in seats) + 1
    by_y: dict[int, dict[int, dict[str, Any]]] = {}
    for seat in seats:
        by_y.setdefault(seat["y"], {})[seat["x"]] = seat
    rows = []
    for y in range(max(by_y) + 1):
        found = by_y.get(y, {})
        label = next(iter(found.values()))["row"] if found else ""
        rows.append(SeatRow(label=label, cells=[found.get(x) for x in range(width)]))
    return rows


def seat_label(seat: dict[str, Any]) -> str:
    """What a screen reader says for a seat, e.g. "Row C, seat 7, Premium"."""
    return f"Row {seat['row']}, seat {seat['number']}, {TYPE_LABELS.get(seat['type'], seat['type'])}"
