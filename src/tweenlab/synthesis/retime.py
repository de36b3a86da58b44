"""Raising a video's frame rate with synthesised in-between frames.

``factor`` N puts N - 1 frames between every two (each at its fractional time between the two
frames' own timestamps, so variable frame rates stay right); ``fps`` samples the video at that
rate, interpolating wherever a sample falls between two frames. Flow between consecutive frames
can come from a video's flow cache (``flows``), so it is computed once for every use. Across a
hard cut (``cuts``: the first frame of each new shot) nothing is interpolated: a sample there
repeats the nearer of the two frames, since a blend of two shots is no frame of either.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from tweenlab.errors import UsageError
from tweenlab.media import FrameIndex, VideoReader, VideoWriter
from tweenlab.synthesis.base import FrameSynthesizer, Image, synthesizer
from tweenlab.synthesis.flow import FlowSynthesizer, PairFlow

__all__ = ["Retimed", "retime", "sample_times"]

#: Flow of the pair ``n -> n + 1`` (a flow cache's), at any size.
FlowSource = Callable[[int], PairFlow]


@dataclass(frozen=True)
class Retimed:
    """A written retimed video: its path, frame count and time base."""

    path: Path
    frames: int
    synthesised: int
    time_base: Fraction


#: The most frames retiming makes for each frame of the video (``--factor``, or ``--fps`` over
#: the video's rate): past that the in-betweens are a still frame's worth of motion apart, and
#: the list of times alone grows without bound (``--factor 10**20`` never returned).
MAX_FACTOR = 64


def sample_times(
    index: FrameIndex, *, factor: int | None = None, fps: Fraction | None = None
) -> tuple[Fraction, list[tuple[int, int, Fraction]]]:
    """The output's time base and, per output frame, ``(pts, n, t)``: frame ``n`` when
    ``t == 0``, else the frame at ``t`` between ``n`` and ``n + 1``."""
    if (factor is None) == (fps is None):
        raise UsageError("give one of factor or fps")
    pts = [int(p) - int(index.pts[0]) for p in index.pts.tolist()]
    if factor is not None:
        if not 1 <= factor <= MAX_FACTOR:
            raise UsageError(f"factor: {factor} must be a whole number from 1 to {MAX_FACTOR}")
        times = [(p * factor, n, Fraction(0)) for n, p in enumerate(pts)]
        for n, (a, b) in enumerate(itertools.pairwise(pts)):
            times += [(a * factor + j * (b - a), n, Fraction(j, factor)) for j in range(1, factor)]
        return index.time_base / factor, sorted(times)
    assert fps is not None
    if fps <= 0:
        raise UsageError(f"fps: {fps} must be positive")
    step = 1 / (fps * index.time_base)  # input ticks per output frame
    made = math.floor(pts[-1] / step) + 1
    if made > MAX_FACTOR * len(pts):
        raise UsageError(
            f"fps: {float(fps):.6g} would make {made} frames of the video's {len(pts)}, more "
            f"than {MAX_FACTOR} for each"
        )
    times, n, k = [], 0, 0
    while k * step <= pts[-1]:
        at = k * step
        while n + 1 < len(pts) and pts[n + 1] <= at:
            n += 1
        t = Fraction(0) if n + 1 >= len(pts) else (at - pts[n]) / (pts[n + 1] - pts[n])
        times.append((k, n, t))
        k += 1
    return 1 / fps, times


def retime(
    video: Path,
    out: Path,
    *,
    factor: int | None = None,
    fps: Fraction | None = None,
    index: FrameIndex | None = None,
    engine: FrameSynthesizer | None = None,
    flows: FlowSource | None = None,
    cuts: Collection[int] = (),
) -> Retimed:
    """Write ``video`` at ``factor`` times its frame rate, or at ``fps``, to ``out``.

    ``cuts`` are the first frames of new shots: samples between frame ``c - 1`` and ``c`` repeat
    the nearer frame instead of being synthesised (``Retimed.synthesised`` counts neither).

    Raises:
        UsageError: Neither or both of factor and fps, or a video with one frame.
    """
    engine = engine or synthesizer()
    with VideoReader(video, index=index, cache_mb=64) as reader:
        if len(reader) < 2:
            raise UsageError(f"{video}: {len(reader)} frame; retiming needs 2 or more")
        time_base, times = sample_times(reader.index, factor=factor, fps=fps)
        height, width = reader[0].shape[:2]
        made = 0
        with VideoWriter(out, width, height, time_base) as writer:
            for pts, image, synthetic in _render(reader, engine, flows, times, set(cuts)):
                writer.write(image, pts)
                made += synthetic
    return Retimed(out, len(times), made, time_base)


def _render(
    reader: VideoReader,
    engine: FrameSynthesizer,
    flows: FlowSource | None,
    times: list[tuple[int, int, Fraction]],
    cuts: set[int],
) -> Iterator[tuple[int, Image, bool]]:
    """Output frames in order; the in-betweens of a pair come from one flow computation, and
    none is made across a cut."""
    for n, group in itertools.groupby(times, key=lambda item: item[1]):
        items = list(group)
        frame = reader[n]
        if n + 1 in cuts:
            for pts, _, t in items:
                yield pts, (frame if t < Fraction(1, 2) else reader[n + 1]), False
            continue
        between = [float(t) for _, _, t in items if t > 0]
        made = iter(_between(reader, engine, flows, n, between) if between else [])
        for pts, _, t in items:
            yield (pts, next(made), True) if t > 0 else (pts, frame, False)


def _between(
    reader: VideoReader,
    engine: FrameSynthesizer,
    flows: FlowSource | None,
    n: int,
    times: list[float],
) -> list[Image]:
    frame, following = reader[n], reader[n + 1]
    if flows is not None and isinstance(engine, FlowSynthesizer):
        return engine.interpolate_with(frame, following, engine.fit(flows(n), frame), times)
    return engine.interpolate(frame, following, times)
