"""``KeyframeDetector``: signals, shot boundaries and suggestions from one pass over the frames.

The detector is fed small frames in order (``process(frame_index, image) -> events``): it
computes each frame's signal row once, hands it to the boundary finder (cuts, flashes and
transitions come out a few frames later) and keeps the rows; ``flush()`` decides the last
boundaries and places the suggested keyframes, which need the whole video (a budget is spread
over all of it). ``analyse_frames`` runs it over any iterable of ``(index, image)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tweenlab.keyframes.boundaries import BoundaryFinder, BoundarySettings
from tweenlab.keyframes.events import Event
from tweenlab.keyframes.signals import FrameFeatures, SignalExtractor, Signals
from tweenlab.keyframes.suggest import SuggestionPolicy, suggest_keyframes

__all__ = ["Analysis", "KeyframeDetector", "analyse_frames"]

RGB = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Analysis:
    """Everything one pass found.

    Attributes:
        signals: Per-frame signals; row ``i`` is frame ``frames[i]``.
        frames: The frame index of each row (frames that could not be decoded are missing).
        cuts: First frame of each new shot after a hard cut.
        transitions: ``(start, end)`` of each fade or dissolve.
        flashes: ``(start, end)`` of each flash (not a boundary).
        suggested: The suggested keyframes.
        thumbs: ``(N, 9, 16)`` grey thumbnails of the rows, for near-duplicate tests.
        errors: Why frames are missing (decoding errors), as messages: kept with the signals,
            so an analysis read back reports them as the pass that made it did.
    """

    signals: Signals
    frames: npt.NDArray[np.int64]
    cuts: list[int]
    transitions: list[tuple[int, int]]
    flashes: list[tuple[int, int]]
    suggested: list[int]
    thumbs: npt.NDArray[np.uint8]
    errors: tuple[str, ...] = ()

    @property
    def boundaries(self) -> list[int]:
        """Every shot's first frame: hard cuts and the middle of each transition, ascending."""
        middles = [Event(s, "transition", end=e).middle for s, e in self.transitions]
        return sorted({*self.cuts, *middles})

    def resuggest(
        self, policy: SuggestionPolicy, *, duration_seconds: float | None = None
    ) -> Analysis:
        """The same analysis with keyframes suggested by another policy (no decoding)."""
        row_of = {int(frame): row for row, frame in enumerate(self.frames)}
        rows = [Event(row_of[c], "cut") for c in self.cuts if c in row_of]
        rows += [
            Event(row_of[s], "transition", end=row_of[e])
            for s, e in self.transitions
            if s in row_of and e in row_of
        ]
        if policy.frames is not None:
            policy = replace(policy, frames=tuple(row_of[f] for f in policy.frames if f in row_of))
        found = suggest_keyframes(
            self.signals,
            rows,
            policy,
            thumbs=self.thumbs if len(self.thumbs) else None,
            duration_seconds=duration_seconds,
        )
        return replace(self, suggested=[int(self.frames[e.frame]) for e in found])

    def save(self, target: Path) -> None:
        """Write the signals and findings as one compressed ``.npz`` (atomically)."""
        self.signals.save(
            target,
            frames=self.frames,
            thumbs=self.thumbs,
            cuts=np.asarray(self.cuts, np.int64),
            transitions=np.asarray(self.transitions, np.int64).reshape(-1, 2),
            flashes=np.asarray(self.flashes, np.int64).reshape(-1, 2),
            suggested=np.asarray(self.suggested, np.int64),
            errors=np.asarray(self.errors, dtype=np.str_),
        )

    @classmethod
    def load(cls, source: Path) -> Analysis | None:
        """Read what ``save`` wrote; ``None`` when missing, stale or unreadable."""
        signals = Signals.load(source)
        if signals is None:
            return None
        try:
            with np.load(source) as data:
                return cls(
                    signals=signals,
                    frames=data["frames"].astype(np.int64),
                    cuts=[int(v) for v in data["cuts"]],
                    transitions=[(int(a), int(b)) for a, b in data["transitions"]],
                    flashes=[(int(a), int(b)) for a, b in data["flashes"]],
                    suggested=[int(v) for v in data["suggested"]],
                    thumbs=data["thumbs"].astype(np.uint8),
                    errors=tuple(str(e) for e in data["errors"]) if "errors" in data else (),
                )
        except (OSError, KeyError, ValueError):
            return None


