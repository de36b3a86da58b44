"""A single-object tracker through the same interface as flow: OpenCV's MIL tracker, run forward
from keyframe A and backward from keyframe B, drift spread and blended exactly as the flow chains
are (``boxes._blend``).

MIL (multiple-instance learning on Haar features) is the tracker OpenCV ships without model
files; it follows position well through blur and fast motion where flow can lose a thin object,
but keeps the box's size, so each chain's size comes from the keyframe it starts at and the size
change is left to the drift spreading. It is the ``--method tracker`` alternative, not the
default: on the shared sequences flow needs fewer keyframes (see the README's benchmark).
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import numpy.typing as npt

from tweenlab.media import VideoReader
from tweenlab.propagation.boxes import SpanFill, _blend, looked
from tweenlab.propagation.flow import FlowCache

__all__ = ["track_span"]

_MAX_SIDE = 640  # trackers see frames at most this large: speed, and MIL gains nothing above
# OpenCV's MIL never returns from ``init`` on a box too small for its Haar features (measured
# with 4.14: any 1 px side, 2 x 10, 3 x 5, 4 x 4), so smaller boxes are not tracked at all
_MIN_SIDE = 3
_MIN_SIDES_SUM = 10


def _cv2() -> Any:
    return importlib.import_module("cv2")


def _frames(cache: FlowCache, first: int, last: int) -> tuple[list[npt.NDArray[np.uint8]], float]:
    """Frames ``first .. last`` in BGR at the tracker's size, and that size's scale."""
    width, height = cache.video_size
    scale = min(1.0, _MAX_SIDE / max(width, height))
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    with VideoReader(
        cache.video, index=cache.index, proxy=cache.proxy, size=size, cache_mb=0
    ) as reader:
        images = {f.index: f.image for f in reader.read_range(first, last + 1)}
    cv2 = _cv2()
    ordered, previous = [], None
    for n in range(first, last + 1):
        image = images.get(n, previous)  # an undecodable frame: the tracker sees the last one
        if image is None:
            image = next(iter(images.values()))
        previous = image
        ordered.append(np.asarray(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), dtype=np.uint8))
    return ordered, scale


def _run(
    images: list[npt.NDArray[np.uint8]], start: npt.NDArray[np.float64], scale: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Track ``start`` (video pixels) through ``images``: boxes ``(len, 4)`` and whether the
    tracker claimed each (1.0) or lost it (0.0; the box is held)."""
    cv2 = _cv2()
    tracker = cv2.TrackerMIL_create()
    x, y, w, h = (start * scale).tolist()
    boxes, found = [np.asarray(start, dtype=np.float64)], [1.0]
    lost = np.repeat(boxes[0][None], len(images), axis=0), np.r_[1.0, np.zeros(len(images) - 1)]
    width, height = max(1, round(w)), max(1, round(h))
    if min(width, height) < _MIN_SIDE or width + height < _MIN_SIDES_SUM:
        return lost  # too small for MIL (it would hang): held, and left to the drift spreading
    try:
        tracker.init(images[0], (round(x), round(y), width, height))
    except cv2.error:  # MIL needs background around the box: none for a box filling the frame
        return lost
    for image in images[1:]:
        ok, (tx, ty, _, _) = tracker.update(image)
        if ok:
            centre = np.array([tx, ty]) / scale + start[2:] / 2  # MIL keeps the size it started
            boxes.append(np.array([*(centre - start[2:] / 2), *start[2:]]))
        else:
            boxes.append(boxes[-1].copy())
        found.append(1.0 if ok else 0.0)
    return np.array(boxes), np.array(found)


def track_span(
    cache: FlowCache,
    first: int,
    box_a: npt.NDArray[np.float64],
    last: int,
    box_b: npt.NDArray[np.float64],
) -> SpanFill:
    """Fill ``first .. last`` between keyframe boxes A and B with the MIL tracker, both ways.

    The frames are decoded once (at most 640 px on their longer side); the cache gives the
    video, its index and proxy. A chain counts as reliable while the tracker claims the object;
    the confidence is the chains' agreement times appearance, as flow's (``boxes.looked``).
    """
    images, scale = _frames(cache, first, last)
    a, b = np.asarray(box_a, dtype=np.float64), np.asarray(box_b, dtype=np.float64)
    forward, found_f = _run(images, a, scale)
    backward, found_b = _run(images[::-1], b, scale)
    backward, found_b = backward[::-1], found_b[::-1]
    fill = _blend(first, last, (a, b), (forward, found_f, found_f), (backward, found_b, found_b))
    return looked(cache, [fill])[0]  # the confidence of the flow's fills, appearance included
