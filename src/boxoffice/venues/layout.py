"""Seat layouts: rows of text (front row first) or an explicit seat list, turned into seats.

Letters: `A` standard, `P` premium, `R` recliner, `W` wheelchair space, `C` companion seat, `_` gap.
Each text row is one line of the plan (y); each character one column (x). A row made only of gaps is
a cross aisle: it takes a line on the plan but no row label. Rows with seats are labelled A, B, ... Z,
AA, AB, ...; seats are numbered from 1, left to right, gaps skipped.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

from boxoffice.errors import Unprocessable
from boxoffice.venues.models import SeatType

LETTERS: dict[str, SeatType] = {
    "A": SeatType.standard,
    "P": SeatType.premium,
    "R": SeatType.recliner,
    "W": SeatType.wheelchair,
    "C": SeatType.companion,
}
GAP = "_"
MAX_ROWS = 60
MAX_COLUMNS = 80
MAX_SEATS = 1500


class LayoutError(Unprocessable):
    """A seat layout that cannot be read; the message names the row and column."""

    code = "invalid_layout"
    title = "Invalid seat layout"


@dataclass(frozen=True, slots=True)
class SeatSpec:
    """One seat of a parsed layout."""

    row: str
    number: int
    x: int
    y: int
    type: SeatType


def row_label(index: int) -> str:
    """The label of the `index`-th seated row (0 -> A, 25 -> Z, 26 -> AA)."""
    letters = string.ascii_uppercase
    if index < len(letters):
        return letters[index]
    return letters[index // len(letters) - 1] + letters[index % len(letters)]


def parse_layout(rows: Sequence[str]) -> list[SeatSpec]:
    """Turn rows of text into seats, or raise LayoutError naming the faulty row and column."""
    if not rows:
        raise LayoutError("The layout has no rows.")
    if len(rows) > MAX_ROWS:
        raise LayoutError(f"The layout has {len(rows)} rows; at most {MAX_ROWS} are allowed.")
    seats: list[SeatSpec] = []
    seated_rows = 0
    for y, text in enumerate(rows):
        line = y + 1
        if len(text) > MAX_COLUMNS:
            raise LayoutError(f"Row {line} has {len(text)} columns; at most {MAX_COLUMNS} are allowed.")
        label = row_label(seated_rows)
        number = 0
        for x, char in enumerate(text):
            if char == GAP:
                continue
            seat_type = LETTERS.get(char)
            if seat_type is None:
                raise LayoutError(
                    f"Row {line}, column {x + 1}: unknown seat letter {char!r} "
                    "(use A, P, R, W, C or _ for a gap).",
                    extra={"row": line, "column": x + 1},
                )
            number += 1
            seats.append(SeatSpec(row=label, number=number, x=x, y=y, type=seat_type))
        if number:
            seated_rows += 1
    _check_size(seats)
    return seats


def seats_from_list(items: Sequence[SeatSpec]) -> list[SeatSpec]:
    """Check an explicit seat list: unique (row, number) and unique (x, y)."""
    names: set[tuple[str, int]] = set()
    places: set[tuple[int, int]] = set()
    for index, seat in enumerate(items):
        if (seat.row, seat.number) in names:
            raise LayoutError(
                f"Seat {index + 1}: {seat.row}{seat.number} appears twice.", extra={"seat": index + 1}
            )
        if (seat.x, seat.y) in places:
            raise LayoutError(
                f"Seat {index + 1}: position x={seat.x}, y={seat.y} is already taken.",
                extra={"seat": index + 1},
            )
        names.add((seat.row, seat.number))
        places.add((seat.x, seat.y))
    _check_size(list(items))
    return sorted(items, key=lambda s: (s.y, s.x))


def render_layout(seats: Sequence[SeatSpec]) -> list[str]:
    """The rows-of-text form of a seat list (the inverse of parse_layout for text layouts)."""
    if not seats:
        return []
    codes = {v: k for k, v in LETTERS.items()}
    height = max(s.y for s in seats) + 1
    width = max(s.x for s in seats) + 1
    grid = [[GAP] * width for _ in range(height)]
    for seat in seats:
        grid[seat.y][seat.x] = codes[seat.type]
    return ["".join(line).rstrip(GAP) for line in grid]


def _check_size(seats: Sequence[SeatSpec]) -> None:
    if not seats:
        raise LayoutError("The layout has no seats.")
    if len(seats) > MAX_SEATS:
        raise LayoutError(f"The layout has {len(seats)} seats; at most {MAX_SEATS} are allowed.")