class KeyframeDetector:
    """The streaming detector registered as ``tweenlab`` among ``keyframe_detectors``.

    Args:
        policy: How many keyframes to suggest, and where.
        boundaries: Thresholds of the cut and transition finder.
        duration_seconds: The video's duration, for a ``per_minute`` budget.

    Example:
        >>> detector = KeyframeDetector()
        >>> for frame in reader.read_range():  # doctest: +SKIP
        ...     events = detector.process(frame.index, frame.image)
        >>> events = detector.flush()  # doctest: +SKIP
        >>> detector.analysis().cuts  # doctest: +SKIP
        [100, 145, 270]
    """

    def __init__(
        self,
        policy: SuggestionPolicy | None = None,
        *,
        boundaries: BoundarySettings | None = None,
        duration_seconds: float | None = None,
    ) -> None:
        self.policy = policy or SuggestionPolicy()
        self.duration_seconds = duration_seconds
        self._extractor = SignalExtractor()
        self._finder = BoundaryFinder(boundaries)
        self._rows: list[dict[str, float]] = []
        self._frames: list[int] = []
        self._thumbs: list[npt.NDArray[np.uint8]] = []
        self._events: list[Event] = []
        self._flushed = False

    def process(self, frame_index: int, image: RGB) -> list[Event]:
        """Take the next frame (ascending ``frame_index``); return the boundaries now decided."""
        self._check_next(frame_index)
        return self.add(self._extractor.process(frame_index, image))

    def add(self, features: FrameFeatures) -> list[Event]:
        """Take the next frame's features, computed elsewhere (by a ``SignalExtractor`` that saw
        the frames before it, e.g. in the part of a job that analysed its span of the video);
        return the boundaries now decided. Same result as ``process`` on the frames themselves.
        """
        self._check_next(features.index)
        self._rows.append(features.row)
        self._frames.append(features.index)
        self._thumbs.append(features.thumb)
        found = self._finder.process(features)
        self._events += found
        return found

    def _check_next(self, frame_index: int) -> None:
        if self._flushed:
            raise RuntimeError("a frame after flush(): make a new detector per video")
        if self._frames and frame_index <= self._frames[-1]:
            raise ValueError(f"frame {frame_index} after frame {self._frames[-1]}: not ascending")

    def flush(self) -> list[Event]:
        """Decide the last boundaries and the suggested keyframes; return them."""
        if self._flushed:
            return []
        self._flushed = True
        found = self._finder.flush()
        self._events += found
        signals = self.signals()
        rows = self._row_boundaries()
        policy = self.policy
        if policy.frames is not None:
            row_of = {frame: row for row, frame in enumerate(self._frames)}
            policy = replace(policy, frames=tuple(row_of[f] for f in policy.frames if f in row_of))
        suggested = suggest_keyframes(
            signals,
            rows,
            policy,
            thumbs=np.stack(self._thumbs) if self._thumbs else None,
            duration_seconds=self.duration_seconds,
        )
        frames = np.asarray(self._frames, np.int64)
        keyframes = [
            Event(int(frames[e.frame]), "keyframe", reason=e.reason)
            for e in suggested
            if e.frame < len(frames)
        ]
        self._events += keyframes
        return found + keyframes

    def signals(self) -> Signals:
        """The signal rows so far."""
        return Signals.from_rows(self._rows)

    def analysis(self) -> Analysis:
        """What the pass found (call after ``flush``)."""
        events = self._events
        return Analysis(
            signals=self.signals(),
            frames=np.asarray(self._frames, np.int64),
            cuts=sorted(e.frame for e in events if e.kind == "cut"),
            transitions=sorted((e.frame, e.end) for e in events if e.kind == "transition"),
            flashes=sorted((e.frame, e.end) for e in events if e.kind == "flash"),
            suggested=sorted(e.frame for e in events if e.kind == "keyframe"),
            thumbs=np.stack(self._thumbs) if self._thumbs else np.zeros((0, 9, 16), np.uint8),
        )

    def _row_boundaries(self) -> list[Event]:
        """Boundaries in row numbers (rows differ from frames where frames were undecodable)."""
        row_of = {frame: row for row, frame in enumerate(self._frames)}
        converted = []
        for event in self._events:
            if event.kind in ("cut", "transition") and event.frame in row_of:
                end = row_of.get(event.end, row_of[event.frame])
                converted.append(Event(row_of[event.frame], event.kind, end=end))
        return converted


def analyse_frames(
    frames: Iterable[tuple[int, RGB]],
    policy: SuggestionPolicy | None = None,
    **options: float | BoundarySettings | None,
) -> Analysis:
    """Run a ``KeyframeDetector`` over ``(frame_index, image)`` pairs and return its analysis.

    Example:
        >>> black = np.zeros((36, 64, 3), np.uint8)
        >>> analyse_frames([(0, black), (1, black)]).suggested
        [0]
    """
    detector = KeyframeDetector(policy, **options)  # type: ignore[arg-type]
    for index, image in frames:
        detector.process(index, image)
    detector.flush()
    return detector.analysis()
