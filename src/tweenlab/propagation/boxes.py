"""Carrying boxes along optical flow, and filling the frames between two keyframes.

A box moves by the median flow inside it and scales by the median radial stretch of that flow
(robust to the background that a box always holds at its edges). Between keyframes A and B the
box is carried forward from A and backward from B; each chain's drift is measured where it meets
the other keyframe and spread linearly over the span, so both keyframes are hit exactly; the two
chains are blended by time and their disagreement is the frame's confidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tweenlab.propagation.flow import FlowCache

__all__ = ["Carried", "SpanFill", "carry_box", "fill_span", "iou_xywh"]

Boxes = npt.NDArray[np.float64]
_MIN_SCALE, _MAX_SCALE = 0.92, 1.09  # objects rarely change size by more in a frame
_SAMPLES = 600  # flow vectors read per box and step: enough for robust medians
_LOST = 0.75  # round-trip IoU below which a step of a chain is not trusted


@dataclass(frozen=True)
class Carried:
    """A box carried one frame: ``box`` (x, y, w, h in video pixels) and ``coherence`` in [0, 1]
    (the share of the box's flow that agrees with its motion)."""

    box: npt.NDArray[np.float64]
    coherence: float


def carry_box(box: npt.NDArray[np.float64], flow: npt.NDArray[Any], scale: float) -> Carried:
    """Move ``box`` (video pixels) by the flow inside it (``flow`` in pixels at ``scale``)."""
    height, width = flow.shape[:2]
    x, y, w, h = (np.asarray(box, dtype=np.float64) * scale).tolist()
    inset = 0.15 if min(w, h) > 12 else 0.0  # edges hold background: look at the middle
    x0, x1 = int(np.floor(x + inset * w)), int(np.ceil(x + (1 - inset) * w))
    y0, y1 = int(np.floor(y + inset * h)), int(np.ceil(y + (1 - inset) * h))
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if x1 <= x0 or y1 <= y0:
        return Carried(np.asarray(box, dtype=np.float64), 0.0)
    step = max(1, int(np.sqrt((x1 - x0) * (y1 - y0) / _SAMPLES)))  # a few hundred samples
    region = flow[y0:y1:step, x0:x1:step].reshape(-1, 2).astype(np.float64)
    motion = _median(region)
    columns = np.arange(x0, x1, step) + 0.5 - (x + w / 2)
    rows = np.arange(y0, y1, step) + 0.5 - (y + h / 2)
    centre = np.array([x + w / 2, y + h / 2])
    offsets = np.stack(np.broadcast_arrays(columns[None, :], rows[:, None]), axis=-1).reshape(-1, 2)
    moved = offsets + region - motion
    stretch = np.array(
        [_stretch(offsets[:, axis], moved[:, axis], (w, h)[axis]) for axis in (0, 1)]
    )
    model = motion + (stretch - 1.0) * offsets  # translation and stretch about the centre
    tolerance = max(1.0, 0.08 * min(w, h))
    coherence = np.count_nonzero(np.abs(region - model).max(axis=1) < tolerance) / len(region)
    cx, cy = centre + motion
    nw, nh = w * stretch[0], h * stretch[1]
    carried = np.array([cx - nw / 2, cy - nh / 2, nw, nh]) / scale
    return Carried(carried, coherence)


def _median(values: npt.NDArray[np.float64]) -> Any:
    """The median along the first axis: ``np.median`` without its checks (the hot loop)."""
    middle = len(values) // 2
    if len(values) % 2:
        return np.partition(values, middle, axis=0)[middle]
    parted = np.partition(values, (middle - 1, middle), axis=0)
    return (parted[middle - 1] + parted[middle]) / 2


def _stretch(
    offsets: npt.NDArray[np.float64], moved: npt.NDArray[np.float64], size: float
) -> float:
    """The median stretch along one axis, from points far enough from the centre to tell."""
    usable = np.abs(offsets) > max(1.0, 0.15 * size)
    if np.count_nonzero(usable) < 8:
        return 1.0
    ratio = float(_median(moved[usable] / offsets[usable]))
    return min(max(ratio, _MIN_SCALE), _MAX_SCALE)


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


def _iou(a: list[float], b: list[float]) -> float:
    """IoU of two ``[x, y, w, h]`` boxes, in plain Python (called once per step)."""
    iw = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    union = a[2] * a[3] + b[2] * b[3] - iw * ih
    return iw * ih / union if union > 0 else 0.0


def _moved_back(box: Boxes, back: npt.NDArray[Any], scale: float) -> Boxes:
    """``box`` moved by the median of the flow back inside it (size kept): the cheap half of
    the forward-backward check."""
    height, width = back.shape[:2]
    x, y, w, h = (box * scale).tolist()
    x0, x1 = max(int(x + 0.15 * w), 0), min(int(np.ceil(x + 0.85 * w)), width)
    y0, y1 = max(int(y + 0.15 * h), 0), min(int(np.ceil(y + 0.85 * h)), height)
    if x1 <= x0 or y1 <= y0:
        return box
    step = max(1, int(np.sqrt((x1 - x0) * (y1 - y0) / _SAMPLES)))
    motion = _median(back[y0:y1:step, x0:x1:step].reshape(-1, 2).astype(np.float64))
    return np.array([box[0] + motion[0] / scale, box[1] + motion[1] / scale, box[2], box[3]])


def _chain(
    cache: FlowCache, start: npt.NDArray[np.float64], frames: range, *, forward: bool
) -> tuple[Boxes, npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Carry ``start`` frame by frame; per step also the forward-backward check: the IoU of the
    box with itself carried there and back (low where the flow is wrong, e.g. a blur)."""
    boxes, coherence, round_trip = [np.asarray(start, dtype=np.float64)], [1.0], [1.0]
    for n in frames:
        pair = cache.pair(n)
        there, back = (pair.forward, pair.backward) if forward else (pair.backward, pair.forward)
        carried = carry_box(boxes[-1], there, cache.scale)
        returned = _moved_back(carried.box, back, cache.scale)
        boxes.append(carried.box)
        coherence.append(carried.coherence)
        round_trip.append(_iou(returned.tolist(), boxes[-2].tolist()))
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
    span = last - first
    forward, coherence_f, trip_f = _chain(cache, box_a, range(first, last), forward=True)
    backward, coherence_b, trip_b = _chain(
        cache, box_b, range(last - 1, first - 1, -1), forward=False
    )
    reliable_f, reliable_b = _reliable(trip_f), _reliable(trip_b)[::-1]
    backward, coherence_b = backward[::-1], coherence_b[::-1]
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
