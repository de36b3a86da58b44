"""Filling a mask's frames between two keyframes: the mask warped along the flow both ways.

The mask is warped at the cache's size (``cv2.remap``), as a soft mask so repeated warps do not
erode it, both ways, blended softly by time and thresholded at the mask's own size. Only the
forward chain is kept, as ``uint8``, so memory is one small image per frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tweenlab.core.shapes import Mask, Shape
from tweenlab.errors import AnnotationError
from tweenlab.propagation.boxes import carry_boxes
from tweenlab.propagation.chains import ShapeFill, ends, times
from tweenlab.propagation.flow import FlowCache, _cv2

__all__ = ["fill_mask", "same_size"]

Array = npt.NDArray[np.float64]
_MASK_EDGE = 3  # cache px: within this of a mask's edge, pixels move with the mask as a whole


def _warp(soft: npt.NDArray[np.float32], step: _Step, grid: Any) -> Any:
    """``soft`` (a frame's mask) brought to the next frame of the chain.

    Each pixel samples ``soft`` where the robust motion of the mask's box (translation and
    stretch) says it came from, corrected by the dense flow (``back``: from the new frame to
    ``soft``'s) only deep inside the mask. At the mask's edge the dense flow cannot be trusted:
    it is smoothed across the object's outline, so the background the object uncovers would
    sample the object where it was and the mask would smear behind it."""
    cv2 = _cv2()
    back = np.asarray(step.back, dtype=np.float32)
    old, new = step.boxes[0] * step.scale, step.boxes[1] * step.scale
    stretch = np.where(old[2:] > 0, new[2:] / np.maximum(old[2:], 1e-9), 1.0).astype(np.float32)
    centre, moved = old[:2] + old[2:] / 2, new[:2] + new[2:] / 2
    model_x = (centre[0] + (grid[0] - moved[0]) / stretch[0]).astype(np.float32)
    model_y = (centre[1] + (grid[1] - moved[1]) / stretch[1]).astype(np.float32)
    rigid = cv2.remap(soft, model_x, model_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    kernel = np.ones((2 * _MASK_EDGE + 1, 2 * _MASK_EDGE + 1), dtype=np.uint8)
    inside = cv2.erode((rigid > 0.5).astype(np.uint8), kernel).astype(np.float32)
    inside = cv2.blur(inside, (_MASK_EDGE, _MASK_EDGE))
    map_x = model_x + inside * (grid[0] + back[..., 0] - model_x)
    map_y = model_y + inside * (grid[1] + back[..., 1] - model_y)
    return cv2.remap(soft, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


@dataclass(frozen=True)
class _Step:
    """One step of a mask chain: the mask's box before and after (video px), the flow from the
    new frame back to the old, and the cache's scale."""

    boxes: Array
    back: npt.NDArray[Any]
    scale: float


def _mask_step(
    soft: npt.NDArray[np.float32], box: Array, pair: tuple[Any, Any], scale: float, grid: Any
) -> tuple[Any, Array]:
    """``soft`` and its box ``(4,)`` carried one frame by ``pair`` (there, back)."""
    there, back = pair
    carried, _ = carry_boxes(box[None], there, scale)
    return _warp(soft, _Step(np.stack([box, carried[0]]), back, scale), grid), carried[0]


def fill_mask(cache: FlowCache, first: int, a: Mask, last: int, b: Mask) -> ShapeFill:
    cv2 = _cv2()
    width, height = cache.size
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    grid = (xs, ys)

    def shrunk(mask: Mask) -> tuple[npt.NDArray[np.float32], Array]:
        dense = mask.to_dense().astype(np.float32)
        soft = np.asarray(cv2.resize(dense, (width, height), interpolation=cv2.INTER_AREA))
        return soft, np.array(mask.bbox(), dtype=np.float64)

    soft, box = shrunk(a)
    ahead = [np.round(soft * 255).astype(np.uint8)]
    for n in range(first, last):
        pair = cache.pair(n)
        soft, box = _mask_step(soft, box, (pair.forward, pair.backward), cache.scale, grid)
        ahead.append(np.round(soft * 255).astype(np.uint8))
    t = times(first, last)
    confidence = np.ones(len(t))
    inner: list[Shape] = []
    soft, box = shrunk(b)
    for k in range(len(t) - 2, 0, -1):
        pair = cache.pair(first + k)
        soft, box = _mask_step(soft, box, (pair.backward, pair.forward), cache.scale, grid)
        forward = ahead[k].astype(np.float32) / 255
        blend = (1 - t[k]) * forward + t[k] * soft
        full = cv2.resize(blend, (a.rle.width, a.rle.height), interpolation=cv2.INTER_LINEAR)
        inner.append(Mask.from_dense(full > 0.5))
        both, either = forward > 0.5, soft > 0.5
        union = int(np.count_nonzero(both | either))
        confidence[k] = np.count_nonzero(both & either) / union if union else 1.0
    return ShapeFill(first, last, ends(a, inner[::-1], b), confidence)


def same_size(a: Mask, b: Mask) -> None:
    size_a, size_b = (a.rle.height, a.rle.width), (b.rle.height, b.rle.width)
    if size_a != size_b:
        raise AnnotationError(f"mask sizes differ: {size_a} and {size_b}", field="mask.size")
