"""Outline correspondence: blending two polygons or two polylines by arc length.

This module owns how ``interpolation`` morphs one outline into another, so that neither the
start vertex nor the drawing direction of the two outlines has to agree, and vertex counts may
differ. The steps, each a small function a browser port can follow line by line:

1. **Align.** Sample both outlines at ``M`` points evenly spaced by arc length
   (``M = clip(max(na, nb), 64, 1024)``). For polygons, pick the orientation of ``b`` (as drawn,
   or reversed from its first vertex) and the cyclic shift ``k`` minimising the sum of squared
   distances to ``a``'s samples (all shifts at once in numpy; ties go to the first candidate: as
   drawn before reversed, smaller ``k`` first). For polylines pick the direction the same way.
2. **Refine** (polygons). The sampled shift ``k / M`` would cut the corners of a translated
   copy, so also try the offsets that put a vertex of ``b`` exactly on a vertex of ``a``: for
   each vertex of ``a``, the nearest vertices of ``b`` on either side, if less than ``1 / M``
   away (at most 32, the smallest moves first); keep the offset with the least sum of squared
   distances at ``a``'s samples (the sampled offset is a candidate too; ties: the smallest).
3. **Correspond.** Parametrise each outline by normalised arc length ``u`` in ``[0, 1)``
   (``[0, 1]`` for polylines) from its first vertex; point ``u`` of ``a`` matches point
   ``u + offset`` (mod 1) of the aligned ``b``. Sample both at the union of ``a``'s vertex
   parameters and ``b``'s (mapped into ``a``'s), so both outlines are reproduced exactly.
4. **Blend** the matched points linearly: ``p = pa + (pb - pa) * t``.
5. **Simplify**: repeatedly drop the vertex closest to the chord of its neighbours (ties: the
   earliest), while it is within ``COLLINEAR`` pixels, or while more than
   ``floor((1 - t) * na + t * nb + 0.5)`` vertices are left and it is within ``TOLERANCE``
   pixels. No intermediate shape therefore differs visibly from the exact blend.

Blending is linear, so it does not turn shapes: between two copies of a shape turned far
apart, the in-betweens are rounder than either: mid-way between a square of side 28 px and
the same square turned by 20 (40) degrees, the outline is 0.25 (1.3) px off the square turned
by half as much. Turning objects want keyframes closer together.
"""

from __future__ import annotations

import heapq
import math

import numpy as np
import numpy.typing as npt

__all__ = ["COLLINEAR", "TOLERANCE", "blend_polygons", "blend_polylines"]

Array = npt.NDArray[np.float64]
Point = tuple[float, float]

#: Vertices nearer than this (pixels) to the chord of their neighbours are always dropped.
COLLINEAR = 1e-9
#: Vertices nearer than this (pixels) may be dropped to approach the blended vertex count.
TOLERANCE = 0.25
#: Parameters (fractions of the perimeter) closer than this are one vertex.
_SAME_PARAMETER = 1e-9
#: At most this many vertex-to-vertex offsets are tried when refining the sampled alignment.
_NUDGES = 32


def blend_polygons(a: Array, b: Array, t: float) -> Array:
    """The polygon ``t`` of the way from ``a`` to ``b`` (both ``(N, 2)``, closed implicitly).

    Example:
        >>> square = np.array([[0, 0], [2, 0], [2, 2], [0, 2]], dtype=float)
        >>> redrawn = square[[2, 1, 0, 3]]  # another start vertex, the other direction
        >>> blend_polygons(square, redrawn, 0.5).tolist()
        [[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]]
    """
    turned = np.roll(b[::-1], 1, axis=0)  # b the other way round, still from b[0]
    count = _sample_count(a, b)
    samples = _resample(a, count, closed=True)
    shift, reverse = _align_closed(
        samples, _resample(b, count, closed=True), _resample(turned, count, closed=True)
    )
    aligned = turned if reverse else b
    pa, pb = _parameters(a, closed=True), _parameters(aligned, closed=True)
    offset = _refine(samples, pa, aligned, pb, shift / count)
    union = _merge(pa, np.mod(pb - offset, 1.0), closed=True)
    start = _sample(a, union, closed=True)
    end = _sample(aligned, np.mod(union + offset, 1.0), closed=True)
    return _simplify(start + (end - start) * t, _target(len(a), len(b), t), closed=True)


def blend_polylines(a: Array, b: Array, t: float) -> Array:
    """The polyline ``t`` of the way from ``a`` to ``b``, matching ``b``'s nearer direction.

    Example:
        >>> line = np.array([[0, 0], [4, 0]], dtype=float)
        >>> blend_polylines(line, line[::-1] + [0, 2], 0.5).tolist()
        [[0.0, 1.0], [4.0, 1.0]]
    """
    count = _sample_count(a, b)
    samples = _resample(a, count, closed=False)
    forward = _squared_distance(samples, _resample(b, count, closed=False))
    backward = _squared_distance(samples, _resample(b[::-1], count, closed=False))
    aligned = b[::-1] if backward < forward else b
    union = _merge(_parameters(a, closed=False), _parameters(aligned, closed=False), closed=False)
    start = _sample(a, union, closed=False)
    end = _sample(aligned, union, closed=False)
    return _simplify(start + (end - start) * t, _target(len(a), len(b), t), closed=False)


def _sample_count(a: Array, b: Array) -> int:
    return int(np.clip(max(len(a), len(b)), 64, 1024))


def _target(count_a: int, count_b: int, t: float) -> int:
    """The blended vertex count, rounding halves up (as ``Math.round`` does in a port)."""
    return int(np.floor((1.0 - t) * count_a + t * count_b + 0.5))


