"""A second flow candidate for large motion: corners tracked by pyramidal Lucas-Kanade, spread
into a smooth field that seeds a second DIS, kept per pixel where it matches the other frame
better than the first flow.

DIS's coarse-to-fine search loses a plain object that moves further than its coarsest scale
can see (``bikes.mp4``'s dark cyclist, 50 px at the working size): the frame then shows it
twice, faintly. A few hundred corners tracked through a 5-level pyramid do find such motion;
their displacements, spread into a field by a wide Gaussian, start a second (fast) DIS in the
right place, and each pixel keeps the flow whose warp of the other frame matches its own
better (9x9 mean grey error, by 20%). Where the tracked corners agree with the first flow
(within 1 px on 95% of them) nothing is done beyond the tracking.

The ``flow`` engine applies it to its own pair of flows (``Seeds.improve``); the video flow
cache that in-betweening reads uses it one direction at a time through the ``seeded`` flow
estimator (``seeded_dis_flow``, its default), by name in the plugin registry, since
``propagation`` does not import ``synthesis``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from tweenlab.plugins import registry
from tweenlab.synthesis._warp import Array, cv2, warp

Grey = npt.NDArray[np.uint8]

POINTS = 200  # corners tracked (400 were no better on the evaluation triplets)
_QUALITY, _SPACING = 0.01, 7  # goodFeaturesToTrack: corner quality, px between corners
_WINDOW, _LEVELS = 21, 4  # Lucas-Kanade window (px) and pyramid levels above the frame
_ROUND_TRIP = 1.0  # px: a corner tracked there and back must land this close to its start
_MIN_POINTS = 8
_OFF, _OFF_SHARE = 1.0, 0.05  # the first flow is trusted unless over 5% of corners are 1 px off
_SPREAD, _SPREAD_SIZE = 0.08, 8  # Gaussian of 8% of the longer side, worked at 1/8 size
_BOX, _BETTER = 9, 0.8  # mean grey error over 9x9 px; the second flow must be 20% better
#: DIS one scale coarser than a frame refuses frames thinner than this (an OpenCV assertion):
#: such a strip keeps its first flow.
_MIN_SEEDED_SIDE = 16


class Seeds:
    """The second candidate's DIS (ultrafast preset, one scale coarser than the working size)
    and its parameters; ``improve`` is called once per flow pair."""

    def __init__(self, points: int) -> None:
        self.points = points
        self._dis: Any = None

    def improve(
        self, grey0: Grey, grey1: Grey, forward: Array, backward: Array
    ) -> tuple[Array, Array]:
        """``forward`` and ``backward`` (frame 0 -> 1 and 1 -> 0) with the seeded candidate
        kept where it matches better; unchanged where too few corners track or they agree with
        ``forward``."""
        if min(grey0.shape[:2]) < _MIN_SEEDED_SIDE:
            return forward, backward
        tracked = _tracked(grey0, grey1, self.points)
        if tracked is None or not _disagree(forward, *tracked):
            return forward, backward
        start, end = tracked
        return (
            _better(grey0, grey1, forward, self._seeded(grey0, grey1, start, end)),
            _better(grey1, grey0, backward, self._seeded(grey1, grey0, end, start)),
        )

    def refine(self, grey0: Grey, grey1: Grey, flow: Array) -> Array:
        """``improve`` for one direction (frame 0 -> 1) alone."""
        if min(grey0.shape[:2]) < _MIN_SEEDED_SIDE:
            return flow
        tracked = _tracked(grey0, grey1, self.points)
        if tracked is None or not _disagree(flow, *tracked):
            return flow
        return _better(grey0, grey1, flow, self._seeded(grey0, grey1, *tracked))

    def _seeded(self, grey0: Grey, grey1: Grey, start: Array, end: Array) -> Array:
        """The second DIS from ``grey0`` to ``grey1``, started from the corners' motion."""
        if self._dis is None:
            opencv = cv2()
            self._dis = opencv.DISOpticalFlow_create(opencv.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
            self._dis.setFinestScale(1)
        size = grey0.shape[1], grey0.shape[0]
        seeded = self._dis.calc(grey0, grey1, _spread(start, end - start, size))
        return np.asarray(seeded, np.float32)


def seeded_dis_flow(previous: Grey, following: Grey) -> Array:
    """The ``dis`` flow estimator's flow with the seeded candidate kept where it matches better:
    the flow cache's default estimator (``seeded`` in the ``flow_estimators`` registry), so that
    in-betweening, retiming and motion labelling follow large motion too. Made per call, so
    that threads computing a cache together share no OpenCV object."""
    dis: Any = registry("flow_estimators").get("dis")
    flow = np.asarray(dis(previous, following), np.float32)
    return Seeds(POINTS).refine(previous, following, flow)


def _tracked(grey0: Grey, grey1: Grey, count: int) -> tuple[Array, Array] | None:
    """Up to ``count`` corners of ``grey0`` and where they are in ``grey1`` (``(n, 2)`` each),
    those whose track back to ``grey0`` returns within ``_ROUND_TRIP``; None for too few."""
    opencv = cv2()
    corners = opencv.goodFeaturesToTrack(grey0, count, _QUALITY, _SPACING)
    if corners is None or len(corners) < _MIN_POINTS:
        return None
    criteria = (opencv.TERM_CRITERIA_EPS | opencv.TERM_CRITERIA_COUNT, 20, 0.03)
    options = {"winSize": (_WINDOW, _WINDOW), "maxLevel": _LEVELS, "criteria": criteria}
    moved, found, _ = opencv.calcOpticalFlowPyrLK(grey0, grey1, corners, None, **options)
    back, returned, _ = opencv.calcOpticalFlowPyrLK(grey1, grey0, moved, None, **options)
    trip = np.linalg.norm((back - corners)[:, 0], axis=1)
    kept = (found[:, 0] == 1) & (returned[:, 0] == 1) & (trip < _ROUND_TRIP)
    if kept.sum() < _MIN_POINTS:
        return None
    return corners[kept, 0].astype(np.float32), moved[kept, 0].astype(np.float32)


def _disagree(forward: Array, start: Array, end: Array) -> bool:
    """Whether over ``_OFF_SHARE`` of the tracked corners moved more than ``_OFF`` px away from
    where ``forward`` (at the nearest pixel) puts them."""
    height, width = forward.shape[:2]
    xs = np.clip(np.rint(start[:, 0]).astype(np.intp), 0, width - 1)
    ys = np.clip(np.rint(start[:, 1]).astype(np.intp), 0, height - 1)
    off = np.linalg.norm(forward[ys, xs] - (end - start), axis=1)
    return bool(np.mean(off > _OFF) > _OFF_SHARE)


def _spread(points: Array, moves: Array, size: tuple[int, int]) -> Array:
    """A smooth ``(h, w, 2)`` field from the ``moves`` at ``points``: their Gaussian-weighted
    mean (sigma ``_SPREAD`` of the longer side), worked at 1/``_SPREAD_SIZE`` size."""
    opencv = cv2()
    width, height = size
    small_w, small_h = max(1, width // _SPREAD_SIZE), max(1, height // _SPREAD_SIZE)
    sums = np.zeros((small_h, small_w, 3), np.float32)
    xs = np.clip((points[:, 0] * small_w / width).astype(np.intp), 0, small_w - 1)
    ys = np.clip((points[:, 1] * small_h / height).astype(np.intp), 0, small_h - 1)
    np.add.at(sums, (ys, xs), np.column_stack([moves, np.ones(len(moves), np.float32)]))
    sums = opencv.GaussianBlur(sums, (0, 0), _SPREAD * max(small_w, small_h))
    field = sums[..., :2] / np.maximum(sums[..., 2:], 1e-6)
    grown = opencv.resize(field, size, interpolation=opencv.INTER_LINEAR)
    return np.ascontiguousarray(grown, dtype=np.float32)


def _better(grey: Grey, other: Grey, first: Array, second: Array) -> Array:
    """Per pixel, ``second`` where ``other`` warped along it matches ``grey`` by ``_BETTER``
    of ``first``'s mean grey error over ``_BOX`` px, else ``first``."""
    opencv = cv2()
    errors = [
        opencv.blur(opencv.absdiff(warp(other, flow), grey).astype(np.float32), (_BOX, _BOX))
        for flow in (first, second)
    ]
    chosen: Array = np.where((errors[1] < _BETTER * errors[0])[..., None], second, first)
    return chosen.astype(np.float32)
