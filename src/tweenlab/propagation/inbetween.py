"""In-betweening a box track: every frame from its keyframes, with a confidence per frame.

Human keyframes are never changed. Between two present keyframes the span is filled by flow
(``fill_span``) or linearly; after a present keyframe followed by an absent one (or by none), and
before the first keyframe, the box is carried while the flow inside it stays coherent and the box
stays in the picture, and is marked absent (``None``) from where it leaves or is lost.

Nothing is carried or interpolated across a scene cut (``cuts``: the first frame of each new
shot). A span whose keyframes lie in different shots is filled from each end within its own shot,
as a lone keyframe is extended (by flow; the linear method holds each end up to the cut), and the
frames on both sides of the cut are suggested as keyframes. Extension stops at a cut.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from tweenlab.errors import UsageError
from tweenlab.propagation.boxes import carry_box, carry_small_box, fill_span, is_small
from tweenlab.propagation.flow import FlowCache
from tweenlab.propagation.tracker import track_span

__all__ = [
    "Extension",
    "InBetween",
    "Method",
    "box_problem",
    "extend_box",
    "inbetween",
    "next_cut",
    "shot_start",
]

Method = Literal["flow", "tracker", "linear"]
BoxTuple = tuple[float, float, float, float]
_LOST = 0.2  # coherence below which an extended box counts as lost
_LEAVING = 0.75  # share of an extended box inside the picture below which it has left


@dataclass
class InBetween:
    """A box (or None, absent) and a confidence for every frame, and suggested keyframes."""

    boxes: list[BoxTuple | None]
    confidence: list[float]
    suggested: list[int] = field(default_factory=list)


def inbetween(
    frame_count: int,
    keyframes: Mapping[int, BoxTuple | None],
    cache: FlowCache | None,
    *,
    method: Method = "flow",
    extend: bool = True,
    cuts: Sequence[int] = (),
) -> InBetween:
    """Fill every frame of a box track from its keyframes (``None`` = absent there).

    ``cuts`` are the first frames of new shots (``tweenlab.keyframes`` finds them); nothing is
    carried across one.

    Raises:
        UsageError: For keyframes outside the video or boxes of zero or negative size.
    """
    keys = _checked(frame_count, keyframes)
    shots = sorted({c for c in cuts if 0 < c < frame_count})
    flow = cache if method in ("flow", "tracker") else None  # the tracker extends by flow
    result = InBetween([None] * frame_count, [0.0] * frame_count)
    for position, first in enumerate(keys):
        box = keyframes[first]
        following = keys[position + 1] if position + 1 < len(keys) else None
        if box is None:
            continue
        result.boxes[first], result.confidence[first] = box, 1.0
        cut = next_cut(shots, first)
        end = keyframes[following] if following is not None else None
        if following is not None and end is not None and (cut is None or cut > following):
            _fill(result, cache, method, first=first, box=box, last=following, end=end)
            continue
        stop = min(following or frame_count, cut or frame_count)
        crossing = following is not None and end is not None  # a cut inside the span
        if crossing:
            _carry_or_hold(result, flow, following, end, stop - 1, step=-1)  # type: ignore[arg-type]
            result.suggested.extend(f for f in (stop - 1, stop) if f not in (first, following))
        _carry_or_hold(result, flow if crossing or extend else None, first, box, stop, step=1)
    if keys and keyframes[keys[0]] is not None and flow is not None and extend:
        start = shot_start(shots, keys[0])
        _extend(result, flow, keys[0], keyframes[keys[0]], start - 1, step=-1)  # type: ignore[arg-type]
    return result


def next_cut(cuts: Sequence[int], frame: int) -> int | None:
    """The first cut after ``frame``, if any."""
    position = bisect.bisect_right(cuts, frame)
    return cuts[position] if position < len(cuts) else None


def shot_start(cuts: Sequence[int], frame: int) -> int:
    """The first frame of ``frame``'s shot."""
    position = bisect.bisect_right(cuts, frame)
    return cuts[position - 1] if position else 0


def _carry_or_hold(
    result: InBetween, flow: FlowCache | None, start: int, box: BoxTuple, stop: int, *, step: int
) -> None:
    """Extend ``box`` from ``start`` towards ``stop`` (exclusive) by flow, or hold it there."""
    if flow is not None:
        _extend(result, flow, start, box, stop, step=step)
    else:
        for frame in range(start + step, stop, step):
            result.boxes[frame], result.confidence[frame] = box, 0.5


def box_problem(box: Sequence[float]) -> str | None:
    """What is wrong with a keyframe box ``[x, y, w, h]``, or None: four finite numbers, ``w``
    and ``h`` above 0, the right and bottom edges finite too (``1e308 + 1e308`` is not)."""
    if len(box) != 4 or not np.isfinite(box).all():
        return "needs 4 finite values"
    x, y, w, h = (float(v) for v in box)
    if w <= 0 or h <= 0:
        return "needs w, h > 0"
    if not (math.isfinite(x + w) and math.isfinite(y + h)):
        return "has an edge past the largest number (x + w or y + h)"
    return None


