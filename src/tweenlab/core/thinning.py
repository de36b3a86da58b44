"""Thinning: the fewest keyframes whose linear interpolation reproduces a dense box track.

Detections, trackers and frame-based imports (MOT) give a box on every frame; people edit tracks
as keyframes. ``thin_boxes`` picks keyframes greedily, each segment as long as it can be while
the interpolated box keeps an IoU of at least ``min_iou`` with the given box on every frame in
between; ``thin_track`` applies it to a ``Track`` and keeps what boxes alone cannot say
(``outside`` keyframes, the frame after each gap, changes of ``occluded`` or attributes).

Interpolation here is the one ``tweenlab.core.interpolation`` applies to boxes: ``x, y, w, h``
linear, rotation on the shortest arc. IoU is exact for rotated boxes too (``box_iou``).
"""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from tweenlab.core.shapes import Box
from tweenlab.core.track import Keyframe, Track
from tweenlab.errors import AnnotationError

__all__ = ["box_iou", "thin_boxes", "thin_track"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_BAND = 8  # segment lengths tried at once for every anchor (vectorised)
_BLOCK = 64  # anchors whose band is computed at once
_TOLERANCE = 1e-9  # float noise allowed below min_iou (IoU of a box with itself is not always 1)
_UNIT_CORNERS = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
_NEXT = np.array([1, 2, 3, 0])


def box_iou(a: npt.ArrayLike, b: npt.ArrayLike) -> FloatArray:
    """IoU of boxes ``a`` and ``b``, ``(..., 4)`` or ``(..., 5)`` ``[x, y, w, h, rotation]``.

    Broadcasts like numpy. Rotated boxes (degrees, clockwise about the centre, as ``Box``) are
    intersected exactly as convex polygons. Two empty boxes at the same place have IoU 1.

    Example:
        >>> float(box_iou([0, 0, 10, 10], [5, 0, 10, 10]))
        0.3333333333333333
    """
    first, second = np.broadcast_arrays(_as_boxes(a), _as_boxes(b))
    shape = first.shape[:-1]
    return _iou(first.reshape(-1, 5), second.reshape(-1, 5)).reshape(shape)


def _iou(first: FloatArray, second: FloatArray) -> FloatArray:
    """IoU of ``(N, 5)`` boxes pairwise (no checks: the hot path of thinning)."""
    if first[:, 4].any() or second[:, 4].any():
        inter = _polygon_intersection(first, second)
    else:
        inter = _axis_aligned_intersection(first, second)
    area_a = first[:, 2] * first[:, 3]
    area_b = second[:, 2] * second[:, 3]
    inter = np.minimum(np.maximum(inter, 0.0), np.minimum(area_a, area_b))
    union = area_a + area_b - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = inter / union
    empty = ~(union > 0)
    if empty.any():  # two empty boxes: the same one or not
        iou[empty] = np.all(first[empty] == second[empty], axis=1)
    return np.asarray(iou, dtype=np.float64)


def _as_boxes(values: npt.ArrayLike) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 0 or array.shape[-1] not in (4, 5):
        raise AnnotationError(f"needs boxes of 4 or 5 values, got shape {array.shape}", field="box")
    if array.shape[-1] == 4:
        array = np.concatenate([array, np.zeros((*array.shape[:-1], 1))], axis=-1)
    return array


def _axis_aligned_intersection(a: FloatArray, b: FloatArray) -> FloatArray:
    left = np.maximum(a[:, 0], b[:, 0])
    top = np.maximum(a[:, 1], b[:, 1])
    right = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2])
    bottom = np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3])
    return np.asarray(np.maximum(right - left, 0.0) * np.maximum(bottom - top, 0.0))


