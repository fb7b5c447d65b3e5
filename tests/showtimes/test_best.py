"""Best available seats, property-tested: the answer is free, contiguous, of size N, allowed, and no
better-scored block exists (checked against an independent brute force over every seat window)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from boxoffice.showtimes.best import BestSeat, best_block, score_block
from boxoffice.venues.layout import parse_layout

LETTERS = "AAAAAAPRWC__"


@st.composite
def auditoriums(draw: st.DrawFn) -> list[BestSeat]:
    """A random layout (gaps, accessible seats) with a random set of taken seats."""
    width = draw(st.integers(min_value=1, max_value=12))
    height = draw(st.integers(min_value=1, max_value=8))
    rows = ["".join(draw(st.sampled_from(LETTERS)) for _ in range(width)) for _ in range(height)]
    if not any(c != "_" for row in rows for c in row):
        rows[0] = "A" + rows[0][1:]
    specs = parse_layout(rows)
    taken = draw(st.lists(st.booleans(), min_size=len(specs), max_size=len(specs)))
    return [
        BestSeat(seat_id=i + 1, row=s.row, number=s.number, x=s.x, y=s.y, seat_type=s.type.value, free=not t)
        for i, (s, t) in enumerate(zip(specs, taken, strict=True))
    ]


def _brute_force(seats: list[BestSeat], count: int, accessible: bool) -> list[list[BestSeat]]:
    """Every allowed block, found by looking at every seat as a block's left end."""
    at = {(s.x, s.y): s for s in seats}
    blocks = []
    for first in seats:
        block = [at.get((first.x + i, first.y)) for i in range(count)]
        if any(s is None for s in block):
            continue
        chosen = [s for s in block if s is not None]
        if not all(s.free for s in chosen):
            continue
        kinds = [s.seat_type for s in chosen]
        if not accessible and any(k in ("wheelchair", "companion") for k in kinds):
            continue
        if accessible and not _paired(kinds, count):
            continue
        blocks.append(chosen)
    return blocks


def _paired(kinds: list[str], count: int) -> bool:
    """Each wheelchair space has its own adjacent companion seat (exhaustive over assignments)."""
    wheelchairs = [i for i, k in enumerate(kinds) if k == "wheelchair"]
    if not wheelchairs:
        return False
    if count < 2:
        return True

    def assign(index: int, used: frozenset[int]) -> bool:
        if index == len(wheelchairs):
            return True
        w = wheelchairs[index]
        return any(
            0 <= c < len(kinds)
            and kinds[c] == "companion"
            and c not in used
            and assign(index + 1, used | {c})
            for c in (w - 1, w + 1)
        )

    return assign(0, frozenset())


@settings(max_examples=400, deadline=None)
@given(seats=auditoriums(), count=st.integers(min_value=1, max_value=6), accessible=st.booleans())
def test_best_block_is_valid_and_optimal(seats: list[BestSeat], count: int, accessible: bool) -> None:
    block = best_block(seats, count=count, accessible=accessible)
    candidates = _brute_force(seats, count, accessible)
    if block is None:
        assert candidates == []
        return
    assert len(block) == count
    assert len({s.y for s in block}) == 1
    assert [s.x for s in block] == list(range(block[0].x, block[0].x + count))
    assert all(s.free for s in block)
    if not accessible:
        assert not {s.seat_type for s in block} & {"wheelchair", "companion"}
    else:
        assert _paired([s.seat_type for s in block], count)
    best = score_block(seats, block)
    assert all(best <= score_block(seats, c) for c in candidates)


@settings(max_examples=200, deadline=None)
@given(seats=auditoriums(), count=st.integers(min_value=1, max_value=4))
def test_no_stranded_seat_when_another_choice_avoids_it(seats: list[BestSeat], count: int) -> None:
    block = best_block(seats, count=count)
    if block is None:
        return
    if score_block(seats, block)[0] > 0:
        assert all(score_block(seats, c)[0] > 0 for c in _brute_force(seats, count, False))


def _row(text: str, taken: str = "") -> list[BestSeat]:
    return [
        BestSeat(
            seat_id=i + 1, row="A", number=i + 1, x=i, y=0, seat_type="standard", free=str(i) not in taken
        )
        for i in range(len(text))
    ]


def test_a_block_avoids_leaving_a_single_seat() -> None:
    # seats x 0..6 with x 0 taken: the most central pair, x 2-3, would leave x 1 alone next to the taken seat
    seats = _row("AAAAAAA", taken="0")
    block = best_block(seats, count=2)
    assert block is not None
    xs = [s.x for s in block]
    assert xs != [2, 3]  # would leave seat 1 alone between a taken seat and the block
    assert score_block(seats, block)[0] == 0


def test_central_row_two_thirds_back_is_preferred() -> None:
    seats = [
        BestSeat(
            seat_id=y * 10 + x + 1,
            row="ABCDEFGHIJ"[y],
            number=x + 1,
            x=x,
            y=y,
            seat_type="standard",
            free=True,
        )
        for y in range(10)
        for x in range(10)
    ]
    block = best_block(seats, count=2)
    assert block is not None
    assert block[0].row == "G"  # y 6 of 0..9
    assert [s.number for s in block] == [5, 6]
