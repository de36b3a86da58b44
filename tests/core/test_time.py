"""Parsing the time and frame specs people type."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import pytest

from tweenlab.core.time import (
    FrameSelection,
    parse_frame_list,
    parse_frame_range,
    parse_seconds,
    parse_time_list,
)
from tweenlab.errors import UsageError

SECONDS = [
    ("10s", Fraction(10)),
    ("10", Fraction(10)),
    ("1.5m", Fraction(90)),
    ("250ms", Fraction(1, 4)),
    ("2h", Fraction(7200)),
    ("00:10", Fraction(10)),
    ("00:31.5", Fraction(63, 2)),
    ("1:02:03", Fraction(3723)),
    ("90:00", Fraction(5400)),
    (" 0.1 ", Fraction(1, 10)),
]


@pytest.mark.parametrize(("text", "expected"), SECONDS, ids=[t for t, _ in SECONDS])
def test_parse_seconds(text: str, expected: Fraction) -> None:
    assert parse_seconds(text) == expected


@pytest.mark.parametrize("text", ["10x", "", "-5s", "1:2:3:4", "1:60:00", "abc"], ids=repr)
def test_parse_seconds_rejects_with_the_option_name(text: str) -> None:
    with pytest.raises(UsageError, match="--every"):
        parse_seconds(text, option="--every")


def test_lists() -> None:
    assert parse_time_list("00:10, 31.5") == [Fraction(10), Fraction(63, 2)]
    assert parse_frame_list("0,300, 900") == [0, 300, 900]
    with pytest.raises(UsageError, match="empty item"):
        parse_frame_list("1,,2")
    with pytest.raises(UsageError, match="'x'"):
        parse_frame_list("1,x")


BIG = "9" * 5000  # int() and Fraction() refuse more than 4300 digits
UNREADABLE = [
    (parse_frame_list, "²"),  # str.isdigit takes it, int() does not
    (parse_frame_list, "1,²"),
    (parse_frame_list, BIG),
    (parse_frame_range, "²:5"),
    (parse_frame_range, f"{BIG}:"),
    (parse_frame_range, f"0:{BIG}"),
    (parse_seconds, f"{BIG}s"),
    (parse_seconds, f"1.{BIG}"),
    (parse_seconds, f"00:{BIG}"),
    (parse_time_list, f"1,{BIG}"),
]


@pytest.mark.parametrize(
    ("parse", "text"),
    UNREADABLE,
    ids=[f"{parse.__name__}-{text[:6]}" for parse, text in UNREADABLE],
)
def test_unreadable_numbers_are_usage_errors_quoting_a_short_prefix(
    parse: Callable[..., object], text: str
) -> None:
    with pytest.raises(UsageError, match="--x") as raised:
        parse(text, option="--x")
    assert len(str(raised.value)) < 120


RANGES = [("10:20", (10, 20, 1)), (":5", (0, 5, 1)), ("7:", (7, None, 1)), ("0:9:3", (0, 9, 3))]


@pytest.mark.parametrize(("text", "expected"), RANGES, ids=[t for t, _ in RANGES])
def test_parse_frame_range(text: str, expected: tuple[int, int | None, int]) -> None:
    assert parse_frame_range(text) == expected


@pytest.mark.parametrize("text", ["5:2", "1", "a:b", "0:9:0", "1:2:3:4"], ids=repr)
def test_parse_frame_range_rejects(text: str) -> None:
    with pytest.raises(UsageError, match="--range"):
        parse_frame_range(text)


SELECTIONS = [
    (FrameSelection(every=4), 10, [0, 4, 8]),
    (FrameSelection(at=(9, 1, 5, 1)), 10, [1, 5, 9]),
    (FrameSelection(range=(2, None, 3)), 10, [2, 5, 8]),
    (FrameSelection(range=(2, 50, 1)), 5, [2, 3, 4]),
]


@pytest.mark.parametrize(("selection", "count", "expected"), SELECTIONS, ids=str)
def test_selection_indices(selection: FrameSelection, count: int, expected: list[int]) -> None:
    assert selection.indices(count) == expected


def test_selection_by_rate_takes_the_first_frame_at_or_after_each_tick() -> None:
    seconds = [Fraction(ms, 1000) for ms in (0, 400, 900, 1000, 1600, 2500, 2600)]
    assert FrameSelection(fps=Fraction(1)).indices(7, seconds) == [0, 3, 5]
    assert FrameSelection(fps=Fraction(2)).indices(7, seconds) == [0, 2, 3, 4, 5]


def test_selection_needs_exactly_one_rule() -> None:
    with pytest.raises(UsageError, match="exactly one"):
        FrameSelection(every=2, at=(1,))
    with pytest.raises(UsageError, match="exactly one"):
        FrameSelection()
    with pytest.raises(UsageError, match="past the last frame"):
        FrameSelection(at=(3, 10)).indices(10)
    with pytest.raises(UsageError, match="--range: starts at frame 300, past the last frame 199"):
        FrameSelection(range=(300, 400, 1)).indices(200)  # wrote no frame, and said nothing
