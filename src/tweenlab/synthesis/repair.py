"""Finding a video's bad frames and replacing each with one synthesised from good neighbours.

A frame is bad when it is blurred relative to its neighbours (variance of the Laplacian below
``blur_ratio`` times the median of the frames around it), an exact or near repeat of the frame
before it while the frames around it move, or undecodable (or decoded with errors). Each run of
bad frames is replaced by frames interpolated between the good frames on either side, at their
fractional times; a run at the very start or end of the video, or next to a hard cut (the
good frame across the cut is of another shot), has one good side only and is left as it is
(and listed). The report says what was replaced, why, and from which frames.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tweenlab.errors import CorruptFrameError, UsageError
from tweenlab.media import FrameIndex, VideoReader, VideoWriter
from tweenlab.media._files import write_atomic
from tweenlab.synthesis._warp import cv2
from tweenlab.synthesis.base import FrameSynthesizer, Image, synthesizer

__all__ = ["BadFrame", "FrameStats", "RepairReport", "find_bad_frames", "frame_stats", "repair"]

_STATS_SIDE = 640  # frames are measured at this longer side at most


@dataclass(frozen=True)
class FrameStats:
    """Per-frame measurements for bad-frame detection (``nan`` where a frame is missing).

    Attributes:
        sharpness: Variance of the Laplacian of the grey frame.
        change: Mean absolute grey difference from the frame before (``nan`` for frame 0).
        broken: Frames that could not be decoded, or were decoded with errors.
    """

    sharpness: npt.NDArray[np.float64]
    change: npt.NDArray[np.float64]
    broken: frozenset[int] = frozenset()


@dataclass(frozen=True)
class BadFrame:
    """One frame found bad, and what was done about it.

    Attributes:
        frame: Its index.
        reason: ``blurred``, ``repeat`` or ``undecodable``.
        detail: The measurement behind the verdict.
        between: The good frames it was interpolated from, or ``None`` when it was left.
        t: Its time between them.
    """

    frame: int
    reason: str
    detail: str
    between: tuple[int, int] | None = None
    t: float | None = None


@dataclass(frozen=True)
class RepairReport:
    """What ``repair`` replaced (``replaced``) and what it found but could not (``left``)."""

    video: str
    out: str
    frames: int
    engine: str
    replaced: list[BadFrame] = field(default_factory=list)
    left: list[BadFrame] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    def save(self, target: Path) -> None:
        """Write the report as JSON."""
        write_atomic(target, json.dumps(self.to_json(), indent=1).encode())


def frame_stats(frames: Sequence[Image | None]) -> FrameStats:
    """Measure frames held in memory (``None`` for an undecodable one)."""
    present = ((n, f) for n, f in enumerate(frames) if f is not None)
    return _measure(present, len(frames))


def _measure(frames: Iterable[tuple[int, Image]], count: int) -> FrameStats:
    """Measure ``(index, image)`` pairs in ascending order; indices not given are broken."""
    sharp = np.full(count, np.nan)
    change = np.full(count, np.nan)
    previous: tuple[int, npt.NDArray[np.float32]] | None = None
    for n, frame in frames:
        grey = _grey(frame)
        sharp[n] = _sharpness(grey)
        if previous is not None and previous[0] == n - 1:
            change[n] = float(np.abs(grey - previous[1]).mean())
        previous = (n, grey)
    return FrameStats(sharp, change, frozenset(np.flatnonzero(np.isnan(sharp)).tolist()))


def find_bad_frames(
    stats: FrameStats, *, blur_ratio: float = 0.6, repeat_ratio: float = 0.15, window: int = 3
) -> list[BadFrame]:
    """The bad frames, ascending (see the module docstring for the tests).

    Args:
        stats: The video's measurements.
        blur_ratio: Blurred below this fraction of the neighbours' median sharpness.
        repeat_ratio: A repeat when it changes less than this fraction of the neighbouring
            frames' median change (and less than one grey level).
        window: Neighbours considered on each side.
    """
    bad: list[BadFrame] = []
    count = len(stats.sharpness)
    for n in range(count):
        if n in stats.broken:
            bad.append(BadFrame(n, "undecodable", "cannot be decoded or decoded with errors"))
            continue
        around = [m for m in range(max(0, n - window), min(count, n + window + 1)) if m != n]
        sharp = np.nanmedian(stats.sharpness[around]) if around else np.nan
        if np.isfinite(sharp) and stats.sharpness[n] < blur_ratio * sharp:
            detail = f"sharpness {stats.sharpness[n]:.1f}, neighbours' median {sharp:.1f}"
            bad.append(BadFrame(n, "blurred", detail))
            continue
        moves = [m for m in around if m != n and np.isfinite(stats.change[m])]
        usual = float(np.median(stats.change[moves])) if moves else np.nan
        change = stats.change[n]
        if np.isfinite(change) and np.isfinite(usual) and change < min(1.0, repeat_ratio * usual):
            detail = f"changes {change:.2f} from frame {n - 1}, neighbours {usual:.2f}"
            bad.append(BadFrame(n, "repeat", detail))
    return bad


def plan(
    bad: Sequence[BadFrame],
    count: int,
    *,
    pts: Sequence[int] | None = None,
    cuts: Collection[int] = (),
) -> tuple[list[BadFrame], list[BadFrame]]:
    """Assign each bad frame its good neighbours and time: ``(replaceable, left)``.

    The time is the frame's place between its neighbours' timestamps ``pts`` (so a variable
    frame rate stays right), or between their indices when none are given. A frame whose
    neighbours lie on either side of one of ``cuts`` (first frames of new shots) is left: a
    blend of two shots is no frame of either.
    """
    at = list(range(count)) if pts is None else [int(p) for p in pts]
    flagged = {b.frame for b in bad}
    replaced, left = [], []
    for item in bad:
        before = item.frame - 1
        while before in flagged:
            before -= 1
        after = item.frame + 1
        while after in flagged:
            after += 1
        if before < 0 or after >= count or any(before < cut <= after for cut in cuts):
            left.append(item)
            continue
        span = at[after] - at[before]
        t = (at[item.frame] - at[before]) / span if span else 0.0
        if not 0 < t < 1:  # timestamps repeated or out of order (a muxer rounding them)
            t = (item.frame - before) / (after - before)
        replaced.append(BadFrame(item.frame, item.reason, item.detail, (before, after), t))
    return replaced, left


def repair(
    video: Path,
    out: Path,
    *,
    index: FrameIndex | None = None,
    engine: FrameSynthesizer | None = None,
    blur_ratio: float = 0.6,
    cuts: Collection[int] = (),
) -> RepairReport:
    """Write ``out``: ``video`` with its bad frames replaced; return what was done.

    ``cuts`` are the first frames of new shots: nothing is interpolated across one.

    Raises:
        UsageError: A video of fewer than 3 frames (nothing can lie between two others).
    """
    engine = engine or synthesizer()
    with VideoReader(video, index=index, cache_mb=64) as reader:
        count = len(reader)
        if count < 3:
            raise UsageError(f"{video}: {count} frame(s); repair needs 3 or more")
        bad = find_bad_frames(_video_stats(reader), blur_ratio=blur_ratio)
        replaced, left = plan(bad, count, pts=reader.index.pts.tolist(), cuts=cuts)
        fixes = {b.frame: b for b in replaced}
        height, width = _frame_or_last(reader, 0).shape[:2]
        time_base, first = reader.index.time_base, int(reader.index.pts[0])
        with VideoWriter(out, width, height, time_base) as writer:
            for n in range(count):
                fix = fixes.get(n)
                image = _replacement(reader, engine, fix) if fix else _frame_or_last(reader, n)
                writer.write(image, int(reader.index.pts[n]) - first)
    name = getattr(engine, "name", type(engine).__name__)
    return RepairReport(str(video), str(out), count, name, replaced, left)


def _replacement(reader: VideoReader, engine: FrameSynthesizer, fix: BadFrame) -> Image:
    assert fix.between is not None and fix.t is not None
    before, after = (reader[n] for n in fix.between)
    return engine.interpolate(before, after, fix.t)


def _frame_or_last(reader: VideoReader, n: int) -> Image:
    """Frame ``n``, or for an undecodable one left in place the nearest decodable before it
    (after it, for those at the start: a cut that began between two keyframes)."""
    for m in itertools.chain(range(n, -1, -1), range(n + 1, len(reader))):  # lazily: per frame
        try:
            return reader[m]
        except CorruptFrameError:
            continue
    raise CorruptFrameError(reader.path, "no frame of the video can be decoded", frame=n)


def _video_stats(reader: VideoReader) -> FrameStats:
    """One decoding pass at a small size."""
    height, width = _frame_or_last(reader, 0).shape[:2]
    scale = min(1.0, _STATS_SIDE / max(height, width))
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    with VideoReader(reader.path, index=reader.index, size=size, cache_mb=0) as small:
        stats = _measure(((f.index, f.image) for f in small.read_range()), len(reader))
        damaged = {e.frame for e in small.errors if e.frame is not None}
    return FrameStats(stats.sharpness, stats.change, stats.broken | damaged)


def _grey(frame: Image) -> npt.NDArray[np.float32]:
    opencv = cv2()
    return np.asarray(opencv.cvtColor(frame, opencv.COLOR_RGB2GRAY), dtype=np.float32)


def _sharpness(grey: npt.NDArray[np.float32]) -> float:
    opencv = cv2()
    return float(opencv.Laplacian(grey, opencv.CV_32F).var())