def _parameters(points: Array, *, closed: bool) -> Array:
    """Normalised arc length at each vertex: ``[0, 1)`` closed, ``[0, 1]`` open.

    An outline of zero length gets evenly spaced parameters instead.
    """
    ends = np.vstack((points[1:], points[:1])) if closed else points[1:]
    lengths = np.hypot(*(ends - points[: len(ends)]).T)
    total = float(lengths.sum())
    if total <= 0.0:
        return np.arange(len(points)) / (len(points) if closed else len(points) - 1)
    cumulative = np.concatenate(([0.0], np.cumsum(lengths)))
    return cumulative[: len(points)] / total


def _sample(points: Array, at: Array, *, closed: bool) -> Array:
    """Points at normalised arc-length parameters ``at`` (linear between vertices)."""
    knots = _parameters(points, closed=closed)
    if closed:
        knots = np.append(knots, 1.0)
        points = np.vstack((points, points[:1]))
    return np.stack((np.interp(at, knots, points[:, 0]), np.interp(at, knots, points[:, 1])), 1)


def _resample(points: Array, count: int, *, closed: bool) -> Array:
    """``count`` points evenly spaced by arc length, from the first vertex."""
    at = np.arange(count) / count if closed else np.linspace(0.0, 1.0, count)
    return _sample(points, at, closed=closed)


def _squared_distance(a: Array, b: Array) -> float:
    return float(((a - b) ** 2).sum())


def _align_closed(a: Array, b: Array, turned: Array) -> tuple[int, bool]:
    """The shift ``k`` and orientation of ``b`` whose samples ``b[(j + k) % M]`` best fit ``a``.

    Returns ``(k, reverse)``; costs are sums of squared distances over all ``M`` shifts.
    """
    count = len(a)
    index = (np.arange(count)[:, None] + np.arange(count)[None, :]) % count  # [k, j] -> j + k
    costs = np.concatenate(
        [((other[index] - a[None]) ** 2).sum(axis=(1, 2)) for other in (b, turned)]
    )
    best = int(np.argmin(costs))
    return best % count, best >= count


def _refine(samples: Array, pa: Array, b: Array, pb: Array, offset: float) -> float:
    """The offset (``a``'s ``u`` matches ``b``'s ``u + offset``) that fits best among
    ``offset`` and the nearby ones that put a vertex of ``b`` on one of ``a`` (step 2)."""
    count = len(samples)
    landing = np.mod(pa + offset, 1.0)
    place = np.searchsorted(pb, landing)
    neighbours = pb[np.mod(np.stack((place - 1, place)), len(pb))]
    gaps = np.mod(neighbours - landing + 0.5, 1.0) - 0.5
    gaps = np.unique(gaps[np.abs(gaps) < 1.0 / count])
    nudges = np.sort(gaps[np.argsort(np.abs(gaps), kind="stable")[:_NUDGES]])
    nudges = np.unique(np.append(nudges, 0.0))
    at = np.mod(np.arange(count)[None, :] / count + offset + nudges[:, None], 1.0)
    matched = _sample(b, at.ravel(), closed=True).reshape(*at.shape, 2)
    costs = ((matched - samples) ** 2).sum(axis=(1, 2))
    return float(np.mod(offset + nudges[int(np.argmin(costs))], 1.0))


def _merge(first: Array, second: Array, *, closed: bool) -> Array:
    """``first`` (sorted) with the values of ``second`` that are not already there, sorted.

    Closed outlines wrap: a parameter just below 1 is the same as 0.
    """
    extra = np.sort(second)
    if extra.size:
        keep = np.concatenate(([True], np.diff(extra) > _SAME_PARAMETER))
        extra = extra[keep]
        place = np.searchsorted(first, extra)
        below = first[np.maximum(place - 1, 0)]
        above = first[np.minimum(place, len(first) - 1)]
        gap = np.minimum(np.abs(extra - below), np.abs(above - extra))
        if closed:
            gap = np.minimum(gap, 1.0 - extra + first[0])
        extra = extra[gap > _SAME_PARAMETER]
    return np.sort(np.concatenate((first, extra)), kind="stable")


def _chord_distance(previous: Point, point: Point, following: Point) -> float:
    """Distance of ``point`` from the line through its neighbours (or from them, if equal)."""
    chord_x, chord_y = following[0] - previous[0], following[1] - previous[1]
    offset_x, offset_y = point[0] - previous[0], point[1] - previous[1]
    length = math.hypot(chord_x, chord_y)
    if length == 0.0:
        return math.hypot(offset_x, offset_y)
    return abs(chord_x * offset_y - chord_y * offset_x) / length


def _simplify(points: Array, target: int, *, closed: bool) -> Array:
    """Drop the vertices nearest the chords of their neighbours (see the module docstring)."""
    count = len(points)
    xy: list[Point] = [(float(x), float(y)) for x, y in points]
    before = [(i - 1) % count for i in range(count)]
    after = [(i + 1) % count for i in range(count)]
    alive = [True] * count
    movable = range(count) if closed else range(1, count - 1)

    def significance(i: int) -> float:
        return _chord_distance(xy[before[i]], xy[i], xy[after[i]])

    heap = [(significance(i), i) for i in movable]
    heapq.heapify(heap)
    left = count
    while heap and left > (3 if closed else 2):
        distance, i = heapq.heappop(heap)
        if not alive[i] or distance != significance(i):
            continue  # removed already, or a stale entry (a neighbour has gone since)
        if distance > COLLINEAR and (left <= target or distance > TOLERANCE):
            break
        alive[i], left = False, left - 1
        after[before[i]], before[after[i]] = after[i], before[i]
        for neighbour in (before[i], after[i]):
            if neighbour in movable:
                heapq.heappush(heap, (significance(neighbour), neighbour))
    kept: Array = points[np.array(alive)]
    return kept
