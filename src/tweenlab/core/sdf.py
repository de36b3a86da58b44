"""Signed distance fields of binary masks, and morphing one mask into another through them.

This module owns how mask interpolation morphs (``morph_masks``: align by centroids, blend
signed distances, threshold) and the exact Euclidean distance transform under it. Distances
are between pixel centres. ``signed_distance(m) = dist_outside - dist_inside``: for an unset
pixel the distance to the nearest set pixel, for a set pixel minus the distance to the nearest
unset one (pixels beyond the frame count as unset), so set pixels are ``<= -1``, unset ``>= 1``.

The transform is Felzenszwalb and Huttenlocher's (2012): along each row the distance to the
nearest feature (two running extremes), then along each column the lower envelope of parabolas,
computed for all columns at once (a Python loop over one axis, numpy across the other). Squared
distances are integers, so the result is exact and identical in any correct port.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tweenlab.errors import AnnotationError

__all__ = ["morph_masks", "signed_distance"]

Array = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


def signed_distance(mask: BoolArray) -> Array:
    """``dist_outside - dist_inside`` for every pixel of a 2-D boolean mask (see the module).

    An empty mask is ``+inf`` everywhere.

    Example:
        >>> signed_distance(np.array([[0, 1, 1, 0, 0]], dtype=bool)).tolist()
        [[1.0, -1.0, -1.0, 1.0, 2.0]]
    """
    padded = np.pad(np.asarray(mask, dtype=bool), 1)
    return _signed(padded[None])[0, 1:-1, 1:-1]


def morph_masks(a: BoolArray, b: BoolArray, t: float) -> BoolArray:
    """The mask ``t`` of the way from ``a`` to ``b`` (both ``(H, W)``).

    The two masks are first laid over each other by the whole-pixel offset between their
    centroids, ``move = floor(centroid_b - centroid_a + 0.5)`` as (rows, columns); there the
    signed distances are blended, ``sa + (sb - sa) * t``, and the pixels ``<= 0`` are set; the
    result is then moved by ``floor(t * move + 0.5)``. So a shape that moves keeps its size all
    the way (blending far-apart shapes in place would thin them out), and one that changes
    shape morphs rather than cross-fades. An empty side stands for the other side's field
    raised by its greatest depth plus one: a vanishing mask erodes evenly and is gone at
    ``t = 1``, an appearing one grows from its deepest points. Work is confined to the
    bounding boxes of the masks, framed by one unset pixel; pixels beyond the frame are unset.

    Example:
        >>> a = np.array([[1, 1, 0, 0, 0, 0]], dtype=bool)
        >>> morph_masks(a, a[:, ::-1], 0.5).astype(int).tolist()
        [[0, 0, 1, 1, 0, 0]]
    """
    if a.shape != b.shape:
        raise AnnotationError(f"mask sizes differ: {a.shape} and {b.shape}", field="mask.size")
    box_a, box_b = _bounds(a), _bounds(b)
    result = np.zeros(a.shape, dtype=bool)
    if box_a is None and box_b is None:
        return result
    move = _centroid(b) - _centroid(a) if box_a and box_b else np.zeros(2)
    offset = np.floor(move + 0.5).astype(np.int64)
    boxes = [box for box in (box_a, _moved(box_b, -offset)) if box is not None]
    top, left = min(box[0] for box in boxes) - 1, min(box[1] for box in boxes) - 1
    size = (max(box[2] for box in boxes) - top + 1, max(box[3] for box in boxes) - left + 1)
    canvas = np.zeros((2, *size), dtype=bool)
    for layer, mask, box, shift in ((0, a, box_a, (0, 0)), (1, b, box_b, offset)):
        if box is not None:
            rows = slice(box[0] - shift[0] - top, box[2] - shift[0] - top)
            columns = slice(box[1] - shift[1] - left, box[3] - shift[1] - left)
            canvas[layer, rows, columns] = mask[box[0] : box[2], box[1] : box[3]]
    start, end = _fields(canvas, present=(box_a is not None, box_b is not None))
    step = np.floor(t * offset + 0.5).astype(np.int64)
    _paste(result, start + (end - start) * t <= 0.0, (top + step[0], left + step[1]))
    return result


Bounds = tuple[int, int, int, int]


def _bounds(mask: BoolArray) -> Bounds | None:
    """``(top, left, bottom, right)`` of the set pixels, exclusive ends; ``None`` when empty."""
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(columns[0]), int(rows[-1]) + 1, int(columns[-1]) + 1


def _moved(box: Bounds | None, by: IntArray) -> Bounds | None:
    if box is None:
        return None
    return box[0] + int(by[0]), box[1] + int(by[1]), box[2] + int(by[0]), box[3] + int(by[1])


def _centroid(mask: BoolArray) -> Array:
    """The mean (row, column) of the set pixels."""
    rows, columns = mask.sum(axis=1), mask.sum(axis=0)
    total = float(rows.sum())
    return np.array([rows @ np.arange(rows.size), columns @ np.arange(columns.size)]) / total


def _fields(canvas: BoolArray, present: tuple[bool, bool]) -> tuple[Array, Array]:
    """Signed distances of both layers; an empty layer gets the other's raised above zero."""
    if all(present):
        start, end = _signed(canvas)
        return start, end
    field = _signed(canvas[[present.index(True)]])[0]
    raised = field - field.min() + 1.0
    return (field, raised) if present[0] else (raised, field)


