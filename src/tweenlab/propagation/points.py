"""A small box followed by its own points: Median Flow (Kalal et al., 2010) on the frames
around it scaled up, started from the cached flow, with matching its pixels as the fallback.

The cached flow is computed once per video at a size where a small object is a few of DIS's
8 px patches, so its motion is smoothed into the background's around it; ``boxes`` carries a
box under 40 px (at the cache's size) with ``_fine_step`` instead.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import numpy.typing as npt

from tweenlab.propagation.flow import _cv2

Boxes = npt.NDArray[np.float64]
_MIN_SCALE, _MAX_SCALE = 0.92, 1.09  # objects rarely change size by more in a frame
_FINE_SIDE = 48  # on a crop scaled up so the box's smaller side is about this
_FINE_MAX_UP = 4.0  # (at most this many times)
_POINTS = 6  # a grid of this many points a side inside the box
_WINDOW, _LEVELS = 9, 2  # Lucas-Kanade's window (crop px) and pyramid levels
_BACK_HOME = 0.25  # a step is trusted when its points come back within this share of the box
_MATCHED = 0.6  # normalised correlation a match needs to overrule the flow
_BETTER = 0.01  # and by how much it must beat the correlation where the flow put the box


def _matched(
    before: Boxes,
    carried: Boxes,
    source: npt.NDArray[np.uint8],
    target: npt.NDArray[np.uint8],
    scale: float,
) -> Boxes:
    """``before`` moved to where its pixels in ``source`` best match in ``target``, searched
    around where the flow put it (``carried``); its size stays.

    Flow is smoothed across motion boundaries, which for an object a few patches wide biases
    its motion toward the background's: a small fast box lags a little every frame, and the
    lag compounds. Matching the object's own pixels (normalised cross-correlation, sub-pixel
    peak) removes that bias; a weak match (below ``_MATCHED``) leaves the flow's answer.
    """
    cv2 = _cv2()
    height, width = source.shape
    x, y, w, h = (before * scale).tolist()
    x0, y0 = max(0, round(x)), max(0, round(y))
    x1, y1 = min(width, round(x + w)), min(height, round(y + h))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return carried
    template = source[y0:y1, x0:x1]
    cx, cy = carried[0] * scale + (x0 - x), carried[1] * scale + (y0 - y)  # template's origin
    reach = max(4, round(0.2 * max(x1 - x0, y1 - y0)))  # the flow is off by a few px at most
    sx0, sy0 = max(0, round(cx) - reach), max(0, round(cy) - reach)
    sx1 = min(width, round(cx) + (x1 - x0) + reach)
    sy1 = min(height, round(cy) + (y1 - y0) + reach)
    if sx1 - sx0 < template.shape[1] + 2 or sy1 - sy0 < template.shape[0] + 2:
        return carried
    scores = cv2.matchTemplate(target[sy0:sy1, sx0:sx1], template, cv2.TM_CCOEFF_NORMED)
    _, best, _, (bx, by) = cv2.minMaxLoc(scores)
    if not best >= _MATCHED:
        return carried
    dx = _peak(scores[by, max(bx - 1, 0) : bx + 2], bx)
    dy = _peak(scores[max(by - 1, 0) : by + 2, bx], by)
    px, py = round(cx) - sx0, round(cy) - sy0  # where the flow put it, in the scores
    inside = 0 <= py < scores.shape[0] and 0 <= px < scores.shape[1]
    if inside and best - float(scores[py, px]) < _BETTER:
        return carried  # the flow's answer is about as good: keep its sub-pixel motion
    moved = carried.copy()  # the centre from the match, the size from the flow
    moved[0] = (sx0 + bx + dx - (x0 - x)) / scale - (carried[2] - before[2]) / 2
    moved[1] = (sy0 + by + dy - (y0 - y)) / scale - (carried[3] - before[3]) / 2
    return moved


def _fine_step(
    box: Boxes,
    source: npt.NDArray[np.uint8],
    target: npt.NDArray[np.uint8],
    there: npt.NDArray[Any],
    scale: float,
) -> tuple[Boxes, float, float] | None:
    """One step of a small box by its own points (Median Flow: Kalal et al., 2010).

    The cached flow is computed once per video at a size where a small object is a few of DIS's
    8 px patches, so its motion is smoothed into the background's around it: the box lags, is
    lost or stretches. Here the grey frames around the box (``source`` to ``target``, cache
    size) are scaled up so its smaller side is about ``_FINE_SIDE`` px, a grid of points inside
    it is tracked by pyramidal Lucas-Kanade from where the cached flow ``there`` puts each
    (so fast motion is not lost) and back again; the points whose way back ends within the
    median error move the box by their median motion and scale it by the median ratio of their
    distances. Returns the carried box, its coherence (the share of points kept) and its round
    trip: 1 when the points come back, by the median, within ``_BACK_HOME`` of the box's
    smaller side, else 0 (the chain is not trusted from there on); or None where the box is
    too near the edge or too few points are kept.
    """
    cv2 = _cv2()
    x, y, w, h = (box * scale).tolist()
    up = min(_FINE_MAX_UP, max(1.0, _FINE_SIDE / max(min(w, h), 1.0)))
    reach = max(w, h) + 2 * _WINDOW  # room to move, and the points' windows
    height, width = source.shape
    x0, y0 = max(0, math.floor(x - reach)), max(0, math.floor(y - reach))
    x1, y1 = min(width, math.ceil(x + w + reach)), min(height, math.ceil(y + h + reach))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    size = (round((x1 - x0) * up), round((y1 - y0) * up))
    grow = size[0] / (x1 - x0)  # crop px per cache px
    before = cv2.resize(source[y0:y1, x0:x1], size, interpolation=cv2.INTER_CUBIC)
    after = cv2.resize(target[y0:y1, x0:x1], size, interpolation=cv2.INTER_CUBIC)
    at = np.empty((_POINTS * _POINTS, 2))  # the grid, row by row (cache px)
    at[:, 0] = np.tile(x + _INSET * w, _POINTS)
    at[:, 1] = np.repeat(y + _INSET * h, _POINTS)
    flow = np.asarray(
        there[
            np.minimum(np.maximum(at[:, 1].astype(np.intp), 0), height - 1),
            np.minimum(np.maximum(at[:, 0].astype(np.intp), 0), width - 1),
        ],
        dtype=np.float64,
    )
    points = np.ascontiguousarray(((at - (x0, y0)) * grow).reshape(-1, 1, 2), dtype=np.float32)
    guess = np.ascontiguousarray(((at + flow - (x0, y0)) * grow).reshape(-1, 1, 2), np.float32)
    options = {
        "winSize": (_WINDOW, _WINDOW),
        "maxLevel": _LEVELS,
        "criteria": (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03),
        "flags": cv2.OPTFLOW_USE_INITIAL_FLOW,
    }
    moved, found, _ = cv2.calcOpticalFlowPyrLK(before, after, points, guess, **options)
    back, returned, _ = cv2.calcOpticalFlowPyrLK(after, before, moved, points.copy(), **options)
    start, end, home = points[:, 0], moved[:, 0], back[:, 0]
    miss = np.hypot(*(home - start).T)
    tracked = (found.ravel() == 1) & (returned.ravel() == 1)
    if tracked.sum() < 4:
        return None
    typical_miss = float(_middle(miss[tracked]))
    kept = tracked & (miss <= max(typical_miss, 0.5 * grow))
    count = int(kept.sum())
    if count < 4:
        return None
    moves = end[kept] - start[kept]
    motion = np.array([_middle(moves[:, 0]), _middle(moves[:, 1])], dtype=moves.dtype) / grow
    first, second = _pairs(count)
    apart = np.hypot(*(start[kept][first] - start[kept][second]).T)
    later = np.hypot(*(end[kept][first] - end[kept][second]).T)
    usable = apart > 1e-3
    stretch = float(_middle(later[usable] / apart[usable])) if usable.any() else 1.0
    stretch = min(max(stretch, _MIN_SCALE), _MAX_SCALE)
    extent = np.array([w, h]) * stretch
    centre = np.array([x + w / 2, y + h / 2]) + motion
    carried = np.concatenate([centre - extent / 2, extent])
    back_home = typical_miss / grow < _BACK_HOME * min(w, h)
    return carried / scale, float(kept.mean()), 1.0 if back_home else 0.0


_INSET = np.linspace(0.1, 0.9, _POINTS)  # where the grid's points lie across the box


@functools.cache
def _pairs(count: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Every pair of ``count`` points, once (``np.triu_indices``, kept: it costs more than
    the distances it indexes)."""
    first, second = np.triu_indices(count, 1)
    return first, second


def _middle(values: npt.NDArray[Any]) -> Any:
    """``np.median`` along the last axis (a scalar for a 1-D array), without its checks: they
    cost more than the work at the sizes here."""
    half = values.shape[-1] // 2
    parted = np.partition(values, half, axis=-1)
    if values.shape[-1] % 2:
        return parted[..., half]
    # one kth, then the largest of the lower part: the same two middle values, and several
    # times cheaper than partitioning at both (numpy's fast path takes a single kth)
    return (parted[..., :half].max(axis=-1) + parted[..., half]) / 2


def _peak(values: npt.NDArray[Any], at: int) -> float:
    """Sub-pixel offset of a peak from the parabola through it and its neighbours."""
    if len(values) != 3 or at == 0:
        return 0.0
    left, middle, right = (float(v) for v in values)
    curve = left - 2 * middle + right
    return 0.0 if curve >= 0 else max(-0.5, min(0.5, 0.5 * (left - right) / curve))
