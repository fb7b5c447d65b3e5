"""The layout language, as a pure function."""

from __future__ import annotations

import pytest

from boxoffice.venues.layout import (
    LayoutError,
    SeatSpec,
    parse_layout,
    render_layout,
    row_label,
    seats_from_list,
)
from boxoffice.venues.models import SeatType


def test_rows_become_labelled_numbered_seats_with_positions() -> None:
    seats = parse_layout(["__AA__", "", "PP_PP", "WC_RR"])
    assert [(s.row, s.number, s.x, s.y) for s in seats[:2]] == [("A", 1, 2, 0), ("A", 2, 3, 0)]
    # the empty line is a cross aisle: it takes a line on the plan but no label
    assert {s.row for s in seats if s.y == 2} == {"B"}
    assert [(s.number, s.x) for s in seats if s.y == 2] == [(1, 0), (2, 1), (3, 3), (4, 4)]
    assert [s.type for s in seats if s.y == 3] == [
        SeatType.wheelchair,
        SeatType.companion,
        SeatType.recliner,
        SeatType.recliner,
    ]
    assert render_layout(seats) == ["__AA", "", "PP_PP", "WC_RR"]


def test_row_labels_go_past_z() -> None:
    assert [row_label(i) for i in (0, 25, 26, 27, 51)] == ["A", "Z", "AA", "AB", "AZ"]


@pytest.mark.parametrize(
    ("rows", "fragment"),
    [
        (["AAAA", "AAXA"], "Row 2, column 3"),
        (["AAAA", "AA A"], "Row 2, column 3"),
        ([], "no rows"),
        (["____", "__"], "no seats"),
        (["A" * 81], "at most 80"),
    ],
)
def test_parse_errors_name_the_row_and_column(rows: list[str], fragment: str) -> None:
    with pytest.raises(LayoutError) as caught:
        parse_layout(rows)
    assert fragment in caught.value.message
    assert caught.value.code == "invalid_layout"


def test_explicit_seat_lists_refuse_duplicates() -> None:
    one = SeatSpec(row="A", number=1, x=0, y=0, type=SeatType.standard)
    with pytest.raises(LayoutError, match="appears twice"):
        seats_from_list([one, SeatSpec(row="A", number=1, x=5, y=0, type=SeatType.standard)])
    with pytest.raises(LayoutError, match="already taken"):
        seats_from_list([one, SeatSpec(row="A", number=2, x=0, y=0, type=SeatType.standard)])