def _corners(boxes: FloatArray, origin: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Corner ``x`` and ``y``, ``(4, N)`` each, ordered as ``Box.corners``, about ``origin``."""
    half_w, half_h = boxes[:, 2] / 2, boxes[:, 3] / 2
    angle = np.deg2rad(boxes[:, 4])
    cos, sin = np.cos(angle), np.sin(angle)
    local_x = _UNIT_CORNERS[:, :1] * half_w  # (4, N)
    local_y = _UNIT_CORNERS[:, 1:] * half_h
    centre_x = boxes[:, 0] + half_w - origin[:, 0]
    centre_y = boxes[:, 1] + half_h - origin[:, 1]
    return local_x * cos - local_y * sin + centre_x, local_x * sin + local_y * cos + centre_y


Edges = tuple[FloatArray, FloatArray, FloatArray, FloatArray]


def _edges(x: FloatArray, y: FloatArray) -> Edges:
    """Start ``x, y`` and direction ``dx, dy`` of a quadrilateral's edges, ``(4, N)`` each."""
    return x, y, x[_NEXT] - x, y[_NEXT] - y


def _edges_inside(p: Edges, q: Edges, *, owner: bool) -> FloatArray:
    """Twice the signed area swept by the parts of ``p``'s edges that lie inside ``q``.

    Green's theorem: the boundary of ``p ∩ q`` is made of the pieces of each polygon's edges
    inside the other, so the intersection area is half the sum of ``cross(start, end)`` over
    those pieces. Each edge is clipped to the convex ``q`` (Cyrus-Beck). An edge lying on an
    edge of ``q`` counts once: for the ``owner`` polygon when both run the same way, for both
    (cancelling) when they run opposite ways. Arrays are ``(p edge, q edge, N)``.
    """
    px, py, dx, dy = (v[:, None] for v in p)  # (4, 1, N): p's edges
    qx, qy, ex, ey = (v[None] for v in q)  # (1, 4, N): q's half-planes
    num = ex * (py - qy) - ey * (px - qx)
    den = ex * dy - ey * dx
    parallel = den == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = -num / np.where(parallel, 1.0, den)
    low = np.maximum(np.max(np.where(den > 0, bound, 0.0), axis=1), 0.0)  # (4, N)
    high = np.minimum(np.min(np.where(den < 0, bound, 1.0), axis=1), 1.0)
    touching_ok = (num > 0) | ((num == 0) & ((ex * dx + ey * dy <= 0) | owner))
    keep = (high > low) & ~np.any(parallel & ~touching_ok, axis=1)
    px, py, dx, dy = p
    ax, ay = px + low * dx, py + low * dy
    bx, by = px + high * dx, py + high * dy
    return np.asarray(np.where(keep, ax * by - ay * bx, 0.0).sum(axis=0))


def _polygon_intersection(a: FloatArray, b: FloatArray) -> FloatArray:
    origin = a[:, :2] + a[:, 2:4] / 2  # near the shapes, for precision
    p, q = _edges(*_corners(a, origin)), _edges(*_corners(b, origin))
    return (_edges_inside(p, q, owner=True) + _edges_inside(q, p, owner=False)) / 2


def _interpolate(start: FloatArray, end: FloatArray, t: FloatArray) -> FloatArray:
    """Boxes ``(..., 5)`` between ``start`` and ``end`` at ``t``: linear, rotation shortest arc."""
    delta = end - start
    delta[..., 4] = (delta[..., 4] + 180.0) % 360.0 - 180.0
    return np.asarray(start + t[..., None] * delta)


def _band_validity(boxes: FloatArray, first: int, threshold: float) -> npt.NDArray[np.bool_]:
    """``valid[i, d - 1]``: the segment ``first + i -> first + i + d`` (``d <= _BAND``)
    reproduces every box, for the ``_BLOCK`` anchors from ``first``."""
    count = len(boxes)
    steps, inner = np.tril_indices(_BAND, -1)  # every (length - 1, offset) with offset < length
    steps, inner = steps + 1, inner + 1
    anchors = np.arange(first, min(first + _BLOCK, count))[:, None]
    ends = np.minimum(anchors + steps, count - 1)  # (A, C) for the C combinations
    middle = np.minimum(anchors + inner, count - 1)
    start = boxes[anchors[:, 0]][:, None, :]
    predicted = _interpolate(start, boxes[ends], (inner / steps)[None, :])
    failed = _iou(predicted.reshape(-1, 5), boxes[middle].reshape(-1, 5)) < threshold
    per_length = np.zeros((len(steps), _BAND), dtype=np.int64)
    per_length[np.arange(len(steps)), steps - 1] = 1
    valid = (failed.reshape(len(anchors), -1).astype(np.int64) @ per_length) == 0
    return np.asarray(valid & (anchors + np.arange(1, _BAND + 1) <= count - 1))


def _valid_ends(
    boxes: FloatArray, start: int, ends: npt.NDArray[np.int64], threshold: float
) -> npt.NDArray[np.bool_]:
    """For each of ``ends``: does the segment ``start -> end`` reproduce every box inside?

    All candidate segments are checked in one vectorised pass over their inner frames.
    """
    lengths = ends - start - 1
    owner = np.repeat(np.arange(len(ends)), lengths)
    inner = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    inner = inner + 1  # offset of each inner frame from start
    t = inner / (ends[owner] - start)
    predicted = _interpolate(np.broadcast_to(boxes[start], (len(t), 5)), boxes[ends[owner]], t)
    failed = _iou(predicted, boxes[start + inner]) < threshold
    return np.asarray(np.bincount(owner, weights=failed, minlength=len(ends)) == 0)


def _longest(boxes: FloatArray, start: int, threshold: float) -> int:
    """The farthest end reachable from ``start`` when the band is too short: probe ends at
    doubling distances (a few per pass), then check every end up to the first failure."""
    last, good = len(boxes) - 1, start + _BAND
    while good < last:
        probes = np.unique(np.minimum(start + (good - start) * 2 ** np.arange(1, 4), last))
        ok = _valid_ends(boxes, start, probes, threshold)
        if ok.all():
            good = int(probes[-1])
            continue
        bad = int(probes[np.argmin(ok)])
        good = max([good, *(int(p) for p in probes[ok] if p < bad)])
        while bad - good > _BAND:  # bisect a wide gap before checking every end in it
            middle = (good + bad) // 2
            good, bad = (
                (middle, bad)
                if _valid_ends(boxes, start, np.array([middle]), threshold)[0]
                else (good, middle)
            )
        between = np.arange(good + 1, bad)
        valid = between[_valid_ends(boxes, start, between, threshold)]
        return int(valid.max()) if valid.size else good
    return good


def _thin_run(boxes: FloatArray, threshold: float) -> list[int]:
    """Keyframe indices for consecutive frames, greedily longest segment first.

    Short segments are read off a band of validities computed for a block of anchors at once;
    a segment as long as the band is extended by ``_longest``.
    """
    count = len(boxes)
    if count <= 2:
        return list(range(count))
    kept, start, block, valid = [0], 0, 0, _band_validity(boxes, 0, threshold)
    while start < count - 1:
        if start >= block + _BLOCK:
            block, valid = start, _band_validity(boxes, start, threshold)
        reach = np.flatnonzero(valid[start - block])
        step = int(reach[-1]) + 1 if reach.size else 1
        end = start + step
        if step == _BAND and end < count - 1:
            end = _longest(boxes, start, threshold)
        kept.append(end)
        start = end
    return kept


def thin_boxes(frames: npt.ArrayLike, boxes: npt.ArrayLike, *, min_iou: float = 0.95) -> IntArray:
    """Indices of the fewest keyframes that reproduce ``boxes`` by linear interpolation.

    Greedy: from each keyframe the next is the farthest one such that the box interpolated on
    every frame in between keeps an IoU of at least ``min_iou`` with the given box. The first
    and last boxes are always kept, and a gap in ``frames`` (absent frames) splits the
    sequence: the boxes on both sides of it are kept and nothing is interpolated across it
    (a track says the object is absent there with an ``outside`` keyframe).

    Args:
        frames: ``(F,)`` frame numbers, strictly increasing.
        boxes: ``(F, 4)`` ``[x, y, w, h]`` or ``(F, 5)`` with rotation in degrees.
        min_iou: The lowest IoU allowed between an interpolated and a given box, in ``(0, 1]``.

    Returns:
        ``(K,)`` ascending indices into ``frames``.

    Example:
        >>> frames = np.arange(100)
        >>> boxes = np.stack([frames * 2.0, frames * 1.0, 10 + 0 * frames, 10 + 0 * frames], 1)
        >>> thin_boxes(frames, boxes).tolist()
        [0, 99]
    """
    frame_array = np.asarray(frames, dtype=np.int64)
    box_array = _as_boxes(boxes)
    if frame_array.ndim != 1 or box_array.shape != (len(frame_array), 5):
        raise AnnotationError(
            f"needs frames (F,) and boxes (F, 4|5), got {frame_array.shape} and {np.shape(boxes)}",
            field="boxes",
        )
    if not 0 < min_iou <= 1:
        raise AnnotationError(f"must be in (0, 1], got {min_iou}", field="min_iou")
    if not np.isfinite(box_array).all():
        raise AnnotationError("boxes must be finite", field="boxes")
    if (box_array[:, 2:4] < 0).any():
        raise AnnotationError("box sizes must not be negative", field="boxes")
    steps = np.diff(frame_array)
    if (steps <= 0).any():
        raise AnnotationError("frames must be strictly increasing", field="frames")
    threshold = min_iou - _TOLERANCE
    kept: list[int] = []
    starts = np.concatenate([[0], np.flatnonzero(steps > 1) + 1, [len(frame_array)]])
    for first, stop in zip(starts[:-1].tolist(), starts[1:].tolist(), strict=True):
        kept.extend(first + i for i in _thin_run(box_array[first:stop], threshold))
    return np.asarray(kept, dtype=np.int64)


def _required(track: Track, frames: IntArray, visible: npt.NDArray[np.bool_]) -> set[int]:
    """Positions in ``frames`` that must stay keyframes whatever the geometry says.

    Those are the ends of every visible span (its first frame is the frame after a gap; its
    last one fixes the box up to the ``outside`` keyframe) and every frame where ``occluded``
    or the frame attributes change.
    """
    keys = np.fromiter(track.frames, dtype=np.int64, count=len(track.frames))
    codes_of: dict[tuple[object, ...], int] = {}
    codes = np.array(
        [
            codes_of.setdefault((k.occluded, *sorted(k.attributes.items())), len(codes_of))
            for k in track.keyframes.values()
        ],
        dtype=np.int64,
    )
    in_force = codes[np.maximum(np.searchsorted(keys, frames, side="right") - 1, 0)]
    changed = np.flatnonzero(np.diff(in_force) != 0) + 1
    edges = np.diff(visible.astype(np.int8), prepend=0, append=0)
    span_starts = np.flatnonzero(edges == 1)
    span_ends = np.flatnonzero(edges == -1) - 1
    return {*changed.tolist(), *span_starts.tolist(), *span_ends.tolist()}


def thin_track(track: Track, *, min_iou: float = 0.95) -> Track:
    """A copy of a box track with the fewest keyframes that reproduce it at IoU ``min_iou``.

    The track, its carried extension settled into keyframes (``Track.settled``), is evaluated
    on every frame from its first to its last keyframe (or carried shape) and thinned
    span by span: ``outside`` keyframes are kept, and so are the first and last frame of every
    visible span and every frame where ``occluded`` or the frame attributes change. Kept
    frames that were keyframes keep their keyframe unchanged.

    Raises:
        AnnotationError: For a track that is not made of boxes.

    Example:
        >>> keys = {f: Keyframe(Box(f, 0, 10, 10)) for f in range(50)}
        >>> thin_track(Track(1, "car", keys)).frames
        (0, 49)
    """
    track = track.settled()  # a carried extension's ends as keyframes
    end = max([track.last_frame, *track.inbetween])  # a carried tail, to its last shape
    frames = np.arange(track.first_frame, end + 1, dtype=np.int64)
    boxes, visible = track.box_array(frames)
    required = _required(track, frames, visible)
    kept = {frame for frame, keyframe in track.keyframes.items() if keyframe.outside}
    breaks = sorted(required)
    for first, last in pairwise(breaks):
        if not visible[first : last + 1].all():
            continue
        chosen = thin_boxes(frames[first : last + 1], boxes[first : last + 1], min_iou=min_iou)
        kept.update(int(frames[first + i]) for i in chosen.tolist())
    kept.update(int(frames[i]) for i in breaks)
    keyframes = {frame: _keyframe(track, frame, boxes[frame - int(frames[0])]) for frame in kept}
    return replace(track, keyframes=keyframes, inbetween={}, leaves=None)


def _keyframe(track: Track, frame: int, box: FloatArray) -> Keyframe:
    original = track.keyframes.get(frame)
    if original is not None:
        return original
    state = track.at(frame)
    assert state is not None
    return Keyframe(Box(*box.tolist()), state.outside, state.occluded, state.attributes)
