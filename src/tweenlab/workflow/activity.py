"""Activity: time on task from the editor's heartbeats, and output per hour.

The editor sends a heartbeat every few tens of seconds while someone works (edits, steps through
frames, moves the mouse over the canvas). Time on task is the sum of the gaps between consecutive
heartbeats of a person that are at most ``idle_after`` long; a longer gap is someone away, and
counts nothing at all (not even ``idle_after``): it is cut, not capped. A lone heartbeat counts
nothing either, so a session is undercounted by at most one heartbeat interval. A person's
heartbeats are taken together over all their tasks, so two open tabs do not count twice.

Days are UTC days; a gap that crosses midnight is split between the two days.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

from tweenlab.core.journal import JournalEntry
from tweenlab.errors import UsageError

__all__ = [
    "IDLE_AFTER",
    "Heartbeat",
    "Output",
    "Rates",
    "active_seconds",
    "count_output",
    "rates",
    "time_per_person_per_day",
    "time_per_task",
]

IDLE_AFTER = timedelta(minutes=2)
"""The default longest gap between two heartbeats that still counts as work."""

TaskId = int | str


@dataclass(frozen=True)
class Heartbeat:
    """The editor's "still working": ``user`` on ``task`` at ``at`` (timezone-aware)."""

    user: str
    task: TaskId
    at: datetime

    def __post_init__(self) -> None:
        _check_aware(self.at)


def _check_aware(moment: datetime) -> None:
    # A naive time cannot be put on a UTC day: refusing it beats guessing the server's zone.
    if moment.tzinfo is None:
        raise UsageError(f"heartbeat time {moment.isoformat()} has no timezone")


def _check_idle(idle_after: timedelta) -> None:
    if idle_after <= timedelta():
        raise UsageError(f"idle_after must be positive, got {idle_after}")


def active_seconds(heartbeats: Iterable[datetime], *, idle_after: timedelta = IDLE_AFTER) -> float:
    """Seconds of work in ``heartbeats``: the gaps between consecutive beats of at most
    ``idle_after``, summed (longer gaps count nothing).

    Raises:
        UsageError: For a time without a timezone or ``idle_after <= 0``.

    Example:
        >>> t0 = datetime(2024, 5, 1, 9, tzinfo=UTC)
        >>> beats = [t0, t0 + timedelta(seconds=30), t0 + timedelta(minutes=10)]
        >>> active_seconds(beats)
        30.0
    """
    _check_idle(idle_after)
    moments = sorted(heartbeats)
    for moment in moments:
        _check_aware(moment)
    return sum(((b - a).total_seconds() for a, b in pairwise(moments) if b - a <= idle_after), 0.0)


def time_per_person_per_day(
    beats: Iterable[Heartbeat], *, idle_after: timedelta = IDLE_AFTER
) -> dict[tuple[str, date], float]:
    """Seconds of work per person and UTC day.

    Example:
        >>> t0 = datetime(2024, 5, 1, 23, 59, 30, tzinfo=UTC)
        >>> beats = [Heartbeat("ana", 1, t0), Heartbeat("ana", 1, t0 + timedelta(minutes=1))]
        >>> time_per_person_per_day(beats)
        {('ana', datetime.date(2024, 5, 1)): 30.0, ('ana', datetime.date(2024, 5, 2)): 30.0}
    """
    totals: dict[tuple[str, date], float] = {}
    for first, second in _working_gaps(beats, idle_after):
        for day, seconds in _split_at_midnight(first.at, second.at):
            key = (first.user, day)
            totals[key] = totals.get(key, 0.0) + seconds
    return totals


def time_per_task(
    beats: Iterable[Heartbeat], *, idle_after: timedelta = IDLE_AFTER
) -> dict[tuple[str, TaskId], float]:
    """Seconds of work per person and task (what hourly pay is computed from).

    A gap belongs to the task of the heartbeat that ends it: a heartbeat reports the work done
    since the one before.
    """
    totals: dict[tuple[str, TaskId], float] = {}
    for first, second in _working_gaps(beats, idle_after):
        key = (second.user, second.task)
        totals[key] = totals.get(key, 0.0) + (second.at - first.at).total_seconds()
    return totals


def _working_gaps(
    beats: Iterable[Heartbeat], idle_after: timedelta
) -> Iterable[tuple[Heartbeat, Heartbeat]]:
    """Consecutive heartbeats of each person at most ``idle_after`` apart."""
    _check_idle(idle_after)
    by_user: dict[str, list[Heartbeat]] = {}
    for beat in beats:
        by_user.setdefault(beat.user, []).append(beat)
    for user_beats in by_user.values():
        user_beats.sort(key=lambda beat: beat.at)
        for first, second in pairwise(user_beats):
            if second.at - first.at <= idle_after:
                yield first, second


def _split_at_midnight(start: datetime, end: datetime) -> list[tuple[date, float]]:
    """``start .. end`` as seconds per UTC day."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    pieces: list[tuple[date, float]] = []
    while start.date() < end.date():
        midnight = datetime.combine(start.date() + timedelta(days=1), time(), tzinfo=UTC)
        pieces.append((start.date(), (midnight - start).total_seconds()))
        start = midnight
    pieces.append((start.date(), (end - start).total_seconds()))
    return pieces


# -- output per hour --------------------------------------------------------------------------


@dataclass(frozen=True)
class Output:
    """What a person made: keyframes placed (each one a shape drawn or corrected) and tracks
    (objects) created."""

    keyframes: int = 0
    tracks: int = 0

    def __add__(self, other: Output) -> Output:
        return Output(self.keyframes + other.keyframes, self.tracks + other.tracks)


# One counter per edit type (by its ``type_name``); edits not listed make nothing new.
_COUNTERS = {
    "add_track": lambda edit: Output(keyframes=len(edit.track.keyframes), tracks=1),
    "set_keyframe": lambda edit: Output(keyframes=1),
}


def count_output(entries: Iterable[JournalEntry], *, author: str | None = None) -> Output:
    """Keyframes and tracks created by the edits of ``entries`` (only ``author``'s, if given).

    A keyframe set on a frame that already had one counts too: correcting a shape is work.
    """
    total = Output()
    for entry in entries:
        counter = _COUNTERS.get(entry.edit.type_name)
        if counter is not None and (author is None or entry.author == author):
            total += counter(entry.edit)
    return total


@dataclass(frozen=True)
class Rates:
    """Output per hour of active time; ``None`` when there was no active time."""

    keyframes_per_hour: float | None
    tracks_per_hour: float | None


def rates(output: Output | Sequence[JournalEntry], seconds: float) -> Rates:
    """Keyframes and tracks per hour, from counts or journal entries and the active seconds
    (``active_seconds``, ``time_per_task``) they took.

    Example:
        >>> rates(Output(keyframes=30, tracks=2), 1800.0)
        Rates(keyframes_per_hour=60.0, tracks_per_hour=4.0)
    """
    if seconds < 0:
        raise UsageError(f"active time must not be negative, got {seconds} s")
    counts = output if isinstance(output, Output) else count_output(output)
    if seconds == 0:
        return Rates(None, None)
    hours = seconds / 3600
    return Rates(counts.keyframes / hours, counts.tracks / hours)
