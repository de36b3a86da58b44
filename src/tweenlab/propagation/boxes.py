"""Carrying boxes along optical flow, and filling the frames between two keyframes.

A box moves by the median flow inside it and scales by the median radial stretch of that flow
(robust to the background that a box always holds at its edges). Between keyframes A and B the
box is carried forward from A and backward from B; each chain's drift is measured where it meets
the other keyframe and spread linearly over the span, so both keyframes are hit exactly; the two
chains are blended by time, the one that missed its far keyframe by less weighing more. A
frame's confidence is the chains' agreement times how much the box still looks like the object
at the keyframes (``appearance``, to the fourth power): over the shared tracks and their eight
variants, that tells a frame below IoU 0.7 from the rest at ROC AUC 0.684 / 0.721 with
keyframes every 10 / 20 frames, against 0.678 / 0.679 for the agreement alone
(``benchmarks/propagation.py``, part 4).

A small box (under 40 px on a side at the cache's size) follows its own points instead
(``points._fine_step``: Median Flow on the frames around it scaled up, started from the cached
flow): the cached flow is smoothed across so small an object's edges, which made its box lag,
lose the object or stretch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tweenlab.propagation.chains import confidence, shares, weakest
from tweenlab.propagation.flow import FlowCache, _cv2
from tweenlab.propagation.points import _MAX_SCALE, _MIN_SCALE, _fine_step, _matched, _middle

__all__ = [
    "Carried",
    "SpanFill",
    "appearance",
    "carry_box",
    "carry_boxes",
    "carry_small_box",
    "fill_span",
    "fill_spans",
    "iou_xywh",
    "is_small",
    "looked",
]

Boxes = npt.NDArray[np.float64]
_SAMPLES = 400  # flow vectors read per box and step (every pixel of a smaller box)
_BACK_SAMPLES = 144  # the way back only needs a median translation
_LOST = 0.75  # round-trip IoU below which a step of a chain is not trusted
_SMALL = 40  # boxes smaller than this (cache px) are followed by their own points (Median Flow)
_PATCH = 16  # px a side: a box's pixels are shrunk to this before their histogram is taken
_MIN_PATCH = 4.0  # cache px: a thinner box's histogram is read from this much around its middle
_BINS = 16  # grey levels of an appearance histogram
_LOOKS = 4  # confidence is the chains' agreement times appearance similarity to this power


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
        return weakest(self.first, self.last, self.confidence)


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
    fills = [
        _blend(
            first,
            last,
            (boxes_a[i], boxes_b[i]),
            (forward[:, i], coherence_f[:, i], trip_f[:, i]),
            (backward[::-1, i], coherence_b[::-1, i], trip_b[::-1, i]),
        )
        for i in range(len(boxes_a))
    ]
    return looked(cache, fills)


def looked(cache: FlowCache, fills: list[SpanFill]) -> list[SpanFill]:
    """``fills`` (of one span) with their confidence times ``appearance`` to the power
    ``_LOOKS``: how a fill's frame still looks like the object at its keyframes."""
    if not fills or fills[0].last - fills[0].first < 2:
        return fills
    first, last = fills[0].first, fills[0].last
    looks = appearance(cache, first, np.stack([fill.boxes for fill in fills], axis=1))
    return [
        SpanFill(first, last, fill.boxes, fill.confidence * looks[:, i] ** _LOOKS)
        for i, fill in enumerate(fills)
    ]


def appearance(cache: FlowCache, first: int, boxes: Boxes) -> npt.NDArray[np.float64]:
    """How much each frame's box still looks like the object at the span's keyframes: ``boxes``
    ``(F, N, 4)`` on frames ``first ..`` (video pixels; the first and last rows are the
    keyframes). The Bhattacharyya coefficient of the grey histograms of the box's pixels and of
    the nearer-looking keyframe's (0..1, 1 on the keyframes): an object turning, deforming or
    hidden, or a box that slid onto the background, looks less like either end."""
    count = len(boxes)
    greys = cache.greys(first, first + count - 1)
    histograms = np.array(  # (F, N, bins)
        [
            [_histogram(greys[first + k], box * cache.scale) for box in row]
            for k, row in enumerate(boxes)
        ]
    )
    to_a = np.sqrt(histograms * histograms[:1]).sum(axis=-1)
    to_b = np.sqrt(histograms * histograms[-1:]).sum(axis=-1)
    similar = np.clip(np.maximum(to_a, to_b), 0.0, 1.0)
    similar[0] = similar[-1] = 1.0  # the keyframes themselves, even out of the picture
    return np.asarray(similar, dtype=np.float64)


def _histogram(grey: npt.NDArray[Any], box: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The normalised 16-bin histogram of ``box`` (cache pixels) in ``grey``, read from the box
    (at least 4 px a side) shrunk to 16 x 16; zeros for a box (nearly) out of the picture."""
    height, width = grey.shape[:2]
    x, y, w, h = box.tolist()
    grow_w, grow_h = max(0.0, _MIN_PATCH - w) / 2, max(0.0, _MIN_PATCH - h) / 2  # thin: padded
    x, y, w, h = x - grow_w, y - grow_h, w + 2 * grow_w, h + 2 * grow_h
    left, top = max(0, round(x)), max(0, round(y))
    right, bottom = min(width, round(x + w)), min(height, round(y + h))
    if right - left < 2 or bottom - top < 2:
        return np.zeros(_BINS)
    patch = _cv2().resize(
        np.asarray(grey[top:bottom, left:right]), (_PATCH, _PATCH), interpolation=_cv2().INTER_AREA
    )
    counts = np.bincount((patch.ravel() // (256 // _BINS)).astype(np.intp), minlength=_BINS)
    return np.asarray(counts / counts.sum(), dtype=np.float64)


Chain = tuple[Boxes, npt.NDArray[np.float64], npt.NDArray[np.float64]]


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


def _missed(end: npt.NDArray[np.float64], key: Boxes) -> float:
    """How far a chain's box ``end`` (centre and log size, ``_as_params``) missed the keyframe
    box ``key`` it should have reached: the centre's miss in units of the keyframe's size plus
    the log-size misses. A chain's drift grows with the steps it took; the one that arrives
    nearer has drifted less on the way, so its frames are trusted more."""
    target = _as_params(key[None])[0]
    size = float(np.exp((target[2] + target[3]) / 2))
    centre = float(np.hypot(*(end[:2] - target[:2]))) / size
    return centre + float(np.abs(end[2:] - target[2:]).sum())


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
    missed = None
    if reliable_f[-1] and reliable_b[0]:
        missed = _missed(pf[-1], box_b), _missed(pb[0], box_a)
    share, known = shares(t, (coherence_f, reliable_f), (coherence_b, reliable_b), missed)
    if reliable_f[-1]:
        pf -= np.outer(t, pf[-1] - _as_params(box_b[None])[0])
    if reliable_b[0]:
        pb -= np.outer(1 - t, pb[0] - _as_params(box_a[None])[0])
    params = share[:, None] * pf + (1 - share[:, None]) * pb
    params[0], params[-1] = _as_params(box_a[None])[0], _as_params(box_b[None])[0]
    for column in range(4):  # bridge what neither chain reaches, straight between the ends
        params[~known, column] = np.interp(t[~known], t[known], params[known, column])
    blended = _from_params(params)
    blended[0], blended[-1] = box_a, box_b
    agreement = iou_xywh(_from_params(pf), _from_params(pb))
    sure = confidence(agreement, (coherence_f, reliable_f), (coherence_b, reliable_b))
    return SpanFill(first, last, blended, sure)
