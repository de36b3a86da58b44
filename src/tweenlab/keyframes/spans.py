"""Keyframe analysis split into spans of frames, merged into exactly the single-pass analysis.

A long video is analysed by several workers: ``plan_spans`` cuts it into spans
``[start, stop)`` that start at keyframes of the frame index, so a worker seeks straight to its
span's first frame; each worker decodes its span and runs ``extract_span`` (the costly half:
decoding and the per-frame signals); ``analyse_spans`` merges the spans' features in order
and replays them through one ``KeyframeDetector`` (the cheap half: boundaries and suggestions,
no decoding), so the ``Analysis`` is identical to a single pass over the whole video.

Why it is exact:

* Overlap. Row *n* of the signals compares frame *n* with frame *n - 1*; the
  ``SignalExtractor`` keeps no other state (the motion is estimated anew for each pair, and
  every frame is decoded at the same size). So a span decodes one frame more, the first frame
  of the next span, and its row for that frame is the true one; the next span's own first row
  (compared with nothing) is dropped when merging. The overlap sits after the span rather than
  before it because the frame after a span is a keyframe the decoder reaches by carrying on,
  whereas the frame before a span would cost decoding the whole previous group of pictures.
* Temporal state beyond one frame (the boundary finder's windows of up to ``LAG`` frames, its
  flashes and transition runs, the suggestion budget spread over the whole video) is never
  split: it runs once, on the merged features, in the job that merges them.
* Values are kept as computed: rows as float64 (the boundary finder compares them before they
  become float32 ``Signals``), histograms and thumbnails as their exact arrays.
* Decoding a span from its keyframe gives the same pixels as decoding the whole video from its
  start (a keyframe is where decoding can start; frames after it refer to nothing before it).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tweenlab.errors import UsageError
from tweenlab.keyframes.boundaries import BoundarySettings
from tweenlab.keyframes.detector import Analysis, KeyframeDetector
from tweenlab.keyframes.signals import SIGNAL_NAMES, FrameFeatures, SignalExtractor
from tweenlab.keyframes.suggest import SuggestionPolicy
from tweenlab.media._files import write_atomic

__all__ = [
    "Span",
    "SpanFeatures",
    "analyse_spans",
    "extract_span",
    "merge_spans",
    "plan_spans",
    "plan_spans_near_keyframes",
]

RGB = npt.NDArray[np.uint8]
_FORMAT_VERSION = 1


@dataclass(frozen=True, order=True)
class Span:
    """Frames ``start`` to ``stop - 1`` of a video: the rows one part of a job owns.

    Example:
        >>> Span(0, 30).name, len(Span(30, 76))
        ('000000000-000000030', 46)
    """

    start: int
    stop: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.stop:
            raise ValueError(f"a span needs 0 <= start < stop, got [{self.start}, {self.stop})")

    def __len__(self) -> int:
        return self.stop - self.start

    @property
    def name(self) -> str:
        """A file-name-safe label that sorts in frame order."""
        return f"{self.start:09d}-{self.stop:09d}"


def plan_spans(keyframes: Iterable[int], frame_count: int, span_frames: int) -> list[Span]:
    """Cut ``frame_count`` frames into spans of about ``span_frames``, each starting at a keyframe.

    The first span starts at frame 0; each next one at the keyframe nearest to
    ``span_frames`` after the previous start; the last runs to the end. A video whose
    keyframes are far apart gets longer spans (one keyframe: one span).

    Example:
        >>> plan_spans([0, 30, 76, 137, 187, 242], 250, 100)
        [Span(start=0, stop=76), Span(start=76, stop=187), Span(start=187, stop=250)]
    """
    if span_frames <= 0:
        raise UsageError(f"span_frames: must be positive, got {span_frames}")
    if frame_count <= 0:
        return []
    keys = np.unique(np.asarray([k for k in keyframes if 0 < k < frame_count], np.int64))
    starts = [0]
    while frame_count - starts[-1] > span_frames:
        later = keys[keys > starts[-1]]
        if not later.size:
            break
        starts.append(int(later[np.argmin(np.abs(later - (starts[-1] + span_frames)))]))
    return [Span(a, b) for a, b in zip(starts, [*starts[1:], frame_count], strict=True)]


def plan_spans_near_keyframes(
    keyframes: Iterable[int], start: int, stop: int, span_frames: int
) -> list[Span]:
    """Cut ``start .. stop - 1`` into spans of about ``span_frames``: the first starts at
    ``start``, each next one at the keyframe nearest where it is due when one lies within half a
    span of it, else where it is due (unlike ``plan_spans``, for work that costs far more than
    decoding: a video with far-apart keyframes is still split).

    Raises:
        UsageError: ``span_frames`` is not positive.

    Example:
        >>> plan_spans_near_keyframes([0, 18], 0, 60, 30)  # the second span starts at 18
        [Span(start=0, stop=18), Span(start=18, stop=48), Span(start=48, stop=60)]
    """
    if span_frames < 1:
        raise UsageError(f"span_frames: must be positive, got {span_frames}")
    if stop <= start:
        return []
    keys = np.unique(np.asarray(list(keyframes), dtype=np.int64))
    starts = [start]
    while stop - starts[-1] > span_frames:
        due = starts[-1] + span_frames
        near = keys[(keys > starts[-1]) & (np.abs(keys - due) <= span_frames // 2)]
        starts.append(int(near[np.argmin(np.abs(near - due))]) if near.size else due)
    ends = [*starts[1:], stop]
    return [Span(a, min(b, stop)) for a, b in zip(starts, ends, strict=True) if a < stop]


@dataclass(frozen=True, eq=False)
class SpanFeatures:
    """The ``FrameFeatures`` one span's part computed: its frames and the next span's first.

    Attributes:
        span: The span.
        frames: The frame index of each row (undecodable frames are missing), ascending.
        rows: Each signal's values (float64, as computed), one per row.
        histograms: ``(N, 256)`` normalised HSV histograms.
        thumbs: ``(N, 9, 16)`` grey thumbnails.
        errors: Why frames of the span are missing (decoding errors), as messages.
    """

    span: Span
    frames: npt.NDArray[np.int64]
    rows: Mapping[str, npt.NDArray[np.float64]]
    histograms: npt.NDArray[np.float32]
    thumbs: npt.NDArray[np.uint8]
    errors: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        count = len(self.frames)
        shapes = [self.rows[name].shape for name in SIGNAL_NAMES]
        if any(shape != (count,) for shape in shapes) or len(self.histograms) != count:
            raise ValueError(f"span {self.span.name}: rows, histograms and frames differ in length")
        if len(self.thumbs) != count:
            raise ValueError(f"span {self.span.name}: {len(self.thumbs)} thumbnails, {count} rows")

    def __len__(self) -> int:
        return len(self.frames)

    @classmethod
    def from_features(cls, span: Span, features: Sequence[FrameFeatures]) -> SpanFeatures:
        """Stack the features a ``SignalExtractor`` gave, in frame order."""
        return cls(
            span=span,
            frames=np.asarray([f.index for f in features], np.int64),
            rows={n: np.asarray([f.row[n] for f in features], np.float64) for n in SIGNAL_NAMES},
            histograms=np.asarray([f.histogram for f in features], np.float32).reshape(-1, 256),
            thumbs=np.asarray([f.thumb for f in features], np.uint8).reshape(-1, 9, 16),
        )

    def features(self) -> Iterator[FrameFeatures]:
        """The rows as ``FrameFeatures`` again, equal to those computed."""
        names = list(SIGNAL_NAMES)
        columns = [self.rows[name].tolist() for name in names]
        for row, index in enumerate(self.frames.tolist()):
            values = {name: column[row] for name, column in zip(names, columns, strict=True)}
            yield FrameFeatures(index, self.histograms[row], self.thumbs[row], values)

    def save(self, target: Path) -> None:
        """Write them as one compressed ``.npz``, atomically (a part run twice writes twice)."""
        import io  # noqa: PLC0415  (only when saving)

        buffer = io.BytesIO()
        arrays: dict[str, Any] = {f"row_{n}": self.rows[n] for n in SIGNAL_NAMES}
        arrays.update(
            version=np.asarray(_FORMAT_VERSION, np.int32),
            span=np.asarray([self.span.start, self.span.stop], np.int64),
            frames=self.frames,
            histograms=self.histograms,
            thumbs=self.thumbs,
            errors=np.asarray(self.errors, dtype=np.str_),
        )
        np.savez_compressed(buffer, **arrays)
        write_atomic(target, buffer.getvalue())

    @classmethod
    def load(cls, source: Path) -> SpanFeatures | None:
        """Read what ``save`` wrote; ``None`` when missing, stale or unreadable."""
        try:
            with np.load(source) as data:
                if int(data["version"]) != _FORMAT_VERSION:
                    return None
                start, stop = (int(v) for v in data["span"])
                return cls(
                    span=Span(start, stop),
                    frames=data["frames"].astype(np.int64),
                    rows={name: data[f"row_{name}"].astype(np.float64) for name in SIGNAL_NAMES},
                    histograms=data["histograms"].astype(np.float32),
                    thumbs=data["thumbs"].astype(np.uint8),
                    errors=tuple(str(e) for e in data["errors"]),
                )
        except (OSError, KeyError, ValueError):
            return None


def extract_span(span: Span, frames: Iterable[tuple[int, RGB]]) -> SpanFeatures:
    """The features of ``span``'s frames and of the frame at ``span.stop`` (the overlap).

    ``frames`` are ``(index, image)`` decoded from ``span.start`` on, at the analysis size, as
    the single pass decodes them; frames outside ``[start, stop]`` are ignored.

    Example:
        >>> black = np.zeros((36, 64, 3), np.uint8)
        >>> len(extract_span(Span(0, 2), [(i, black) for i in range(4)]))
        3
    """
    extractor = SignalExtractor()
    features = [
        extractor.process(index, image)
        for index, image in frames
        if span.start <= index <= span.stop
    ]
    return SpanFeatures.from_features(span, features)


def merge_spans(parts: Sequence[SpanFeatures]) -> Iterator[FrameFeatures]:
    """The features of the whole video, in order, from its spans' (given in order, adjacent).

    Where two spans both have a frame (the overlap), the earlier span's row is kept: it
    compared the frame with the one before it, which the later span never decoded.
    """
    for before, after in itertools.pairwise(parts):
        if after.span.start != before.span.stop:
            raise ValueError(f"spans {before.span.name} and {after.span.name} are not adjacent")
    last = -1
    for part in parts:
        for features in part.features():
            if features.index > last:
                last = features.index
                yield features


def analyse_spans(
    parts: Sequence[SpanFeatures],
    policy: SuggestionPolicy | None = None,
    *,
    boundaries: BoundarySettings | None = None,
    duration_seconds: float | None = None,
) -> Analysis:
    """The analysis of the whole video from its spans' features: the single pass's, exactly.

    Example:
        >>> black = np.zeros((36, 64, 3), np.uint8)
        >>> spans = plan_spans([2], 4, 2)
        >>> halves = [extract_span(s, [(i, black) for i in range(4)]) for s in spans]
        >>> analyse_spans(halves).suggested
        [0]
    """
    detector = KeyframeDetector(policy, boundaries=boundaries, duration_seconds=duration_seconds)
    for features in merge_spans(parts):
        detector.add(features)
    detector.flush()
    return detector.analysis()
