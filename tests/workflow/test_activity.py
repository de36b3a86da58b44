"""Time on task from heartbeats (idle gaps cut, days in UTC) and output per hour."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from tweenlab.core import AddTrack, Box, JournalEntry, Keyframe, SetKeyframe, Track
from tweenlab.core.edits import DeleteTrack
from tweenlab.errors import UsageError
from tweenlab.workflow import (
    Heartbeat,
    Output,
    Rates,
    active_seconds,
    count_output,
    rates,
    time_per_person_per_day,
    time_per_task,
)

T0 = datetime(2024, 5, 1, 9, tzinfo=UTC)


def _at(*seconds: float) -> list[datetime]:
    return [T0 + timedelta(seconds=s) for s in seconds]


ACTIVE_CASES = [
    ("none", [], 0.0),
    ("one", [0], 0.0),
    ("steady", [0, 30, 60, 90], 90.0),
    ("idle_gap_cut", [0, 30, 600, 630], 60.0),
    ("gap_exactly_idle_after_counts", [0, 120], 120.0),
    ("gap_just_over_counts_nothing", [0, 120.5], 0.0),
    ("unsorted_and_repeated", [60, 0, 30, 30], 60.0),
]


@pytest.mark.parametrize(
    ("seconds", "expected"), [c[1:] for c in ACTIVE_CASES], ids=[c[0] for c in ACTIVE_CASES]
)
def test_active_seconds(seconds: list[float], expected: float) -> None:
    assert active_seconds(_at(*seconds)) == pytest.approx(expected)


def test_active_seconds_idle_after_is_a_parameter() -> None:
    beats = _at(0, 300, 600)
    assert active_seconds(beats) == 0.0
    assert active_seconds(beats, idle_after=timedelta(minutes=5)) == 600.0
    with pytest.raises(UsageError, match="positive"):
        active_seconds(beats, idle_after=timedelta())


def test_naive_times_are_refused() -> None:
    with pytest.raises(UsageError, match="no timezone"):
        active_seconds([datetime(2024, 5, 1, 9), datetime(2024, 5, 1, 9, 1)])
    with pytest.raises(UsageError, match="no timezone"):
        Heartbeat("ana", 1, datetime(2024, 5, 1, 9))


def _beats(user: str, task: int, start: datetime, count: int, every: float = 30) -> list[Heartbeat]:
    return [Heartbeat(user, task, start + timedelta(seconds=every * i)) for i in range(count)]


def test_time_per_person_per_day_splits_at_utc_midnight() -> None:
    late = datetime(2024, 5, 1, 23, 55, tzinfo=UTC)
    beats = _beats("ana", 1, late, 21)  # 23:55:00 .. 00:05:00, every 30 s
    assert time_per_person_per_day(beats) == {
        ("ana", date(2024, 5, 1)): 300.0,
        ("ana", date(2024, 5, 2)): 300.0,
    }


def test_days_are_utc_days_whatever_the_zone_of_the_times() -> None:
    # 01:00 in UTC+2 is 23:00 UTC on the day before
    plus_two = timezone(timedelta(hours=2))
    beats = _beats("ana", 1, datetime(2024, 5, 2, 1, 0, tzinfo=plus_two), 3)
    assert time_per_person_per_day(beats) == {("ana", date(2024, 5, 1)): 60.0}


def test_time_per_person_per_day_people_tasks_and_idle_gaps() -> None:
    beats = [
        *_beats("ana", 1, T0, 5),  # 120 s
        *_beats("ana", 2, T0 + timedelta(minutes=30), 3),  # 60 s after a 28 min idle gap
        *_beats("bob", 1, T0, 11),  # 300 s
        # ana in a second tab on task 1 while on task 2: the same time, counted once
        *_beats("ana", 1, T0 + timedelta(minutes=30, seconds=15), 2),
    ]
    assert time_per_person_per_day(beats) == {
        ("ana", date(2024, 5, 1)): 180.0,
        ("bob", date(2024, 5, 1)): 300.0,
    }
    per_task = time_per_task(beats)
    # after the idle gap the two tabs alternate every 15 s: 30 s to each task
    assert per_task == {("ana", 1): 150.0, ("ana", 2): 30.0, ("bob", 1): 300.0}
    assert sum(v for (user, _), v in per_task.items() if user == "ana") == 180.0


def test_time_per_task_gives_a_gap_to_the_task_of_its_ending_beat() -> None:
    beats = [Heartbeat("ana", 1, T0), Heartbeat("ana", 2, T0 + timedelta(seconds=40))]
    assert time_per_task(beats) == {("ana", 2): 40.0}


# -- output per hour ------------------------------------------------------------------------------


def _entry(number: int, edit: object, author: str) -> JournalEntry:
    return JournalEntry(number, edit, "", T0, author=author)  # type: ignore[arg-type]


def test_count_output_from_the_journal() -> None:
    track = Track(1, "car", {0: Keyframe(Box(0, 0, 5, 5)), 9: Keyframe(Box(1, 0, 5, 5))})
    entries = [
        _entry(1, AddTrack(track), "ana"),
        _entry(2, SetKeyframe(1, 5, Keyframe(Box(2, 0, 5, 5))), "ana"),
        _entry(3, SetKeyframe(1, 5, Keyframe(Box(3, 0, 5, 5))), "bob"),
        _entry(4, DeleteTrack(1), "ana"),
    ]
    assert count_output(entries) == Output(keyframes=4, tracks=1)
    assert count_output(entries, author="ana") == Output(keyframes=3, tracks=1)
    assert count_output(entries, author="bob") == Output(keyframes=1, tracks=0)
    assert rates(entries, 7200.0) == Rates(keyframes_per_hour=2.0, tracks_per_hour=0.5)


def test_rates() -> None:
    assert rates(Output(keyframes=45, tracks=3), 900.0) == Rates(180.0, 12.0)
    assert rates(Output(keyframes=45), 0.0) == Rates(None, None)
    assert Output(1, 2) + Output(3, 4) == Output(4, 6)
    with pytest.raises(UsageError, match="negative"):
        rates(Output(), -1.0)
