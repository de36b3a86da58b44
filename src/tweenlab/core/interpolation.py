"""Shape interpolation: the one implementation of "what is between two keyframes".

This module owns ``interpolate(a, b, t)`` for every shape kind, dispatched through a registry
keyed by ``ShapeKind`` (one function per kind, ``register_interpolator`` to add or replace one),
and ``interpolate_boxes`` for box tracks over many frames at once. The browser previews with the
server's answers, or with a port checked against ``tests/core/golden/interpolation.json``.

Rules, per kind (``t`` in ``[0, 1]``; ``t = 0`` gives ``a`` itself and ``t = 1`` gives ``b``,
whatever the kind; blending is always ``x + (y - x) * t``):

- box: ``x, y, w, h`` linear; the rotation turns along the shorter arc, ``ra + d * t`` with
  ``d = (rb - ra + 180) mod 360 - 180`` (floored modulo), then wrapped into ``[-180, 180)``;
- points: matched by index, positions linear, visibility that of ``a`` until ``t = 1``;
- skeleton: matched by node name; nodes are ``a``'s, then ``b``'s that ``a`` lacks; a node on
  one side only keeps its position and is invisible; visibility as for points, edges of ``a``;
- cuboid: each of the 8 vertices linear;
- polygon, polyline: arc-length correspondence, see ``tweenlab.core.outline``;
- mask: signed-distance morphing, see ``tweenlab.core.sdf``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from tweenlab.core.outline import blend_polygons, blend_polylines
from tweenlab.core.sdf import morph_masks
from tweenlab.core.shapes import (
    Box,
    Cuboid,
    Mask,
    Points,
    Polygon,
    Polyline,
    Shape,
    ShapeKind,
    Skeleton,
)
from tweenlab.errors import AnnotationError

__all__ = [
    "Interpolator",
    "interpolate",
    "interpolate_boxes",
    "interpolate_many",
    "register_interpolator",
]

Array = npt.NDArray[np.float64]

#: ``fn(a, b, t) -> shape`` for two shapes of one kind and ``0 < t < 1``.
Interpolator = Callable[[Any, Any, float], Shape]


def interpolate(a: Shape, b: Shape, t: float) -> Shape:
    """The shape ``t`` of the way from ``a`` to ``b`` (see the module docstring for each kind).

    Raises:
        AnnotationError: If the kinds differ, no interpolator is registered for the kind,
            ``t`` is outside ``[0, 1]``, or the shapes cannot be matched (point counts, mask
            sizes).

    Example:
        >>> interpolate(Box(0, 0, 10, 10, 170), Box(10, 20, 30, 30, -170), 0.5)
        Box(x=5.0, y=10.0, w=20.0, h=20.0, rotation=-180.0)
    """
    if a.kind is not b.kind:
        raise AnnotationError(
            f"cannot interpolate a {a.kind.value} into a {b.kind.value}", field="shape.kind"
        )
    if not 0.0 <= t <= 1.0:  # also refuses NaN
        raise AnnotationError(f"must be within [0, 1], got {t}", field="t")
    if t == 0.0:
        return a
    if t == 1.0:
        return b
    try:
        interpolator = _INTERPOLATORS[a.kind]
    except KeyError:
        raise AnnotationError(f"no interpolator for {a.kind.value}", field="shape.kind") from None
    return interpolator(a, b, float(t))


def interpolate_many(a: Shape, b: Shape, ts: Iterable[float]) -> list[Shape]:
    """``interpolate(a, b, t)`` for each of ``ts``.

    Example:
        >>> [box.x for box in interpolate_many(Box(0, 0, 1, 1), Box(8, 0, 1, 1), [0, 0.25, 1])]
        [0.0, 2.0, 8.0]
    """
    return [interpolate(a, b, t) for t in ts]


def register_interpolator(kind: ShapeKind, fn: Interpolator) -> Interpolator | None:
    """Make ``fn`` the interpolator of ``kind``; returns the one it replaces, if any.

    ``fn`` is called only for ``0 < t < 1``, with two shapes of ``kind``.

    Example:
        >>> cube = Cuboid([[0, 0]] * 8)
        >>> built_in = register_interpolator(ShapeKind.CUBOID, lambda a, b, t: a)  # hold
        >>> interpolate(cube, Cuboid([[8, 8]] * 8), 0.5) == cube
        True
        >>> _ = register_interpolator(ShapeKind.CUBOID, built_in)
    """
    kind = ShapeKind(kind)
    previous = _INTERPOLATORS.get(kind)
    _INTERPOLATORS[kind] = fn
    return previous


def interpolate_boxes(
    key_frames: npt.NDArray[np.int64], key_boxes: Array, frames: npt.NDArray[np.int64]
) -> Array:
    """Boxes on many frames at once, piecewise linear between keyframes.

    Between consecutive keyframes each box moves as ``interpolate`` moves it (rotation on the
    shorter arc per segment); before the first keyframe and after the last the nearest one is
    held.

    Args:
        key_frames: ``(K,)`` strictly increasing frame indices, ``K >= 1``.
        key_boxes: ``(K, 5)`` ``[x, y, w, h, rotation]`` per keyframe (rotation in degrees).
        frames: ``(F,)`` the frames wanted, in any order.

    Returns:
        ``(F, 5)`` boxes, rotations wrapped into ``[-180, 180)``.

    Raises:
        AnnotationError: For arrays of the wrong shape, unsorted keyframes or non-finite values.

    Example:
        >>> keys = np.array([0, 10]); boxes = np.array([[0, 0, 4, 4, 170], [10, 0, 4, 4, -170]])
        >>> interpolate_boxes(keys, boxes, np.array([-5, 5, 20])).tolist()
        [[0.0, 0.0, 4.0, 4.0, 170.0], [5.0, 0.0, 4.0, 4.0, -180.0], [10.0, 0.0, 4.0, 4.0, -170.0]]
    """
    keys, values, wanted = _checked_track(key_frames, key_boxes, frames)
    start = np.array(values.T, order="C")  # a copy, (5, K): one field per row
    outside = (start[4] < -180.0) | (start[4] >= 180.0)  # wrapped only when out of range,
    start[4, outside] = (start[4, outside] + 180.0) % 360.0 - 180.0  # as Box does
    steps = np.zeros_like(start)  # per segment; the last keyframe has none: it is held
    steps[:, :-1] = np.diff(start, axis=1)
    steps[4, :-1] = _shortest_turn(start[4, :-1], start[4, 1:])
    # np.interp finds the segments (fast for sorted frames) and clamps outside the keyframes;
    # at a keyframe it gives the keyframe's index exactly, so keyframes come back exactly.
    position = np.interp(wanted, keys, np.arange(len(keys), dtype=np.float64))
    segment = position.astype(np.int64)
    t = position - segment
    boxes = np.empty((len(wanted), 5))
    for field in range(5):  # 1-D gathers: much faster than gathering rows of 5
        column = np.take(steps[field], segment)
        column *= t
        column += np.take(start[field], segment)
        boxes[:, field] = column
    rotation = boxes[:, 4]  # in [-360, 360): one turn at most brings it into [-180, 180)
    rotation[rotation >= 180.0] -= 360.0
    rotation[rotation < -180.0] += 360.0
    return boxes


def _checked_track(
    key_frames: npt.ArrayLike, key_boxes: npt.ArrayLike, frames: npt.ArrayLike
) -> tuple[npt.NDArray[np.int64], Array, npt.NDArray[np.int64]]:
    keys = np.asarray(key_frames, dtype=np.int64)
    values = np.asarray(key_boxes, dtype=np.float64)
    wanted = np.asarray(frames, dtype=np.int64)
    if keys.ndim != 1 or keys.size == 0 or values.shape != (keys.size, 5) or wanted.ndim != 1:
        raise AnnotationError(
            f"needs key_frames (K,), key_boxes (K, 5), frames (F,) with K >= 1; got "
            f"{keys.shape}, {values.shape}, {wanted.shape}",
            field="boxes",
        )
    if np.any(np.diff(keys) <= 0):
        raise AnnotationError("key frames must be strictly increasing", field="boxes.frames")
    if not np.isfinite(values).all():
        raise AnnotationError("box values must be finite", field="boxes")
    return keys, values, wanted


def _shortest_turn(start: Any, end: Any) -> Any:
    """The signed turn in degrees from ``start`` to ``end`` along the shorter arc,
    in ``[-180, 180)`` (floats or arrays)."""
    return (end - start + 180.0) % 360.0 - 180.0


def _box(a: Box, b: Box, t: float) -> Box:
    start, end = a.array, b.array
    x, y, w, h = (start[:4] + (end[:4] - start[:4]) * t).tolist()
    return Box(x, y, w, h, a.rotation + _shortest_turn(a.rotation, b.rotation) * t)


def _blend(start: Array, end: Array, t: float, field: str) -> Array:
    if start.shape != end.shape:
        raise AnnotationError(
            f"cannot match {len(start)} points with {len(end)}; both keyframes need the same "
            "number",
            field=field,
        )
    return start + (end - start) * t


def _points(a: Points, b: Points, t: float) -> Points:
    return Points(_blend(a.points, b.points, t, "points"), a.visible)


def _cuboid(a: Cuboid, b: Cuboid, t: float) -> Cuboid:
    return Cuboid(_blend(a.points, b.points, t, "cuboid"))


def _skeleton(a: Skeleton, b: Skeleton, t: float) -> Skeleton:
    assert a.visible is not None and b.visible is not None
    nodes = a.nodes + tuple(name for name in b.nodes if name not in a.nodes)
    points, visible = [], []
    for name in nodes:
        if name in a.nodes and name in b.nodes:
            i, j = a.nodes.index(name), b.nodes.index(name)
            points.append(a.points[i] + (b.points[j] - a.points[i]) * t)
            visible.append(bool(a.visible[i]))
        else:
            points.append(a.node(name) if name in a.nodes else b.node(name))
            visible.append(False)
    return Skeleton(np.array(points), np.array(visible), nodes, a.edges)


def _polygon(a: Polygon, b: Polygon, t: float) -> Polygon:
    return Polygon(blend_polygons(a.points, b.points, t))


def _polyline(a: Polyline, b: Polyline, t: float) -> Polyline:
    return Polyline(blend_polylines(a.points, b.points, t))


def _mask(a: Mask, b: Mask, t: float) -> Mask:
    size_a, size_b = (a.rle.height, a.rle.width), (b.rle.height, b.rle.width)
    if size_a != size_b:
        raise AnnotationError(f"mask sizes differ: {size_a} and {size_b}", field="mask.size")
    return Mask.from_dense(morph_masks(a.to_dense(), b.to_dense(), t))


_INTERPOLATORS: dict[ShapeKind, Interpolator] = {
    ShapeKind.BOX: _box,
    ShapeKind.POINTS: _points,
    ShapeKind.SKELETON: _skeleton,
    ShapeKind.CUBOID: _cuboid,
    ShapeKind.POLYGON: _polygon,
    ShapeKind.POLYLINE: _polyline,
    ShapeKind.MASK: _mask,
}
