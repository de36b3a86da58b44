"""Carrying boxes along optical flow, and filling the frames between two keyframes.

A box moves by the median flow inside it and scales by the median radial stretch of that flow
(robust to the background that a box always holds at its edges). Between keyframes A and B the
box is carried forward from A and backward from B; each chain's drift is measured where it meets
the other keyframe and spread linearly over the span, so both keyframes are hit exactly; the two
chains are blended by time and their disagreement is the frame's confidence.

A small box (under 40 px on a side at the cache's size) follows its own points instead
(``_fine_step``: Median Flow on the frames around it scaled up, started from the cached flow):
the cached flow is smoothed across so small an object's edges, which made its box lag, lose the
object or stretch.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tweenlab.propagation.flow import FlowCache, _cv2

__all__ = [
    "Carried",
    "SpanFill",
    "carry_box",
    "carry_boxes",
    "carry_small_box",
    "fill_span",
    "fill_spans",
    "iou_xywh",
    "is_small",
]

Boxes = npt.NDArray[np.float64]
_MIN_SCALE, _MAX_SCALE = 0.92, 1.09  # objects rarely change size by more in a frame
_SAMPLES = 400  # flow vectors read per box and step (every pixel of a smaller box)
_BACK_SAMPLES = 144  # the way back only needs a median translation
_LOST = 0.75  # round-trip IoU below which a step of a chain is not trusted
_SMALL = 40  # boxes smaller than this (cache px) are followed by their own points (Median Flow)


@dataclass(frozen=True)
class Carried:
    """A box carried one frame: ``box`` (x, y, w, h in video pixels) and ``coherence`` in [0, 1]
    (the share of the box's flow that agrees with its motion)."""

    box: npt.NDArray[np.float64]
    coherence: float


def carry_box(box: npt.NDArray[np.float64], flow: npt.NDArray[Any], scale: float) -> Carried:
    """Move ``box`` (video pixels) by the flow inside it (``flow`` in pixels at ``scale``)."""
    boxes, coherence = carry_boxes(np.asarray(box, dtype=np.float64)[None], flow, scale)
    return Carried(boxes[0], float(coherence[0]))


def _grid(
    boxes: Boxes, shape: tuple[int, ...], inset: npt.NDArray[np.float64], budget: int = _SAMPLES
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], Boxes, npt.NDArray[np.bool_]]:
    """Sample positions inside each box (cache pixels, inset from the edges, clipped to the
    picture): every pixel of a box of up to ``budget`` pixels, else an even grid of about
    ``budget``, laid out flat. Returns rows and columns ``(N, budget)``, the offsets of the
    sampled pixels' centres from the box's centre ``(N, 2, budget)`` (x then y: each axis's
    samples contiguous, so per-box values broadcast along runs of ``budget``, not of 2), and
    which are used."""
    limit = np.array([shape[1], shape[0]])
    origin, size = boxes[:, :2], boxes[:, 2:]
    start = origin + inset[:, None] * size
    low = np.minimum(np.maximum(np.floor(start), 0), limit).astype(np.intp)  # (N, 2): x, y
    high = np.minimum(np.maximum(np.ceil(start + (1 - 2 * inset[:, None]) * size), 0), limit)
    pixels = high.astype(np.intp) - low
    shrink = np.sqrt(budget / np.maximum(pixels.prod(axis=1), 1))
    samples = np.maximum(
        np.minimum(pixels, np.maximum(1, pixels * shrink[:, None]).astype(np.intp)), 1
    )  # a box with nothing in the picture gets one sample, unused
    spacing = pixels / samples
    # (N, budget) grid cells, in floats: exact for these small integers, and far cheaper than
    # integer division or mixing integer and float arrays
    counts = samples.astype(np.float64)
    cell = np.arange(budget, dtype=np.float64)
    row = np.floor(cell / counts[:, :1])
    column = cell - row * counts[:, :1]
    used = (row < counts[:, 1:]) & (pixels > 0).all(axis=1)[:, None]
    columns = low[:, :1] + (column * spacing[:, :1]).astype(np.intp)
    rows = low[:, 1:] + (np.minimum(row, counts[:, 1:] - 1) * spacing[:, 1:]).astype(np.intp)
    columns = np.minimum(columns, limit[0] - 1)
    rows = np.minimum(np.maximum(rows, 0), limit[1] - 1)
    centre = origin + size / 2
    offsets = np.empty((len(rows), 2, rows.shape[1]), dtype=np.float32)
    offsets[:, 0] = columns + 0.5 - centre[:, :1]
    offsets[:, 1] = rows + 0.5 - centre[:, 1:]
    return rows, columns, offsets, used


