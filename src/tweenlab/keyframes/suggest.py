"""Which frames a person should label: shot starts, then where the picture has changed most.

The first frame of the video and every later shot's first sharp frame are suggested. Between
them, change accumulates frame by frame: what moved relative to the camera (motion-compensated
difference), how far the camera moved, and how much its motion changed (linear in-betweening
is exact under constant motion; it fails where motion turns or speeds up). With no budget a
frame is suggested each time the change since the last suggestion passes a threshold; with a
budget (``per_minute`` or ``max_count``) the budget is spread so that the spans between
suggestions (and shot ends) hold equal shares of a cost that is half change, half span length
(suggestions crowd where change concentrates, but stay at least 0.7 of the mean spacing
apart). A fixed interval (every N frames, or frames chosen by time by the caller) is the plain
fallback. A candidate
that is a near-duplicate of a frame already suggested is skipped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tweenlab.errors import UsageError
from tweenlab.keyframes.events import Event
from tweenlab.keyframes.signals import Signals

__all__ = ["SuggestionPolicy", "change_curve", "shot_starts", "suggest_keyframes"]

Thumbs = npt.NDArray[np.uint8]
_SHARP_LOOKAHEAD = 8  # frames after a shot start searched for a sharp first frame
_SNAP = 2  # a suggestion may move this many frames to a sharper one
_DUPLICATE_LEVEL = 2.0  # mean grey difference of 16x9 thumbnails below which frames are alike
_MIN_GAP = 3  # frames between two suggestions placed by change
#: With a budget, suggestions placed by change also keep this share of the mean spacing apart
#: (the frames where the picture changes, over the budget): in-betweening error grows with a
#: span's length as well as with its change, so a second keyframe a few frames after another
#: buys little (on vot-bag, 11 keys over 196 frames put two at frames 0 and 4).
_MIN_SHARE = 0.7
_ACTIVE = 0.1  # a frame changes when its change is above this share of the mean
#: With a budget, a changing frame's cost is this share its change and the rest a constant
#: (``_cost``). Over the 2 shared tracks and their 8 variants (benchmarks/keyframes.py,
#: suggestion quality), against placing by change alone: mean IoU over uniform spacing
#: +0.048 / +0.015 (linear / flow in-betweening) instead of +0.033 / +0.002.
_CHANGE_SHARE = 0.5


@dataclass(frozen=True)
class SuggestionPolicy:
    """How many keyframes to suggest, and where.

    At most one of ``per_minute``, ``max_count``, ``every_frames`` and ``frames`` is set; with
    none, suggestions follow the change threshold.

    Attributes:
        per_minute: Budget of suggestions per minute of video.
        max_count: Budget of suggestions for the whole video.
        every_frames: Fixed interval: every N-th frame.
        frames: Fixed frames chosen by the caller (e.g. every Y seconds, from the frame index).
        change_threshold: Accumulated change that calls for a new suggestion (no budget).
    """

    per_minute: float | None = None
    max_count: int | None = None
    every_frames: int | None = None
    frames: tuple[int, ...] | None = None
    change_threshold: float = 2.0

    def __post_init__(self) -> None:
        chosen = [self.per_minute, self.max_count, self.every_frames, self.frames]
        if sum(value is not None for value in chosen) > 1:
            raise UsageError("choose at most one of --per-minute, --max, --every, --every-seconds")
        for name in ("per_minute", "max_count", "every_frames"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise UsageError(f"{name.replace('_', '-')}: must be positive, got {value}")

    def budget(self, duration_seconds: float) -> int | None:
        """The number of suggestions allowed, or ``None`` for no budget."""
        if self.max_count is not None:
            return self.max_count
        if self.per_minute is not None:
            return max(1, math.ceil(self.per_minute * duration_seconds / 60.0))
        return None


def change_curve(signals: Signals) -> npt.NDArray[np.float64]:
    """How much each frame changed the picture, in rough "new pictures" (1 = all new)."""
    foreground = signals.foreground.astype(np.float64) / 64.0
    velocity = np.stack([signals.motion_x, signals.motion_y], axis=1).astype(np.float64)
    camera = np.hypot(velocity[:, 0], velocity[:, 1]) + np.abs(signals.zoom - 1.0)
    turning = np.zeros(len(signals))
    if len(signals) > 1:
        turning[1:] = np.hypot(*np.diff(velocity, axis=0).T)
    return np.asarray(foreground + 2.0 * camera + 8.0 * turning, np.float64)


def shot_starts(count: int, boundaries: Sequence[Event]) -> list[int]:
    """First frame of every shot: 0, every cut, and the frame after each transition."""
    starts = {0}
    for event in boundaries:
        if event.kind == "cut":
            starts.add(event.frame)
        elif event.kind == "transition":
            starts.add(event.end + 1)
    return sorted(s for s in starts if s < count)


def suggest_keyframes(
    signals: Signals,
    boundaries: Sequence[Event],
    policy: SuggestionPolicy,
    *,
    thumbs: Thumbs | None = None,
    duration_seconds: float | None = None,
) -> list[Event]:
    """Suggested keyframes (``Event`` kind ``keyframe``), ascending.

    Args:
        signals: The video's signals.
        boundaries: Its cuts and transitions.
        policy: How many and where.
        thumbs: ``(N, 9, 16)`` grey thumbnails per frame, for skipping near-duplicates.
        duration_seconds: The video's duration (needed for ``per_minute``).
    """
    count = len(signals)
    if count == 0:
        return []
    picker = _Picker(signals, thumbs)
    if policy.every_frames is not None or policy.frames is not None:
        wanted = policy.frames or tuple(range(0, count, policy.every_frames or 1))
        for frame in sorted(f for f in set(wanted) if f < count):
            picker.add(frame, "interval")  # a near-duplicate of one taken is not taken
        return picker.events()
    starts = [0] + [picker.first_sharp(s, boundaries) for s in shot_starts(count, boundaries)[1:]]
    budget = policy.budget(duration_seconds if duration_seconds is not None else count / 25)
    if budget is not None:
        budget = min(budget, count)  # a budget over the frame count asks for every frame
    change = change_curve(signals)
    for event in boundaries:  # a transition is not change to label
        change[event.frame : event.end + 1] = 0.0
    change[starts] = 0.0
    if budget is None:
        return picker.by_threshold(starts, change, policy.change_threshold)
    return picker.by_budget(starts, change, budget)


class _Picker:
    """Chooses frames: sharp ones, never two near-duplicates."""

    def __init__(self, signals: Signals, thumbs: Thumbs | None) -> None:
        self.signals = signals
        self.thumbs = thumbs
        self.chosen: dict[int, str] = {}
        self.min_gap = _MIN_GAP

    def first_sharp(self, start: int, boundaries: Sequence[Event]) -> int:
        stop = min(start + _SHARP_LOOKAHEAD, len(self.signals))
        for event in boundaries:
            if event.kind == "cut" and start < event.frame < stop:
                stop = event.frame
        sharpness = self.signals.sharpness[start:stop]
        good = np.flatnonzero(sharpness >= 0.7 * float(sharpness.max(initial=0.0)))
        return start + int(good[0]) if good.size else start

    def add(self, frame: int, reason: str) -> bool:
        if frame in self.chosen or self._duplicate(frame):
            return False
        if reason == "change" and any(abs(frame - f) < self.min_gap for f in self.chosen):
            return False
        self.chosen[frame] = reason
        return True

    def events(self) -> list[Event]:
        return [Event(f, "keyframe", reason=r) for f, r in sorted(self.chosen.items())]

    def by_threshold(
        self, starts: list[int], change: npt.NDArray[np.float64], threshold: float
    ) -> list[Event]:
        for start in starts:
            self.add(start, "shot start")
        total = 0.0
        shot_first = set(starts)
        for frame in range(len(change)):
            if frame in shot_first:
                total = 0.0
                continue
            total += float(change[frame])
            if total >= threshold:
                total = 0.0
                self.add(self._snap(frame), "change")
        return self.events()

    def by_budget(
        self, starts: list[int], change: npt.NDArray[np.float64], budget: int
    ) -> list[Event]:
        if len(starts) >= budget:  # the first shot, then the shots with the most change
            ends = [*starts[1:], len(change)]
            mass = [float(change[s:e].sum()) for s, e in zip(starts, ends, strict=True)]
            ranked = sorted(range(1, len(starts)), key=lambda i: -mass[i])[: budget - 1]
            starts = [starts[0], *(starts[i] for i in sorted(ranked))]
        for start in starts:
            self.add(start, "shot start")
        active = int(np.count_nonzero(change > _ACTIVE * float(change.mean())))
        self.min_gap = max(_MIN_GAP, round(_MIN_SHARE * active / budget))
        remaining = budget - len(self.chosen)
        cumulative = np.cumsum(_cost(change))
        if remaining <= 0 or cumulative[-1] <= 0:
            return self.events()
        # the shots' ends bound the last spans as keyframes bound the others: r suggestions
        # cut the cost into r + 1 equal shares
        quantiles = np.arange(1, remaining + 1) / (remaining + 1) * cumulative[-1]
        for target in quantiles:
            frame = int(np.searchsorted(cumulative, target))
            for candidate in _outwards(self._snap(frame), len(change)):
                if self.add(candidate, "change"):
                    break
        return self.events()

    def _snap(self, frame: int) -> int:
        lo, hi = max(frame - _SNAP, 0), min(frame + _SNAP + 1, len(self.signals))
        window = self.signals.sharpness[lo:hi]
        if window.size == 0:
            return frame
        best = float(window.max())
        at = float(self.signals.sharpness[frame])
        return frame if at >= 0.8 * best else lo + int(np.argmax(window))

    def _duplicate(self, frame: int) -> bool:
        if self.thumbs is None or not self.chosen:
            return False
        mine = self.thumbs[frame].astype(np.int16)
        return any(
            float(np.abs(self.thumbs[other].astype(np.int16) - mine).mean()) < _DUPLICATE_LEVEL
            for other in self.chosen
        )


def _cost(change: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """What a frame costs an in-between span, for placing a budget: half its change (over the
    changing frames' mean) and half a constant, since in-betweening error grows with a span's
    length as well as with its change (flow drifts and fails with distance, not only where
    motion turns). Frames that do not change (still, or excluded as transitions and shot
    starts) cost nothing."""
    changing = change > _ACTIVE * float(change.mean())
    if not changing.any():
        return change
    mean = float(change[changing].mean())
    return np.where(changing, _CHANGE_SHARE * change / mean + (1.0 - _CHANGE_SHARE), 0.0)


def _outwards(frame: int, count: int, reach: int = 6) -> list[int]:
    """``frame``, then its neighbours at growing distance, inside the video."""
    order = [frame]
    for step in range(1, reach + 1):
        order += [f for f in (frame + step, frame - step) if 0 <= f < count]
    return order