def _paste(target: BoolArray, source: BoolArray, origin: tuple[int, int]) -> None:
    """Write ``source`` into ``target`` with its top-left at ``origin``, clipped to ``target``."""
    top, left = max(origin[0], 0), max(origin[1], 0)
    bottom = min(origin[0] + source.shape[0], target.shape[0])
    right = min(origin[1] + source.shape[1], target.shape[1])
    if bottom > top and right > left:
        target[top:bottom, left:right] = source[
            top - origin[0] : bottom - origin[0], left - origin[1] : right - origin[1]
        ]


def _signed(masks: BoolArray) -> Array:
    """Signed distances of a stack of masks ``(B, H, W)``; each must be framed by unset pixels."""
    count = len(masks)
    squared = _squared_distances(np.concatenate((masks, ~masks)))
    outside, inside = np.sqrt(squared[:count]), np.sqrt(squared[count:])
    return np.where(masks, -inside, outside)


def _squared_distances(features: BoolArray) -> Array:
    """Squared distance from every pixel to the nearest ``True`` of its own image ``(B, H, W)``;
    ``inf`` in an image without any.

    The envelope pass loops over the shorter side, so the stack is transposed when it is tall.
    """
    tall = features.shape[1] > features.shape[2]
    stack = features.transpose(0, 2, 1) if tall else features
    count, height, width = stack.shape
    along_rows = _row_squared_distances(stack)  # (B, h, w)
    columns = along_rows.transpose(1, 0, 2).reshape(height, count * width)
    squared = _envelope(columns).reshape(height, count, width).transpose(1, 0, 2)
    squared = np.where(squared < _NONE, squared, np.inf)
    return squared.transpose(0, 2, 1) if tall else squared


#: Squared distances from this on mean "no feature": a row without any is given ``2 ** 50``,
#: still an exact float64 integer, so the envelope pass needs no special cases for it.
_NONE = 2.0**49
_FAR = 2**25


def _row_squared_distances(features: BoolArray) -> Array:
    """Squared distance to the nearest feature in the same row (``>= _NONE`` if there is none)."""
    width = features.shape[-1]
    position = np.arange(width, dtype=np.int32)
    far = np.int32(_FAR + width)
    before = position - np.maximum.accumulate(np.where(features, position, -far), axis=-1)
    backwards = np.where(features[..., ::-1], position, -far)  # positions counted from the end
    after = (position - np.maximum.accumulate(backwards, axis=-1))[..., ::-1]
    nearest = np.minimum(before, after).astype(np.float64)
    return nearest * nearest


def _envelope(values: Array) -> Array:
    """``min_q (p - q) ** 2 + values[q]`` along axis 0, for every column."""
    height, width = values.shape
    apex, starts = _build_envelope(values)
    flat_values = values.ravel()
    column = np.arange(width)
    which = np.zeros(width, dtype=np.int64)  # the parabola lowest at p, per column
    result = np.empty_like(values)
    for p in range(height):
        moving = column[starts[(which + 1) * width + column] < p]
        while moving.size:
            which[moving] += 1
            moving = moving[starts[(which[moving] + 1) * width + moving] < p]
        centre = apex[which * width + column]
        result[p] = (p - centre) ** 2 + flat_values[centre * width + column]
    return result


def _build_envelope(values: Array) -> tuple[IntArray, Array]:
    """The lower envelope of the parabolas ``(p - q) ** 2 + values[q]`` of each column.

    Returns, flattened from ``(height, width)`` and ``(height + 1, width)``, ``apex[k]`` (the
    ``q`` of the ``k``-th parabola of the envelope) and ``starts[k]`` (where it becomes the
    lowest: ``-inf`` for the first, ``inf`` after the last).
    """
    height, width = values.shape
    lifted = (values + (np.arange(height, dtype=np.float64) ** 2)[:, None]).ravel()
    apex = np.zeros(height * width, dtype=np.int64)
    starts = np.full((height + 1) * width, np.inf)
    starts[:width] = -np.inf
    column = np.arange(width)
    top = np.zeros(width, dtype=np.int64)  # the last parabola so far; the first is q = 0
    for q in range(1, height):
        cross = _crossing(lifted, q, apex[top * width + column], column, width)
        popping = column[cross <= starts[top * width + column]]
        while popping.size:  # FH: drop parabolas the new one hides from where they start
            top[popping] -= 1
            place = top[popping] * width + popping
            cross[popping] = _crossing(lifted, q, apex[place], popping, width)
            popping = popping[cross[popping] <= starts[place]]
        top += 1
        place = top * width + column
        apex[place] = q
        starts[place] = cross
        starts[place + width] = np.inf
    return apex, starts


def _crossing(lifted: Array, q: int, last: IntArray, column: IntArray, width: int) -> Array:
    """Where parabola ``q`` meets parabola ``last`` (per column): the ``p`` at which both are
    equal; ``lifted`` is ``values + q ** 2``, flattened."""
    crossing: Array = (lifted[q * width + column] - lifted[last * width + column]) / (
        2.0 * (q - last)
    )
    return crossing