def _sampled(
    flow: npt.NDArray[Any], rows: npt.NDArray[np.intp], columns: npt.NDArray[np.intp]
) -> npt.NDArray[np.float32]:
    """The flow at each sample, x then y: ``(N, 2, S)``.

    A cached field (float16, contiguous, usually a memory map) is read as one 4-byte value per
    pixel at flat positions: a single gather, which touches only the sampled pixels' pages and
    costs a fraction of indexing with rows and columns (a quarter, measured in a fill)."""
    picked: npt.NDArray[Any]
    if flow.dtype == np.float16 and flow.flags.c_contiguous:
        pixels = flow.view(np.uint32).reshape(-1)  # (dx, dy) of a pixel as one value
        flat = rows * flow.shape[1] + columns
        picked = pixels.take(flat).view(np.float16).reshape(*rows.shape, 2)
    else:
        picked = flow[rows, columns]
    return picked.transpose(0, 2, 1).astype(np.float32, order="C")


def _median(values: npt.NDArray[Any], keep: npt.NDArray[np.bool_]) -> npt.NDArray[Any]:
    """The median of ``values`` ``(..., M)`` along the last axis where ``keep`` (the same
    shape); nan for a row with nothing kept. ``np.partition`` when every value is kept, else
    the kept values sorted first (the others as +inf) and the middle of each row's kept count
    taken: ``np.median``'s checks cost more than the work at these sizes, and a masked array's
    far more."""
    if keep.all():
        with np.errstate(invalid="ignore"):  # +inf and -inf in the middle give nan
            return _middle(values)  # type: ignore[no-any-return]
    count = keep.sum(axis=-1, keepdims=True)
    ordered = np.sort(np.where(keep, values, values.dtype.type(np.inf)), axis=-1)
    low = np.take_along_axis(ordered, np.maximum(count - 1, 0) // 2, axis=-1)[..., 0]
    high = np.take_along_axis(ordered, count // 2 - (count == 0), axis=-1)[..., 0]
    with np.errstate(invalid="ignore"):
        middle: npt.NDArray[Any] = (low + high) / 2
    median: npt.NDArray[Any] = np.where(count[..., 0] > 0, middle, values.dtype.type(np.nan))
    return median


def carry_boxes(
    boxes: Boxes, flow: npt.NDArray[Any], scale: float
) -> tuple[Boxes, npt.NDArray[np.float64]]:
    """Move each of ``boxes`` ``(N, 4)`` by the flow inside it, all at once.

    The motion is the median flow, the stretch along each axis the median ratio of where
    samples away from the centre go to where they were; coherence is the share of samples
    that this motion and stretch explain. Returns the carried boxes ``(N, 4)`` and their
    coherence ``(N,)``; a box with nothing of it in the picture stays, with coherence 0.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    return _carry(boxes, [(flow, len(boxes))], scale)


Flows = list[tuple[npt.NDArray[Any], int]]  # consecutive groups of boxes, each with its flow


def _sampled_groups(
    flows: Flows, rows: npt.NDArray[np.intp], columns: npt.NDArray[np.intp]
) -> npt.NDArray[np.float32]:
    """``_sampled`` where consecutive groups of boxes read different flow fields."""
    if len(flows) == 1:
        return _sampled(flows[0][0], rows, columns)
    parts, start = [], 0
    for flow, count in flows:
        parts.append(_sampled(flow, rows[start : start + count], columns[start : start + count]))
        start += count
    return np.concatenate(parts)


def _carry(boxes: Boxes, flows: Flows, scale: float) -> tuple[Boxes, npt.NDArray[np.float64]]:
    """``carry_boxes`` for groups of boxes that follow different flow fields of one size (a
    span's forward and backward chains, carried in the same step)."""
    cached = boxes * scale
    size = cached[:, 2:]
    smaller = size.min(axis=1)
    inset = np.where(smaller > 12, 0.15, 0.0)  # edges hold background
    rows, columns, offsets, used = _grid(cached, flows[0][0].shape, inset)
    region = _sampled_groups(flows, rows, columns)  # (N, 2, S), like offsets
    both = used[:, None, :] & np.ones((1, 2, 1), dtype=bool)
    motion = _median(region, both)  # (N, 2)
    moved = offsets + region - motion[:, :, None]
    usable = both & (np.abs(offsets) > np.maximum(1.0, 0.15 * size)[:, :, None])
    plausible = np.abs(region - motion[:, :, None]) <= (_MAX_SCALE - 1) * np.abs(offsets) + 1.0
    usable &= plausible  # what moves unlike the object (background in a lagging box) is not stretch
    with np.errstate(divide="ignore", invalid="ignore"):
        stretch = _median(moved / offsets, usable)
    stretch[(usable.sum(axis=2) < 8) | ~np.isfinite(stretch)] = 1.0
    stretch = np.minimum(np.maximum(stretch, _MIN_SCALE), _MAX_SCALE)
    model = motion[:, :, None] + (stretch[:, :, None] - 1.0) * offsets
    tolerance = np.maximum(1.0, 0.08 * smaller)
    error = np.abs(region - model)
    fits = (np.maximum(error[:, 0], error[:, 1]) < tolerance[:, None]) & used
    coherence = fits.sum(axis=1) / np.maximum(used.sum(axis=1), 1)
    centre = cached[:, :2] + size / 2 + motion
    size = size * stretch
    carried = np.concatenate([centre - size / 2, size], axis=1) / scale
    lost = ~np.isfinite(carried).all(axis=1)  # nothing of the box in the picture
    carried[lost] = boxes[lost]
    return carried, np.where(lost, 0.0, coherence)


def is_small(box: npt.NDArray[np.float64], scale: float) -> bool:
    """Whether ``box`` (video pixels) is small at the cache's ``scale``: under ``_SMALL`` px on
    a side, where it is followed by its own points rather than by the cached flow."""
    return bool(min(box[2], box[3]) * scale < _SMALL)


def carry_small_box(
    box: npt.NDArray[np.float64],
    source: npt.NDArray[np.uint8],
    target: npt.NDArray[np.uint8],
    flow: npt.NDArray[Any],
    scale: float,
) -> Carried | None:
    """``carry_box`` for a box small at the cache's size (under ``_SMALL`` px on a side), by
    its own points (``_fine_step``) from grey frame ``source`` to ``target`` (cache size),
    started from ``flow``; a step whose points do not come back has coherence 0. None for a
    box that is not small or cannot be followed so (the caller carries it on the flow)."""
    if not is_small(box, scale):
        return None
    done = _fine_step(np.asarray(box, dtype=np.float64), source, target, flow, scale)
    if done is None:
        return None
    carried, coherence, trip = done
    return Carried(carried, coherence if trip >= _LOST else 0.0)


def iou_xywh(a: Boxes, b: Boxes) -> npt.NDArray[np.float64]:
    """IoU of boxes ``(..., 4)`` row by row."""
    ax2, ay2 = a[..., 0] + a[..., 2], a[..., 1] + a[..., 3]
    bx2, by2 = b[..., 0] + b[..., 2], b[..., 1] + b[..., 3]
    iw = np.clip(np.minimum(ax2, bx2) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(ay2, by2) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    union = a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


@dataclass(frozen=True)
class SpanFill:
    """The frames ``first .. last`` (both keyframes) filled in.

    Attributes:
        first: Keyframe A.
        last: Keyframe B.
        boxes: ``(last - first + 1, 4)``; rows 0 and -1 are A and B exactly.
        confidence: Per frame in [0, 1]; 1 on the keyframes.
    """

    first: int
    last: int
    boxes: Boxes
    confidence: npt.NDArray[np.float64]

    @property
    def weakest(self) -> int | None:
        """The frame most worth a keyframe (lowest confidence), or None for a span of 2."""
        if self.last - self.first < 2:
            return None
        return self.first + 1 + int(np.argmin(self.confidence[1:-1]))


def _moved_back(boxes: Boxes, back: npt.NDArray[Any], scale: float) -> Boxes:
    """``boxes`` moved by the median of the flow back inside them (size kept): the cheap half
    of the forward-backward check."""
    return _moved_back_groups(boxes, [(back, len(boxes))], scale)


def _moved_back_groups(boxes: Boxes, backs: Flows, scale: float) -> Boxes:
    cached = boxes * scale
    inset = np.full(len(boxes), 0.15)
    rows, columns, _, used = _grid(cached, backs[0][0].shape, inset, _BACK_SAMPLES)
    region = _sampled_groups(backs, rows, columns)
    motion = _median(region, used[:, None, :] & np.ones((1, 2, 1), dtype=bool))
    returned = boxes.copy()
    returned[:, :2] += np.nan_to_num(motion) / scale
    return returned


def _chain(
    cache: FlowCache, start: Boxes, frames: range, *, forward: bool
) -> tuple[Boxes, npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Carry the boxes ``start`` ``(N, 4)`` frame by frame; per step also the forward-backward
    check: the IoU of each box with itself carried there and back (low where the flow is
    wrong, e.g. a blur). Shapes: ``(steps + 1, N, 4)``, ``(steps + 1, N)``, ``(steps + 1, N)``."""
    boxes = [np.asarray(start, dtype=np.float64)]
    coherence, round_trip = [np.ones(len(start))], [np.ones(len(start))]
    for n in frames:
        pair = cache.pair(n)
        there, back = (pair.forward, pair.backward) if forward else (pair.backward, pair.forward)
        carried, fits = carry_boxes(boxes[-1], there, cache.scale)
        returned = _moved_back(carried, back, cache.scale)
        round_trip.append(iou_xywh(returned, boxes[-1]))
        boxes.append(carried)
        coherence.append(fits)
    return np.array(boxes), np.array(coherence), np.array(round_trip)


def _as_params(boxes: Boxes) -> Boxes:
    """Centre and log size: drift in these spreads without boxes turning inside out."""
    return np.stack(
        [
            boxes[:, 0] + boxes[:, 2] / 2,
            boxes[:, 1] + boxes[:, 3] / 2,
            np.log(np.maximum(boxes[:, 2], 1e-3)),
            np.log(np.maximum(boxes[:, 3], 1e-3)),
        ],
        axis=1,
    )


def _from_params(params: Boxes) -> Boxes:
    w, h = np.exp(params[:, 2]), np.exp(params[:, 3])
    return np.stack([params[:, 0] - w / 2, params[:, 1] - h / 2, w, h], axis=1)


def _reliable(round_trip: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """A chain is reliable from its keyframe up to the first step that fails the round trip."""
    return np.cumprod(round_trip >= _LOST).astype(bool)


def fill_span(cache: FlowCache, first: int, box_a: Boxes, last: int, box_b: Boxes) -> SpanFill:
    """Fill ``first .. last`` between keyframe boxes A and B by flow, both ways, drift spread.

    A chain is trusted from its keyframe until the flow inside the box stops being coherent
    (a splash, a blur, an occluder); a chain that reaches the other keyframe has its drift spread
    over the span. Frames that neither chain reaches reliably are interpolated between the
    nearest reliable frames.

    Example:
        >>> fill = fill_span(cache, 0, np.array([10, 10, 40, 30]), 20, np.array([90, 15, 44, 33]))
        ...  # doctest: +SKIP
        >>> fill.boxes[0].tolist(), fill.weakest  # doctest: +SKIP
        ([10.0, 10.0, 40.0, 30.0], 12)
    """
    a, b = np.asarray(box_a, dtype=np.float64), np.asarray(box_b, dtype=np.float64)
    return fill_spans(cache, first, a[None], last, b[None])[0]


def fill_spans(
    cache: FlowCache, first: int, boxes_a: Boxes, last: int, boxes_b: Boxes
) -> list[SpanFill]:
    """``fill_span`` for several objects keyed on the same two frames (``(N, 4)`` boxes at
    each), carried together: one pass over the span's flow, one set of array operations per
    frame for all of them."""
    forward, coherence_f, trip_f, backward, coherence_b, trip_b = _both_chains(
        cache, first, np.asarray(boxes_a, dtype=np.float64), last, np.asarray(boxes_b, np.float64)
    )
    return [
        _blend(
            first,
            last,
            (boxes_a[i], boxes_b[i]),
            (forward[:, i], coherence_f[:, i], trip_f[:, i]),
            (backward[::-1, i], coherence_b[::-1, i], trip_b[::-1, i]),
        )
        for i in range(len(boxes_a))
    ]


Chain = tuple[Boxes, npt.NDArray[np.float64], npt.NDArray[np.float64]]
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


def _both_chains(
    cache: FlowCache, first: int, boxes_a: Boxes, last: int, boxes_b: Boxes
) -> tuple[Boxes, npt.NDArray[np.float64], npt.NDArray[np.float64], Boxes, Any, Any]:
    """``_chain`` forward from A and backward from B, stepped together: step ``s`` carries the
    A boxes over pair ``first + s`` and the B boxes back over pair ``last - 1 - s`` in one
    set of array operations. Returns each chain as ``_chain`` does (carrying order)."""
    count = len(boxes_a)
    boxes = [np.concatenate([boxes_a, boxes_b])]
    coherence, round_trip = [np.ones(2 * count)], [np.ones(2 * count)]
    small = (np.minimum(boxes[0][:, 2], boxes[0][:, 3]) * cache.scale) < _SMALL
    greys = cache.greys(first, last) if small.any() else None
    for step in range(last - first):
        ahead, behind = cache.pair(first + step), cache.pair(last - 1 - step)
        there: Flows = [(ahead.forward, count), (behind.backward, count)]
        back: Flows = [(ahead.backward, count), (behind.forward, count)]
        carried, fits = _carry(boxes[-1], there, cache.scale)
        fine: dict[int, float] = {}  # round trips of the boxes followed by their own points
        if greys is not None:
            frames = (first + step, last - step), (first + step + 1, last - step - 1)
            for i in np.flatnonzero(small).tolist():
                source = greys.get(frames[0][i >= count])
                target = greys.get(frames[1][i >= count])
                if source is None or target is None:
                    continue
                flow = ahead.forward if i < count else behind.backward
                box = boxes[-1][i]
                done = None
                if is_small(box, cache.scale):
                    done = _fine_step(box, source, target, flow, cache.scale)
                if done is None:  # grown past small, too near the edge, or too few points kept
                    carried[i] = _matched(box, carried[i], source, target, cache.scale)
                else:
                    carried[i], fits[i], fine[i] = done
        returned = _moved_back_groups(carried, back, cache.scale)
        trip = iou_xywh(returned, boxes[-1])
        for i, value in fine.items():
            trip[i] = value
        round_trip.append(trip)
        boxes.append(carried)
        coherence.append(fits)
    stacked, fit, trip = np.array(boxes), np.array(coherence), np.array(round_trip)
    return (
        stacked[:, :count],
        fit[:, :count],
        trip[:, :count],
        stacked[:, count:],
        fit[:, count:],
        trip[:, count:],
    )


def _blend(
    first: int, last: int, keys: tuple[Boxes, Boxes], ahead: Chain, behind: Chain
) -> SpanFill:
    """One object's span from its forward chain (from A) and backward chain (from B, in frame
    order, its round trips still in carrying order)."""
    box_a, box_b = keys
    forward, coherence_f, trip_f = ahead
    backward, coherence_b, trip_b = behind
    span = last - first
    reliable_f, reliable_b = _reliable(trip_f), _reliable(trip_b[::-1])[::-1]
    t = np.arange(span + 1, dtype=np.float64) / span
    pf, pb = _as_params(forward), _as_params(backward)
    if reliable_f[-1]:
        pf -= np.outer(t, pf[-1] - _as_params(box_b[None])[0])
    if reliable_b[0]:
        pb -= np.outer(1 - t, pb[0] - _as_params(box_a[None])[0])
    weight_f = (1 - t) * (0.25 + coherence_f) * reliable_f
    weight_b = t * (0.25 + coherence_b) * reliable_b
    total = weight_f + weight_b
    share = weight_f / np.maximum(total, 1e-9)
    params = share[:, None] * pf + (1 - share[:, None]) * pb
    params[0], params[-1] = _as_params(box_a[None])[0], _as_params(box_b[None])[0]
    known = total > 0
    known[0] = known[-1] = True
    for column in range(4):  # bridge what neither chain reaches, straight between the ends
        params[~known, column] = np.interp(t[~known], t[known], params[known, column])
    blended = _from_params(params)
    blended[0], blended[-1] = box_a, box_b
    agreement = iou_xywh(_from_params(pf), _from_params(pb))
    both = reliable_f & reliable_b
    confidence = np.where(
        both, agreement, 0.5 * np.maximum(coherence_f * reliable_f, coherence_b * reliable_b)
    )
    confidence[0] = confidence[-1] = 1.0
    return SpanFill(first, last, blended, np.clip(confidence, 0.0, 1.0))
