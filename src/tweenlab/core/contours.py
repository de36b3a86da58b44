"""Contour tracing: the outlines of a binary mask as closed polygons along pixel edges.

This module owns the conversion mask -> polygons (``Rle.to_polygons``). Outlines follow the
edges between set and unset pixels in continuous pixel coordinates ``(x, y)``, so the pixel at
row ``r``, column ``c`` alone gives the square ``(c, r), (c + 1, r), (c + 1, r + 1), (c, r + 1)``.

Conventions, chosen so that even-odd rasterisation at pixel centres (``Rle.from_polygons``) gives
the mask back exactly:

- every edge between a set and an unset pixel belongs to exactly one loop, once;
- loops keep the set pixels on their right as drawn on screen (y down): outer boundaries run
  clockwise on screen (positive shoelace area in ``(x, y)``), holes anticlockwise (negative);
- where two set pixels touch only at a corner, the loop turns towards the set pixel it is
  following, so set pixels are 4-connected: diagonal neighbours get loops of their own (a
  component touching itself diagonally gives one loop that passes the corner twice);
- collinear vertices are dropped (a rectangle has 4 vertices); each loop starts at its smallest
  vertex in (y, x) order (the top-left corner for an outer boundary), loops sorted the same way.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tweenlab.errors import AnnotationError

__all__ = ["trace_contours"]

IntArray = npt.NDArray[np.int64]

# Directions, turning right (clockwise on screen) as the index grows: +x, +y, -x, -y.
_STEP = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]], dtype=np.int64)


def trace_contours(mask: npt.ArrayLike) -> list[npt.NDArray[np.float64]]:
    """The outlines (outer boundaries and holes) of the set pixels of a 2-D mask.

    Args:
        mask: A boolean ``(H, W)`` array (anything ``np.asarray(..., bool)`` accepts).

    Returns:
        One ``(N, 2)`` float array of ``(x, y)`` vertices per loop, without repeating the first
        vertex at the end; outer boundaries clockwise on screen, holes anticlockwise.

    Raises:
        AnnotationError: If ``mask`` is not 2-D.

    Example:
        >>> mask = np.zeros((3, 4), dtype=bool); mask[1, 1:3] = True
        >>> [loop.tolist() for loop in trace_contours(mask)]
        [[[1.0, 1.0], [3.0, 1.0], [3.0, 2.0], [1.0, 2.0]]]
    """
    dense = np.asarray(mask, dtype=bool)
    if dense.ndim != 2:
        raise AnnotationError(f"needs a 2-D array, got shape {dense.shape}", field="mask")
    rows, columns = np.flatnonzero(dense.any(axis=1)), np.flatnonzero(dense.any(axis=0))
    if rows.size == 0:
        return []
    top, left = int(rows[0]), int(columns[0])
    crop = dense[top : rows[-1] + 1, left : columns[-1] + 1]
    start, direction, width = _edges(crop)
    following = _successors(start, direction, width)
    loop, order = _cycles(following)
    return _loops(start[order], direction[order], loop[order], width, (left, top))


def _edges(crop: npt.NDArray[np.bool_]) -> tuple[IntArray, IntArray, int]:
    """Every directed boundary edge, set pixel on its right, sorted by (start vertex, direction).

    Returns the start vertex ids (``y * (w + 1) + x``), the directions, and ``w + 1``.
    """
    padded = np.pad(crop, 1)
    above, below = padded[:-1, 1:-1], padded[1:, 1:-1]  # (h + 1, w): horizontal edges at y = r
    left, right = padded[1:-1, :-1], padded[1:-1, 1:]  # (h, w + 1): vertical edges at x = c
    width = crop.shape[1] + 1
    parts = []
    for selected, dx, dy, direction in (
        (below & ~above, 0, 0, 0),  # top edge of a set pixel, heading +x from (c, r)
        (left & ~right, 0, 0, 1),  # right edge of a set pixel, heading +y from (c, r)
        (above & ~below, 1, 0, 2),  # bottom edge of a set pixel, heading -x from (c + 1, r)
        (right & ~left, 0, 1, 3),  # left edge of a set pixel, heading -y from (c, r + 1)
    ):
        r, c = np.nonzero(selected)
        vertex = (r + dy) * width + c + dx
        parts.append(vertex * 4 + direction)
    keys = np.sort(np.concatenate(parts)).astype(np.int64)
    return keys // 4, keys % 4, width


def _successors(start: IntArray, direction: IntArray, width: int) -> IntArray:
    """The edge that follows each edge: turn right if possible, else straight on, else left.

    At a corner where two set pixels touch diagonally two edges leave; turning right keeps to
    the pixel being followed, which is what makes set pixels 4-connected.
    """
    keys = start * 4 + direction
    end = start + _STEP[direction, 1] * width + _STEP[direction, 0]
    following = np.full(keys.size, -1, dtype=np.int64)
    for turn in (1, 0, 3):
        wanted = end * 4 + (direction + turn) % 4
        found = np.minimum(np.searchsorted(keys, wanted), keys.size - 1)
        take = (following < 0) & (keys[found] == wanted)
        following[take] = found[take]
    return following


def _cycles(following: IntArray) -> tuple[IntArray, IntArray]:
    """Split a permutation into its cycles, by pointer jumping (O(n log L), all in numpy).

    Returns, per edge, the smallest edge index of its cycle (the cycle's label), and the order
    that lists cycles by label, each from its label edge onwards.
    """
    label = np.arange(following.size, dtype=np.int64)
    jump = following.copy()
    while True:  # after k rounds, label = min over the next 2**k edges; stable means done
        smaller = np.minimum(label, label[jump])
        if np.array_equal(smaller, label):
            break
        label, jump = smaller, jump[jump]
    previous = np.empty_like(following)
    previous[following] = np.arange(following.size)
    heads = label == np.arange(following.size)
    previous[heads] = np.flatnonzero(heads)
    position = (~heads).astype(np.int64)
    while not np.array_equal(previous, label):  # list ranking: steps back to the loop's head
        position += position[previous]
        previous = previous[previous]
    return label, np.lexsort((position, label))


def _loops(
    start: IntArray, direction: IntArray, loop: IntArray, width: int, origin: tuple[int, int]
) -> list[npt.NDArray[np.float64]]:
    """Polygons from edges listed loop by loop, keeping only vertices where the path turns."""
    bounds = np.flatnonzero(np.diff(loop)) + 1
    first = np.concatenate(([0], bounds))
    previous = np.arange(loop.size) - 1
    last = np.concatenate((bounds, [loop.size])) - 1
    previous[first] = last
    corner = direction != direction[previous]
    points = np.stack((start % width + origin[0], start // width + origin[1]), axis=1)
    points = points.astype(np.float64)
    return [
        points[lo:hi][corner[lo:hi]]
        for lo, hi in zip(first.tolist(), (last + 1).tolist(), strict=True)
    ]
