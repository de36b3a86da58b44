"""Self-supervised training samples cut from a user's own video: windows of consecutive frames.

A window is ``span`` frames ``s, s + g, ..., s + (span - 1) g`` of one video (``g`` in
``gaps``); its outer frames are a model's input and the frames between them its target. A
window is skipped when it straddles a cut (a large jump between two of its frames compared
with the video's usual change), when it is static (its outer frames barely differ) or when two
of its frames are identical (a repeated frame teaches nothing). Each kept window stores one
square region of ``region`` pixels, the one that moves most of a few random candidates (as
SepConv's training set favours patches with motion), so memory stays small; training crops
from it. The last ``holdout`` of each video's windows (in time) are kept for validation.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tweenlab.errors import UsageError
from tweenlab.media import VideoReader
from tweenlab.synthesis._warp import cv2

__all__ = ["Window", "WindowSet", "collect_windows"]

_SMALL = 160  # frames are compared at this longer side
_CANDIDATES = 6


@dataclass(frozen=True)
class Window:
    """One training sample: ``frames`` ``(span, R, R, 3)`` uint8 of ``video`` from ``start``
    every ``gap`` frames, cut at ``(x, y)``."""

    frames: npt.NDArray[np.uint8]
    video: str
    start: int
    gap: int
    x: int
    y: int


@dataclass
class WindowSet:
    """Training and validation windows, and what was read to make them."""

    train: list[Window] = field(default_factory=list)
    validation: list[Window] = field(default_factory=list)
    videos: list[dict[str, object]] = field(default_factory=list)


def collect_windows(
    videos: Sequence[Path],
    *,
    span: int = 3,
    gaps: Sequence[int] = (1, 2),
    region: int = 192,
    per_video: int = 300,
    holdout: float = 0.1,
    seed: int = 0,
    cut_ratio: float = 6.0,
    static_level: float = 1.0,
) -> WindowSet:
    """Windows from each video (see the module docstring).

    Args:
        videos: The videos to read.
        span: Frames per window (3: a triplet).
        gaps: Frame steps inside a window, drawn at random per window.
        region: Side of the stored square (smaller frames give smaller squares).
        per_video: Windows tried per video (fewer are kept when some are skipped).
        holdout: Fraction of each video's windows, the last in time, kept for validation.
        seed: Random seed (candidates, gaps, regions).
        cut_ratio: A step between two frames of a window larger than this many times the
            video's median step (and than 12 grey levels) is a cut.
        static_level: Windows whose outer frames differ by less than this (mean grey level)
            are static.

    Raises:
        UsageError: No video given, or no usable window in any of them.
    """
    if not videos:
        raise UsageError("no videos to train on")
    if span < 3:
        raise UsageError(f"span: {span} must be 3 or more")
    rng = np.random.default_rng(seed)
    found = WindowSet()
    for video in videos:
        windows, info = _windows_of(
            Path(video),
            span=span,
            gaps=gaps,
            region=region,
            per_video=per_video,
            rng=rng,
            cut_ratio=cut_ratio,
            static_level=static_level,
        )
        held = round(len(windows) * holdout) if len(windows) > 1 else 0
        held = max(held, 1) if len(windows) >= 10 else held
        found.train += windows[: len(windows) - held]
        found.validation += windows[len(windows) - held :]
        found.videos.append({**info, "train": len(windows) - held, "validation": held})
    if not found.train:
        raise UsageError("no usable training windows (videos too short, static or all cuts)")
    return found


def _windows_of(
    video: Path,
    *,
    span: int,
    gaps: Sequence[int],
    region: int,
    per_video: int,
    rng: np.random.Generator,
    cut_ratio: float,
    static_level: float,
) -> tuple[list[Window], dict[str, object]]:
    with VideoReader(video, cache_mb=0) as reader:
        count = len(reader)
        reach = (span - 1) * max(gaps)
        if count <= reach:
            return [], {"video": str(video), "frames": count, "skipped": {"short": 1}}
        plans = _plan(count, span, gaps, per_video, rng)
        wanted = {s + (span - 1) * g: (s, g) for s, g in plans}
        buffer: deque[tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32]]] = deque(
            maxlen=reach + 1
        )
        steps: list[float] = []
        candidates: list[
            tuple[int, int, list[npt.NDArray[np.uint8]], list[npt.NDArray[np.float32]]]
        ]
        candidates = []
        for frame in reader.read_range(0, count):
            small = _grey_small(frame.image)
            if buffer:
                steps.append(float(np.abs(small - buffer[-1][1]).mean()))
            buffer.append((frame.image, small))
            if frame.index in wanted:
                start, gap = wanted[frame.index]
                picked = [buffer[len(buffer) - 1 - (span - 1 - i) * gap] for i in range(span)]
                candidates.append((start, gap, [p[0] for p in picked], [p[1] for p in picked]))
    usual = float(np.median(steps)) if steps else 0.0
    skipped = {"cut": 0, "static": 0, "repeat": 0}
    windows = []
    for start, gap, images, smalls in candidates:
        reason = _skip(smalls, usual, cut_ratio, static_level)
        if reason:
            skipped[reason] += 1
            continue
        windows.append(
            _cut_region(images, smalls, region=region, rng=rng, video=video, start=start, gap=gap)
        )
    info: dict[str, object] = {"video": str(video), "frames": count, "skipped": skipped}
    return windows, info


def _plan(
    count: int, span: int, gaps: Sequence[int], per_video: int, rng: np.random.Generator
) -> list[tuple[int, int]]:
    """``(start, gap)`` pairs spread over the video, at most one window ending per frame."""
    reach = (span - 1) * max(gaps)
    starts = np.linspace(0, count - reach - 1, num=min(per_video, count - reach)).round()
    plans: dict[int, tuple[int, int]] = {}
    for start in starts.astype(int).tolist():
        gap = int(rng.choice(list(gaps)))
        plans.setdefault(start + (span - 1) * gap, (start, gap))
    return sorted(plans.values())


def _skip(
    smalls: list[npt.NDArray[np.float32]], usual: float, cut_ratio: float, static_level: float
) -> str | None:
    steps = [float(np.abs(b - a).mean()) for a, b in itertools.pairwise(smalls)]
    if min(steps) == 0.0:
        return "repeat"
    if max(steps) > max(12.0, cut_ratio * usual):
        return "cut"
    if float(np.abs(smalls[-1] - smalls[0]).mean()) < static_level:
        return "static"
    return None


def _cut_region(
    images: list[npt.NDArray[np.uint8]],
    smalls: list[npt.NDArray[np.float32]],
    *,
    region: int,
    rng: np.random.Generator,
    video: Path,
    start: int,
    gap: int,
) -> Window:
    """The most moving of a few random square regions of the window's frames."""
    height, width = images[0].shape[:2]
    side = min(region, height, width)
    scale = smalls[0].shape[1] / width
    motion = np.abs(smalls[-1] - smalls[0])
    best: tuple[float, int, int] = (-1.0, 0, 0)
    for _ in range(_CANDIDATES):
        x, y = int(rng.integers(0, width - side + 1)), int(rng.integers(0, height - side + 1))
        x0, y0 = int(x * scale), int(y * scale)
        x1, y1 = max(x0 + 1, int((x + side) * scale)), max(y0 + 1, int((y + side) * scale))
        energy = float(motion[y0:y1, x0:x1].mean())
        if energy > best[0]:
            best = (energy, x, y)
    _, x, y = best
    frames = np.stack([image[y : y + side, x : x + side] for image in images])
    return Window(np.ascontiguousarray(frames), str(video), start, gap, x, y)


def _grey_small(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    opencv = cv2()
    height, width = image.shape[:2]
    scale = min(1.0, _SMALL / max(height, width))
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    grey = opencv.cvtColor(image, opencv.COLOR_RGB2GRAY)
    return np.asarray(opencv.resize(grey, size, interpolation=opencv.INTER_AREA), np.float32)
