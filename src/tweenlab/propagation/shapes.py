"""Filling the frames between two keyframes of any shape kind by following the optical flow.

Every kind follows the recipe of ``boxes.py``: carry keyframe A forward and keyframe B backward
frame by frame, check each step by going there and back (a chain is trusted up to its first
failure), spread each chain's drift where it meets the other keyframe so both keyframes are hit
exactly, and blend the two chains by time. What "carry" means depends on what the flow can tell
about the shape:

- box: the unrotated box is filled by ``fill_span``; flow says little about a turn, so the
  rotation turns on the shorter arc as ``interpolate`` turns it;
- polygon, polyline, cuboid: a vertex sits on the outline, half on the background, so the flow at
  a vertex is unreliable. With equal vertex counts each vertex has an anchor on the object
  (halfway to the centroid, further where that is outside the outline; a polyline's vertices are
  their own anchors) that is followed as a point is, and the vertex keeps its offset from it,
  turned and scaled as the anchors turn and scale (``_fill_vertices``): a turning object is
  followed, which a box's motion cannot do. Different counts move with the robust motion (median
  translation and per-axis stretch) of the flow inside the bounding box, padded so thin shapes
  still hold flow, and are blended frame by frame with ``interpolate`` (arc-length
  correspondence), which gives A at ``t = 0`` and B at ``t = 1``;
- points, skeleton: points move independently (a wrist is not its body), so each follows the
  median flow in a small window around it and is checked alone; a point's stretches that neither
  chain follows reliably are bridged in a straight line. Skeletons match by node name; when the
  names differ the two chains are blended with ``interpolate``;
- mask: the mask itself is warped along the dense flow, both ways (``masks.fill_mask``).

The chains are weighed, spread and blended by ``chains``, as every kind's are.

Confidence is the agreement of the two chains (box IoU, point distance, mask IoU) where both are
reliable, times how much the shape's box still looks like the object at the keyframes
(``boxes.appearance``), so its lowest frame is where the next keyframe is most needed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from tweenlab.core.interpolation import interpolate
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
from tweenlab.errors import AnnotationError, UsageError
from tweenlab.propagation.boxes import (
    _LOOKS,
    _LOST,
    _as_params,
    _chain,
    _from_params,
    _grid,
    _median,
    _moved_back,
    _reliable,
    _sampled,
    appearance,
    carry_boxes,
    fill_span,
    iou_xywh,
)
from tweenlab.propagation.chains import ShapeFill, bridge, ends, shares, spread, times
from tweenlab.propagation.chains import confidence as chain_confidence
from tweenlab.propagation.flow import FlowCache, _cv2
from tweenlab.propagation.inbetween import extend_box
from tweenlab.propagation.masks import fill_mask, same_size

__all__ = ["ShapeExtension", "ShapeFill", "extend_shape", "fill_shape_span"]

Array = npt.NDArray[np.float64]
Outline = TypeVar("Outline", Polygon, Polyline, Cuboid)
_MIN_SIDE = 16.0  # cache px: an outline's box is padded to this so a thin line still holds flow
_POINT_RADIUS = 3.0  # cache px: the smallest window around a point
_POINT_WINDOW = 0.1  # a point's window radius, as a share of the shape's smaller side
_POINT_LOST = 1.5  # cache px: a round trip further off than this (or a quarter window) fails
_BOUNDARY = 0.35  # cache px: a window whose flow spreads more holds a motion boundary
_INSET = 0.5  # a polygon vertex's anchor: this share of the way to the centroid (at least)


def fill_shape_span(cache: FlowCache, first: int, a: Shape, last: int, b: Shape) -> ShapeFill:
    """Fill ``first .. last`` between keyframe shapes A and B (one kind) by following the flow.

    See the module docstring for what each kind follows.

    Raises:
        UsageError: If ``last`` is not after ``first``.
        AnnotationError: If the kinds differ, the kind cannot be filled, or the shapes cannot be
            matched (point counts, mask sizes).

    Example:
        >>> fill = fill_shape_span(cache, 0, Polygon(square), 20, Polygon(moved))  # doctest: +SKIP
        >>> fill.shapes[0] is fill.shapes[0], fill.weakest  # doctest: +SKIP
        (True, 11)
    """
    if last - first < 1:
        raise UsageError(f"a span needs its last frame after its first, got {first} .. {last}")
    if a.kind is not b.kind:
        raise AnnotationError(
            f"cannot fill from a {a.kind.value} to a {b.kind.value}", field="shape.kind"
        )
    filler = _FILLERS.get(a.kind)
    if filler is None:
        raise AnnotationError(f"no motion-guided fill for {a.kind.value}", field="shape.kind")
    check = _CHECKS.get(a.kind)
    if check is not None:
        check(a, b)
    if last == first + 1:
        return ShapeFill(first, last, [a, b], np.ones(2))
    filled = filler(cache, first, a, last, b)
    if a.kind is ShapeKind.BOX:  # fill_span weighed its appearance already
        return filled
    corners = [(x, y, x + w, y + h) for x, y, w, h in (shape.bbox() for shape in filled.shapes)]
    boxes = _padded_boxes(np.array(corners, dtype=np.float64).reshape(-1, 2, 2), cache.scale)
    looks = appearance(cache, first, boxes[:, None])[:, 0] ** _LOOKS  # thin shapes padded
    return ShapeFill(first, last, filled.shapes, filled.confidence * looks)


@dataclass(frozen=True)
class ShapeExtension:
    """A shape carried past a keyframe: ``shapes`` and ``confidence`` on the frames ``start +
    step``, ``start + 2 * step``, ...; ``lost`` when it stopped because the shape was lost or
    left the picture, not at ``stop``."""

    shapes: list[Shape]
    confidence: npt.NDArray[np.float64]
    lost: bool


def extend_shape(
    cache: FlowCache, start: int, shape: Shape, stop: int, *, step: int
) -> ShapeExtension:
    """Carry ``shape`` from keyframe ``start`` towards ``stop`` (exclusive; ``step`` 1 forward,
    -1 backward) while its box is followed (``extend_box``: where that stops, the shape was
    lost or left the picture). Over those frames a box keeps its rotation; points and skeletons
    follow the flow around each point, and polygons, polylines and cuboids follow their
    vertices' anchors as between keyframes (``_fill_vertices``), each from where it stands
    alone, with no second chain to check against; a mask is shifted and stretched with its box."""
    if isinstance(shape, Box):
        box = shape.array[:4]
    else:
        x, y, w, h = shape.bbox()
        box = _padded_boxes(np.array([[x, y], [x + w, y + h]]), cache.scale)
    carried = extend_box(cache, start, tuple(box.tolist()), stop, step=step)
    count = len(carried.boxes)
    if count and isinstance(shape, (Points, Polygon, Polyline, Cuboid)):
        frames = (
            range(start, start + count) if step > 0 else range(start - 1, start - 1 - count, -1)
        )
        moved = _points_carried(cache, shape, frames, forward=step > 0)[0][1:]
        if isinstance(shape, Points):
            shapes: list[Shape] = [_rebuilt(shape, points) for points in moved]
        else:
            shapes = [type(shape)(points) for points in moved]
    else:
        chain = np.concatenate([box[None], carried.boxes])
        shapes = [_moved(shape, chain[0], chain[k]) for k in range(1, len(chain))]
    return ShapeExtension(shapes, carried.confidence, carried.lost)


def _points_carried(
    cache: FlowCache, shape: Points | Polygon | Polyline | Cuboid, frames: range, *, forward: bool
) -> tuple[Array, npt.NDArray[np.bool_]]:
    """``shape``'s points (vertices) carried over ``frames`` ``(steps + 1, N, 2)``, and where
    each is reliable: points by the flow around each, an outline's vertices by their anchors,
    each keeping its offset turned and scaled as the anchors turn and scale."""
    radius = _radius(shape, cache.scale)
    points = shape.points
    if isinstance(shape, Points):
        return _carry_points(cache, points, frames, radius, forward=forward)
    closed = not isinstance(shape, Polyline)
    anchors = _anchors(points, isinstance(shape, Cuboid)) if closed else points
    carried, reliable = _carry_points(cache, anchors, frames, radius, forward=forward)
    return carried + _turned(anchors, carried, points - anchors, reliable), reliable


def _radius(shape: Shape, scale: float) -> float:
    """The window (cache px) a point or vertex anchor of ``shape`` follows the flow in."""
    _, _, width, height = shape.bbox()
    return max(_POINT_RADIUS, _POINT_WINDOW * max(min(width, height), 1.0) * scale)


def _moved(shape: Shape, before: Array, after: Array) -> Shape:
    """``shape`` moved as the box ``before`` moved to ``after`` (shift and stretch)."""
    if isinstance(shape, Box):
        x, y, w, h = after.tolist()
        return Box(x, y, w, h, shape.rotation)
    if isinstance(shape, Mask):
        cv2 = _cv2()
        stretch = after[2:] / np.maximum(before[2:], 1e-9)
        shift = after[:2] - before[:2] * stretch
        matrix = np.array([[stretch[0], 0, shift[0]], [0, stretch[1], shift[1]]])
        dense = shape.to_dense().astype(np.uint8)
        size = (shape.rle.width, shape.rle.height)
        warped = cv2.warpAffine(dense, matrix, size, flags=cv2.INTER_NEAREST)
        return Mask.from_dense(warped > 0)
    points = shape.points  # type: ignore[attr-defined]
    moved = _follow(points, np.stack([before, after]), 0)[1]
    return replace(shape, points=moved)  # type: ignore[type-var]


# --- box ----------------------------------------------------------------------------------------


def _fill_box(cache: FlowCache, first: int, a: Box, last: int, b: Box) -> ShapeFill:
    span = fill_span(cache, first, a.array[:4], last, b.array[:4])
    turn = (b.rotation - a.rotation + 180.0) % 360.0 - 180.0  # the shorter arc
    t = times(first, last)
    inner: list[Shape] = []
    for k in range(1, len(t) - 1):
        x, y, w, h = span.boxes[k].tolist()
        inner.append(Box(x, y, w, h, a.rotation + turn * t[k]))
    return ShapeFill(first, last, ends(a, inner, b), span.confidence)


# --- polygon, polyline, cuboid ------------------------------------------------------------------


def _padded_boxes(points: Array, scale: float) -> Array:
    """The bounding boxes ``(F, 4)`` of vertices ``(F, N, 2)``, grown about their centres to at
    least ``_MIN_SIDE`` cache pixels a side."""
    low, high = points.min(axis=-2), points.max(axis=-2)
    size = np.maximum(high - low, _MIN_SIDE / scale)
    return np.concatenate([(low + high) / 2 - size / 2, size], axis=-1)


def _follow(points: Array, chain: Array, key: int) -> Array:
    """``points`` ``(N, 2)`` moved with the box ``chain`` ``(F, 4)`` (``chain[key]`` their box):
    about its centre, stretched with its size. Returns ``(F, N, 2)``."""
    centre, size = chain[:, :2] + chain[:, 2:] / 2, chain[:, 2:]
    relative = (points - centre[key]) / size[key]
    return np.asarray(centre[:, None, :] + relative[None] * size[:, None, :], dtype=np.float64)


def _outline_chains(
    cache: FlowCache, first: int, a: Array, last: int, b: Array
) -> tuple[Array, Array, tuple[Any, Any], tuple[Any, Any]]:
    """A's vertices carried forward and B's backward (both ``(F, N, 2)`` in frame order, box
    drift already spread), with ``(coherence, reliable)`` of each chain."""
    box_a, box_b = _padded_boxes(a, cache.scale), _padded_boxes(b, cache.scale)
    ahead, coherence_f, trip_f = _chain(cache, box_a[None], range(first, last), forward=True)
    behind, coherence_b, trip_b = _chain(
        cache, box_b[None], range(last - 1, first - 1, -1), forward=False
    )
    reliable_f, reliable_b = _reliable(trip_f[:, 0]), _reliable(trip_b[:, 0])[::-1]
    t = times(first, last)
    params_f = spread(_as_params(ahead[:, 0]), _as_params(box_b[None])[0], t, reliable_f[-1])
    params_b = _as_params(behind[::-1, 0])
    params_b = spread(params_b, _as_params(box_a[None])[0], 1 - t, bool(reliable_b[0]))
    return (
        _follow(a, _from_params(params_f), 0),
        _follow(b, _from_params(params_b), -1),
        (coherence_f[:, 0], reliable_f),
        (coherence_b[::-1, 0], reliable_b),
    )


def _fill_outline(cache: FlowCache, first: int, a: Outline, last: int, b: Outline) -> ShapeFill:
    if a.points.shape == b.points.shape:
        return _fill_vertices(cache, first, a, last, b)
    make = type(a)
    forward, backward, ahead, behind = _outline_chains(cache, first, a.points, last, b.points)
    t = times(first, last)
    share, known = shares(t, ahead, behind)
    inner: list[Shape] = []
    for k in range(1, len(t) - 1):
        if known[k]:
            inner.append(interpolate(make(forward[k]), make(backward[k]), 1 - share[k]))
        else:
            inner.append(interpolate(a, b, float(t[k])))
    agreement = iou_xywh(_padded_boxes(forward, cache.scale), _padded_boxes(backward, cache.scale))
    return ShapeFill(first, last, ends(a, inner, b), chain_confidence(agreement, ahead, behind))


def _fill_vertices(cache: FlowCache, first: int, a: Outline, last: int, b: Outline) -> ShapeFill:
    """An outline whose keyframes have the same vertices, followed vertex by vertex: each
    vertex's anchor, moved halfway to the centroid (a polygon's or cuboid's, further where that
    is outside the outline; a polyline's vertices are their own anchors) so its window holds the
    object rather than the background, is carried as a point (``_carry_points``); the vertex
    keeps its offset from the
    anchor, turned and scaled as the anchors turn and scale about their centroid (the best
    similarity between the keyframe's anchors and the frame's). Drift is then spread and the
    chains blended per vertex, as points are."""
    t = times(first, last)
    chains = []
    for shape, frames, forward in (
        (a, range(first, last), True),
        (b, range(last - 1, first - 1, -1), False),
    ):
        vertices, reliable = _points_carried(cache, shape, frames, forward=forward)
        chains.append((vertices, reliable) if forward else (vertices[::-1], reliable[::-1]))
    (ahead, reliable_f), (behind, reliable_b) = chains
    reach = 2 * _radius(a, cache.scale) / cache.scale
    blended, confidence = _blend_points(
        t, (a.points, ahead, reliable_f), (b.points, behind, reliable_b), reach
    )
    make = type(a)
    inner: list[Shape] = [make(blended[k]) for k in range(1, len(t) - 1)]
    return ShapeFill(first, last, ends(a, inner, b), confidence)


def _anchors(points: Array, hull: bool) -> Array:
    """Each vertex moved halfway to the centroid, or further (up to the centroid) where that
    is outside the outline (a concave polygon; a cuboid's hull): points on the object."""
    cv2 = _cv2()
    outline = np.asarray(points, dtype=np.float32).reshape(-1, 1, 2)
    if hull:
        outline = cv2.convexHull(outline)
    centre = points.mean(axis=0)
    anchors = centre + (1 - _INSET) * (points - centre)
    for i, vertex in enumerate(points):
        for share in (_INSET, 0.75, 1.0):
            anchor = centre + (1 - share) * (vertex - centre)
            if cv2.pointPolygonTest(outline, (float(anchor[0]), float(anchor[1])), False) >= 0:
                anchors[i] = anchor
                break
        else:
            anchors[i] = centre
    return np.asarray(anchors, dtype=np.float64)


def _turned(
    anchors: Array, carried: Array, offsets: Array, reliable: npt.NDArray[np.bool_]
) -> Array:
    """``offsets`` ``(N, 2)`` turned and scaled, frame by frame, by the similarity that best
    maps ``anchors`` ``(N, 2)`` about their centroid onto ``carried`` ``(F, N, 2)``'s, fitted
    to the anchors still ``reliable`` ``(F, N)`` there (as complex numbers, ``sum(conj(a) c) /
    sum(|a|^2)``); unturned where fewer than two are. Returns ``(F, N, 2)``."""
    weight = reliable.astype(np.float64)  # (F, N)
    count = weight.sum(axis=1, keepdims=True)
    safe = np.maximum(count, 1.0)
    a = anchors[..., 0] + 1j * anchors[..., 1]  # (N,)
    c = carried[..., 0] + 1j * carried[..., 1]  # (F, N)
    a_mean = (weight * a[None]).sum(axis=1, keepdims=True) / safe
    c_mean = (weight * c).sum(axis=1, keepdims=True) / safe
    start, moved = a[None] - a_mean, c - c_mean
    norm = (weight * np.abs(start) ** 2).sum(axis=1)
    fitted = (weight * np.conj(start) * moved).sum(axis=1) / np.maximum(norm, 1e-12)
    similarity = np.where((count[:, 0] >= 2) & (norm > 1e-12), fitted, 1.0)
    turned = similarity[:, None] * (offsets[:, 0] + 1j * offsets[:, 1])[None]
    return np.stack([turned.real, turned.imag], axis=-1)


# --- points, skeleton ---------------------------------------------------------------------------


def _step(
    points: Array, flow: npt.NDArray[Any], scale: float, radius: float
) -> tuple[Array, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """``points`` ``(N, 2)`` moved by the median flow within ``radius`` cache pixels of each;
    which had any flow (a point out of the picture stays), and which sit on a motion boundary
    (the window's flow spread out: part object, part background)."""
    windows = np.concatenate(
        [points * scale - radius, np.full((len(points), 2), 2 * radius)], axis=1
    )
    budget = int(min(256, (2 * radius + 1) ** 2))
    rows, columns, _, used = _grid(windows, flow.shape, np.zeros(len(points)), budget)
    region = _sampled(flow, rows, columns)  # (N, 2, S)
    motion = _median(region, used[:, None, :] & np.ones((1, 2, 1), dtype=bool))
    found = np.isfinite(motion).all(axis=1)
    motion = np.where(found[:, None], motion, 0.0)
    apart = np.linalg.norm(region - motion[:, :, None], axis=1)
    spread = np.zeros(len(points))
    if found.any():  # only rows with flow: an all-NaN row (a point out of the picture) warns
        spread[found] = np.nanpercentile(np.where(used, apart, np.nan)[found], 75, axis=1)
    tolerance = _BOUNDARY + 0.1 * np.linalg.norm(motion, axis=1)
    boundary = found & (np.nan_to_num(spread) > tolerance)
    return points + motion / scale, found, boundary


def _carry_points(
    cache: FlowCache, start: Array, frames: range, radius: float, *, forward: bool
) -> tuple[Array, npt.NDArray[np.bool_]]:
    """``start`` ``(N, 2)`` carried frame by frame ``(steps + 1, N, 2)``, and where each point
    is reliable: from its keyframe up to the first step whose round trip misses.

    A point on a motion boundary (a corner of the object) has background in half its window,
    and the background's flow passes the round trip too; such a point moves instead with the
    robust motion of the whole group's box, checked as boxes are."""
    tolerance = max(_POINT_LOST, 0.25 * radius)
    points, passed = [np.asarray(start, dtype=np.float64)], [np.ones(len(start), dtype=bool)]
    group = _padded_boxes(points[0], cache.scale)[None]
    for n in frames:
        pair = cache.pair(n)
        there, back = (pair.forward, pair.backward) if forward else (pair.backward, pair.forward)
        moved, found, boundary = _step(points[-1], there, cache.scale, radius)
        returned, found_back, _ = _step(moved, back, cache.scale, radius)
        miss = np.linalg.norm(returned - points[-1], axis=1) * cache.scale
        carried, _ = carry_boxes(group, there, cache.scale)
        held = iou_xywh(_moved_back(carried, back, cache.scale), group)[0] >= _LOST
        with_group = _follow(points[-1], np.concatenate([group, carried]), 0)[1]
        moved = np.where(boundary[:, None], with_group, moved)
        passed.append(np.where(boundary, held, found & found_back & (miss <= tolerance)))
        points.append(moved)
        group = carried
    return np.array(points), np.cumprod(np.array(passed), axis=0).astype(bool)


def _matched(a: Points, b: Points) -> Array | None:
    """B's points in A's order (by index, or by node name for skeletons); None when skeleton
    node names differ."""
    if isinstance(a, Skeleton) and isinstance(b, Skeleton):
        if set(a.nodes) != set(b.nodes):
            return None
        return np.array([b.node(name) for name in a.nodes])
    return b.points


def _fill_points(cache: FlowCache, first: int, a: Points, last: int, b: Points) -> ShapeFill:
    t = times(first, last)
    radius = _radius(a, cache.scale)
    target = _matched(a, b)
    forward, reliable_f = _carry_points(cache, a.points, range(first, last), radius, forward=True)
    backward, reliable_b = _carry_points(
        cache,
        b.points if target is None else target,
        range(last - 1, first - 1, -1),
        radius,
        forward=False,
    )
    backward, reliable_b = backward[::-1], reliable_b[::-1]
    if target is None:
        return _fill_unmatched(first, (a, forward, reliable_f), last, (b, backward, reliable_b))
    reach = 2 * radius / cache.scale  # video px: chains this far apart agree by 1/e
    blended, confidence = _blend_points(
        t, (a.points, forward, reliable_f), (target, backward, reliable_b), reach
    )
    inner: list[Shape] = [_rebuilt(a, blended[k]) for k in range(1, len(t) - 1)]
    return ShapeFill(first, last, ends(a, inner, b), confidence)


PointChain = tuple[Array, Array, npt.NDArray[np.bool_]]


def _blend_points(
    t: Array, ahead: PointChain, behind: PointChain, reach: float
) -> tuple[Array, npt.NDArray[np.float64]]:
    """Points ``(F, N, 2)`` from a forward chain (keyframe A's points, the chain, where each
    point is reliable) and a backward one (B's, in frame order): per point, a chain that
    reaches the other keyframe reliably has its drift there spread over the span; the two are
    blended by time and reliability, and bridged straight where neither is reliable. With the
    confidence: the chains' agreement (``reach`` video px apart agree by 1/e)."""
    (start, forward, reliable_f), (end, backward, reliable_b) = ahead, behind
    forward = forward - (t[:, None] * reliable_f[-1])[..., None] * (forward[-1] - end)
    backward = backward - ((1 - t)[:, None] * reliable_b[0])[..., None] * (backward[0] - start)
    weights_f = (np.ones(reliable_f.shape), reliable_f)
    weights_b = (np.ones(reliable_b.shape), reliable_b)
    share, known = shares(t, weights_f, weights_b)
    blended = bridge(share[..., None] * forward + (1 - share[..., None]) * backward, t, known)
    agreement = np.exp(-np.linalg.norm(forward - backward, axis=-1) / reach)
    return blended, chain_confidence(agreement, weights_f, weights_b)


def _rebuilt(a: Points, points: Array) -> Points:
    if isinstance(a, Skeleton):
        return Skeleton(points, a.visible, a.nodes, a.edges)
    return Points(points, a.visible)


def _fill_unmatched(
    first: int,
    ahead: tuple[Points, Array, npt.NDArray[np.bool_]],
    last: int,
    behind: tuple[Points, Array, npt.NDArray[np.bool_]],
) -> ShapeFill:
    """Skeletons whose node names differ: each chain whole where it is reliable, blended by
    ``interpolate`` (which matches the nodes they share)."""
    (a, forward, reliable_f), (b, backward, reliable_b) = ahead, behind
    t = times(first, last)
    held_f = np.asarray(reliable_f.all(axis=1), dtype=bool)
    held_b = np.asarray(reliable_b.all(axis=1), dtype=bool)
    inner: list[Shape] = []
    for k in range(1, len(t) - 1):
        start = _rebuilt(a, forward[k]) if held_f[k] else a
        end = _rebuilt(b, backward[k]) if held_b[k] else b
        inner.append(interpolate(start, end, float(t[k])))
    confidence = np.where(held_f & held_b, 0.5, 0.25 * (held_f | held_b))
    confidence[0] = confidence[-1] = 1.0
    return ShapeFill(first, last, ends(a, inner, b), confidence.astype(np.float64))


def _same_count(a: Points, b: Points) -> None:
    if len(a.points) != len(b.points):
        raise AnnotationError(
            f"cannot match {len(a.points)} points with {len(b.points)}; both keyframes need the "
            "same number",
            field="points",
        )


_Filler = Callable[[FlowCache, int, Any, int, Any], ShapeFill]
_FILLERS: dict[ShapeKind, _Filler] = {
    ShapeKind.BOX: _fill_box,
    ShapeKind.POLYGON: _fill_outline,
    ShapeKind.POLYLINE: _fill_outline,
    ShapeKind.CUBOID: _fill_outline,
    ShapeKind.POINTS: _fill_points,
    ShapeKind.SKELETON: _fill_points,
    ShapeKind.MASK: fill_mask,
}
_CHECKS: dict[ShapeKind, Callable[[Any, Any], None]] = {
    ShapeKind.POINTS: _same_count,
    ShapeKind.MASK: same_size,
}