def _checked(frame_count: int, keyframes: Mapping[int, BoxTuple | None]) -> list[int]:
    for frame, box in keyframes.items():
        if not 0 <= frame < frame_count:
            raise UsageError(f"keyframe {frame} is outside the video (0..{frame_count - 1})")
        if box is not None and (problem := box_problem(box)):
            raise UsageError(f"keyframe {frame}: box {list(box)} {problem}")
    return sorted(keyframes)


def _fill(
    result: InBetween,
    cache: FlowCache | None,
    method: Method,
    *,
    first: int,
    box: BoxTuple,
    last: int,
    end: BoxTuple | None,
) -> None:
    assert end is not None
    a, b = np.array(box, dtype=np.float64), np.array(end, dtype=np.float64)
    if method == "linear" or cache is None or last - first < 2:
        t = (np.arange(first, last + 1) - first) / (last - first)
        boxes = a + np.outer(t, b - a)
        confidence = np.ones(len(t))
    else:
        span = track_span if method == "tracker" else fill_span
        filled = span(cache, first, a, last, b)
        boxes, confidence = filled.boxes, filled.confidence
        if filled.weakest is not None:
            result.suggested.append(filled.weakest)
    for offset in range(1, last - first):
        result.boxes[first + offset] = tuple(float(v) for v in boxes[offset])  # type: ignore[assignment]
        result.confidence[first + offset] = float(confidence[offset])


def _inside(box: npt.NDArray[np.float64], width: int, height: int) -> float:
    """The share of ``box``'s area inside the picture."""
    x, y, w, h = (float(v) for v in box)
    seen_w = max(0.0, min(x + w, width) - max(x, 0.0))
    seen_h = max(0.0, min(y + h, height) - max(y, 0.0))
    return float(seen_w * seen_h / max(w * h, 1e-9))


def _extend(
    result: InBetween, cache: FlowCache, start: int, box: BoxTuple, stop: int, *, step: int
) -> None:
    """Carry ``box`` from ``start`` towards ``stop`` (exclusive) while it is followed well."""
    carried = extend_box(cache, start, box, stop, step=step)
    for k, (row, score) in enumerate(zip(carried.boxes, carried.confidence, strict=True)):
        frame = start + (k + 1) * step
        result.boxes[frame] = tuple(float(v) for v in row)  # type: ignore[assignment]
        result.confidence[frame] = float(score)


@dataclass(frozen=True)
class Extension:
    """A box carried past a keyframe: ``boxes`` ``(n, 4)`` and ``confidence`` ``(n,)`` on the
    frames ``start + step``, ``start + 2 * step``, ...; ``lost`` when it stopped because the
    box was lost or left the picture, not at ``stop``."""

    boxes: npt.NDArray[np.float64]
    confidence: npt.NDArray[np.float64]
    lost: bool


def extend_box(cache: FlowCache, start: int, box: BoxTuple, stop: int, *, step: int) -> Extension:
    """Carry ``box`` from frame ``start`` towards ``stop`` (exclusive; ``step`` 1 forward, -1
    backward) while the flow inside it stays coherent and it stays in the picture."""
    width, height = cache.video_size
    current = np.array(box, dtype=np.float64)
    boxes: list[npt.NDArray[np.float64]] = []
    scores: list[float] = []
    greys: dict[int, npt.NDArray[np.uint8]] = {}  # each step's target is the next one's source
    for frame in range(start + step, stop, step):
        pair = cache.pair(min(frame, frame - step))
        flow = pair.forward if step > 0 else pair.backward
        carried = None
        if is_small(current, cache.scale):  # followed by its own points
            if frame - step not in greys:
                greys = cache.greys(min(frame, frame - step), max(frame, frame - step))
            else:
                greys = {frame - step: greys[frame - step], **cache.greys(frame, frame)}
            carried = carry_small_box(current, greys[frame - step], greys[frame], flow, cache.scale)
        if carried is None:
            carried = carry_box(current, flow, cache.scale)
        if carried.coherence < _LOST or _inside(carried.box, width, height) < _LEAVING:
            return _extension(boxes, scores, lost=True)
        current = carried.box
        boxes.append(current)
        scores.append(carried.coherence)
    return _extension(boxes, scores, lost=False)


def _extension(
    boxes: list[npt.NDArray[np.float64]], scores: list[float], *, lost: bool
) -> Extension:
    rows = np.array(boxes, dtype=np.float64).reshape(-1, 4)
    return Extension(rows, np.array(scores, dtype=np.float64), lost)
