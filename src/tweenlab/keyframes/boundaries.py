"""Shot boundaries from the per-frame features, streaming: hard cuts, gradual transitions, flashes.

Hard cut at frame *n*: the colour histogram changes a lot from *n - 1* to *n* **and** what is
left after compensating the camera's motion is large (so a fast pan, whose histogram barely
moves and which the motion model explains, does not fire), the change is a local peak, several
times the change around it (an adaptive threshold, like PySceneDetect's AdaptiveDetector), and
frame *n - 1* does not come back within a few frames (else it is a flash: reported, not cut).

Gradual transition (fade, dissolve, wipe): the histogram of frame *m - k* and that of *m + k*
differ a lot while no hard cut lies between them; the frames where this holds form a run, and
the run is the transition. Comparing histograms over a span, not consecutive frames, is what
finds a dissolve (each step is small) and what motion inside a shot barely moves (the same
colours stay in view). Short transitions must differ a lot at k = 4 and 8 frames. A transition
longer than twice 4 frames changes the k = 4 comparison by only part of the change between
the two shots (about 2k / its length), so a run also holds where the k = 8 or k = 12
comparison is high, and is a long transition where, at some frame, the k = 12 comparison is
high and the k = 8 one is at least ``long_ratio`` of it: the distance grows with k as it does
across a mix of two shots (a dissolve's blend, a wipe's areas), where motion inside a shot (a
whip pan) changes the wider comparison far more than the narrower one.

Decisions lag the newest frame by ``LAG`` frames; ``flush`` decides the rest.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from tweenlab.keyframes.events import Event
from tweenlab.keyframes.signals import FrameFeatures

__all__ = ["BoundaryFinder", "BoundarySettings"]

_SPANS = (4, 8, 12)  # half-widths of the long-range comparison, in frames
_WINDOW = 10  # frames each side whose median change a cut must stand out from
_FLASH_SPAN = 5  # frames within which the picture before a flash must come back
_STEP_RATIO = 1.5  # a cut changes this many times more than the frames beside it


@dataclass(frozen=True)
class BoundarySettings:
    """Thresholds of the boundary finder (defaults measured on the cut test videos).

    Attributes:
        cut_score: Least histogram distance + foreground/64 for a hard cut.
        cut_foreground: Least motion-compensated grey difference (0-255) for a hard cut.
        cut_ratio: How many times the median change around it a cut must be.
        transition_level: Long-range (k = 4) histogram distance where a transition run starts.
        transition_peak: What the run's k = 4 and k = 8 distances must each reach somewhere.
        long_level: The k = 8 and k = 12 distances that also keep a run going (a long
            transition).
        long_peak: The k = 12 distance a long transition must reach at some frame ...
        long_ratio: ... where the k = 8 distance is at least this share of it.
        min_transition: Fewest frames in a transition run.
    """

    cut_score: float = 0.6
    cut_foreground: float = 12.0
    cut_ratio: float = 3.0
    transition_level: float = 0.4
    transition_peak: tuple[float, float] = (0.55, 0.7)
    long_level: tuple[float, float] = (0.5, 0.7)
    long_peak: float = 0.78
    long_ratio: float = 0.6
    min_transition: int = 3


class BoundaryFinder:
    """Finds cuts, flashes and transitions in a stream of ``FrameFeatures``.

    Example:
        >>> finder = BoundaryFinder()
        >>> events = []
        >>> for features in stream:  # doctest: +SKIP
        ...     events += finder.process(features)
        >>> events += finder.flush()  # doctest: +SKIP
    """

    LAG = _WINDOW + 2 * max(_SPANS) + 4

    def __init__(self, settings: BoundarySettings | None = None) -> None:
        self.settings = settings or BoundarySettings()
        self._frames: deque[FrameFeatures] = deque(maxlen=2 * self.LAG + 2)
        self._scores: dict[int, float] = {}
        self._cuts: list[int] = []
        self._flashes: set[int] = set()
        self._cut_decided = -1
        self._span_decided = -1
        self._run: list[tuple[int, float, float, float]] = []

    def process(self, features: FrameFeatures) -> list[Event]:
        """Take the next frame's features; return the events now decided."""
        row = features.row
        self._scores[features.index] = row["histogram"] + row["foreground"] / 64.0
        self._frames.append(features)
        return self._decide(final=False)

    def flush(self) -> list[Event]:
        """Decide everything still pending (call once, after the last frame)."""
        return self._decide(final=True)

    # -- deciding ---------------------------------------------------------------------------

    def _decide(self, *, final: bool) -> list[Event]:
        if not self._frames:
            return []
        newest = self._frames[-1].index
        events: list[Event] = []
        cut_until = newest if final else newest - _WINDOW - _FLASH_SPAN
        for item in self._frames:
            if self._cut_decided < item.index <= cut_until:
                events += self._decide_cut(item.index)
                self._cut_decided = item.index
        span_until = newest if final else cut_until - max(_SPANS) - 2
        for item in self._frames:
            if self._span_decided < item.index <= span_until:
                events += self._extend_run(item.index, newest)
                self._span_decided = item.index
        if final:
            events += self._close_run()
        for stale in [n for n in self._scores if n < newest - 2 * self.LAG]:
            del self._scores[stale]
        return events

    def _decide_cut(self, n: int) -> list[Event]:
        settings = self.settings
        score = self._scores.get(n, 0.0)
        row = self._features(n)
        if row is None or score < settings.cut_score:
            return []
        if row.row["foreground"] < settings.cut_foreground:
            return []
        near = [self._scores.get(m, 0.0) for m in range(n - 2, n + 3) if m != n]
        if any(other > score for other in near):
            return []
        beside = max(self._scores.get(n - 1, 0.0), self._scores.get(n + 1, 0.0))
        if score < _STEP_RATIO * beside:  # one step of a ramp (a fade), not a jump
            return []
        around = [
            self._scores[m]
            for m in range(n - _WINDOW, n + _WINDOW + 1)
            if abs(m - n) > 1 and m in self._scores
        ]
        if around and score < settings.cut_ratio * (float(np.median(around)) + 0.05):
            return []
        if n in self._flashes:
            return []
        back = self._returns_at(n)
        if back is not None:
            self._flashes.update(range(n, back + 1))
            return [Event(n, "flash", end=back - 1)]
        self._cuts.append(n)
        return [Event(n, "cut")]

    def _returns_at(self, n: int) -> int | None:
        """The first frame within ``_FLASH_SPAN`` after ``n`` that looks like frame ``n - 1``."""
        before, at = self._features(n - 1), self._features(n)
        if before is None or at is None:
            return None
        jump = _distance(before.histogram, at.histogram)
        for m in range(n + 1, n + _FLASH_SPAN + 1):
            later = self._features(m)
            if later is not None and _distance(before.histogram, later.histogram) < 0.35 * jump:
                return m
        return None

    def _extend_run(self, m: int, newest: int) -> list[Event]:
        d4, d8, d12 = (self._long_range(m, k, newest) for k in _SPANS)
        settings = self.settings
        if (
            d4 >= settings.transition_level
            or d8 >= settings.long_level[0]
            or d12 >= settings.long_level[1]
        ):
            self._run.append((m, d4, d8, d12))
            return []
        return self._close_run()

    def _close_run(self) -> list[Event]:
        run, self._run = self._run, []
        settings = self.settings
        if len(run) < settings.min_transition:
            return []
        peak4, peak8 = (max(row[i] for row in run) for i in (1, 2))
        short = peak4 >= settings.transition_peak[0] and peak8 >= settings.transition_peak[1]
        long = any(
            d12 >= settings.long_peak and d8 >= settings.long_ratio * d12 for _, _, d8, d12 in run
        )
        if not (short or long):
            return []
        # the run reaches past the transition by the comparison's span; a mix of length L
        # changes the k-frame comparison by half its peak at L / 2 from its middle (for k up to
        # L / 2), so the frames at half the peak or more are the transition
        column = 1 if short else 2
        values = [row[column] for row in run]
        peak = max(range(len(run)), key=values.__getitem__)
        first = last = peak
        while first > 0 and values[first - 1] >= values[peak] / 2:
            first -= 1
        while last + 1 < len(run) and values[last + 1] >= values[peak] / 2:
            last += 1
        return [Event(run[first][0], "transition", end=run[last][0])]

    def _long_range(self, m: int, k: int, newest: int) -> float:
        first, last = m - k, min(m + k, newest)
        if first < 0 or last <= m:
            return 0.0
        if any(first - 2 < cut <= last + 2 for cut in self._cuts):
            return 0.0
        if any(first <= flash <= last for flash in self._flashes):
            return 0.0
        a, b = self._features(first), self._features(last)
        if a is None or b is None:
            return 0.0
        return _distance(a.histogram, b.histogram)

    def _features(self, n: int) -> FrameFeatures | None:
        if not self._frames:
            return None
        offset = n - self._frames[0].index
        if 0 <= offset < len(self._frames) and self._frames[offset].index == n:
            return self._frames[offset]
        for item in self._frames:  # frames may be missing (undecodable): search
            if item.index == n:
                return item
        return None


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    return 0.5 * float(np.abs(a - b).sum())
