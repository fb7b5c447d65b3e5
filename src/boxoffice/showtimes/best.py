"""Best available seats: the pure algorithm behind `GET /showtimes/{id}/seats/best` and booking by count.

A candidate is N free seats side by side in one row (consecutive x positions: an aisle breaks a block).
Candidates are ranked by a score tuple, smallest first:

1. stranded: how many single empty seats the block would leave between itself and a taken seat,
   an aisle or the row's end (a lone seat nobody buys);
2. distance: 2 x the distance of the row from the "sweet spot" (two thirds of the way back) plus the
   distance of the block's centre from the screen's centre line, both in sixths of a seat;
3. row (y), then first seat (x): deterministic tie-breaks.

Wheelchair spaces and companion seats are offered only when `accessible=True`; then the block must hold
at least one wheelchair space, and (for N >= 2) each wheelchair space is paired with an adjacent
companion seat of the block.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

ACCESSIBLE_TYPES = frozenset({"wheelchair", "companion"})

Score = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class BestSeat:
    """What the algorithm needs to know about one seat of a showtime."""

    seat_id: int
    row: str
    number: int
    x: int
    y: int
    seat_type: str
    free: bool


@dataclass(frozen=True, slots=True)
class _Geometry:
    ideal_y6: int  # 6 x the ideal row position
    centre_x2: int  # 2 x the centre line


def _geometry(seats: Sequence[BestSeat]) -> _Geometry:
    ys = [s.y for s in seats]
    xs = [s.x for s in seats]
    min_y, max_y = min(ys), max(ys)
    return _Geometry(ideal_y6=6 * min_y + 4 * (max_y - min_y), centre_x2=min(xs) + max(xs))


def _rows(seats: Sequence[BestSeat]) -> dict[int, list[BestSeat]]:
    rows: dict[int, list[BestSeat]] = defaultdict(list)
    for seat in seats:
        rows[seat.y].append(seat)
    for line in rows.values():
        line.sort(key=lambda s: s.x)
    return rows


def _eligible(seat: BestSeat, accessible: bool) -> bool:
    return seat.free and (accessible or seat.seat_type not in ACCESSIBLE_TYPES)


def _pairs_ok(block: Sequence[BestSeat], count: int) -> bool:
    """Accessible blocks: at least one wheelchair space, each matched to its own adjacent companion."""
    types = [s.seat_type for s in block]
    if "wheelchair" not in types:
        return False
    if count < 2:
        return True
    used = [False] * len(types)
    for i, kind in enumerate(types):
        if kind != "wheelchair":
            continue
        if i > 0 and types[i - 1] == "companion" and not used[i - 1]:
            used[i - 1] = True
        elif i + 1 < len(types) and types[i + 1] == "companion" and not used[i + 1]:
            used[i + 1] = True
        else:
            return False
    return True


def _stranded(line: Sequence[BestSeat], start: int, end: int) -> int:
    """Single free seats left next to the block line[start:end] (bounded by taken seats or aisles)."""
    count = 0
    left, right = start - 1, end
    if left >= 0 and line[left].free and line[left].x == line[start].x - 1:
        beyond = left - 1
        if beyond < 0 or not line[beyond].free or line[beyond].x != line[left].x - 1:
            count += 1
    if right < len(line) and line[right].free and line[right].x == line[end - 1].x + 1:
        beyond = right + 1
        if beyond >= len(line) or not line[beyond].free or line[beyond].x != line[right].x + 1:
            count += 1
    return count


def score_block(seats: Sequence[BestSeat], block: Sequence[BestSeat]) -> Score:
    """The score of `block` (a candidate taken from `seats`); smaller is better."""
    geometry = _geometry(seats)
    line = _rows(seats)[block[0].y]
    start = next(i for i, s in enumerate(line) if s.seat_id == block[0].seat_id)
    return _score(line, start, start + len(block), geometry)


def _score(line: Sequence[BestSeat], start: int, end: int, geometry: _Geometry) -> Score:
    first, last = line[start], line[end - 1]
    row_distance = abs(6 * first.y - geometry.ideal_y6)
    centre_distance = 3 * abs(first.x + last.x - geometry.centre_x2)
    return (_stranded(line, start, end), 2 * row_distance + centre_distance, first.y, first.x)


def candidate_blocks(
    seats: Sequence[BestSeat], *, count: int, accessible: bool = False
) -> list[list[BestSeat]]:
    """Every block of `count` free, side-by-side seats in one row that the rules allow."""
    blocks: list[list[BestSeat]] = []
    for line in _rows(seats).values():
        for start in range(len(line) - count + 1):
            block = line[start : start + count]
            if not all(_eligible(s, accessible) for s in block):
                continue
            if any(block[i + 1].x != block[i].x + 1 for i in range(count - 1)):
                continue
            if accessible and not _pairs_ok(block, count):
                continue
            blocks.append(block)
    return blocks


def best_block(seats: Sequence[BestSeat], *, count: int, accessible: bool = False) -> list[BestSeat] | None:
    """The best-scored block of `count` seats, or None when no block fits."""
    if count < 1 or not seats:
        return None
    geometry = _geometry(seats)
    rows = _rows(seats)
    best: tuple[Score, list[BestSeat]] | None = None
    for block in candidate_blocks(seats, count=count, accessible=accessible):
        line = rows[block[0].y]
        start = line.index(block[0])
        score = _score(line, start, start + count, geometry)
        if best is None or score < best[0]:
            best = (score, block)
    return None if best is None else best[1]
