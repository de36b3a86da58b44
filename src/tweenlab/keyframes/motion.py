"""The camera's motion between two small grey frames, and warping by it.

Corners of the earlier frame are followed into the later one with pyramidal Lucas-Kanade flow
and a similarity transform (shift, scale, rotation) is fitted to them with RANSAC. What the fit
explains is the camera (pan, tilt, zoom); what it leaves over after warping is what moved in
the scene. Across a cut the corners find nothing to follow, so the inlier share drops.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["GlobalMotion", "estimate_motion", "warp"]

Grey = npt.NDArray[np.uint8]
_MAX_CORNERS = 80
_MIN_POINTS = 6


@dataclass(frozen=True)
class GlobalMotion:
    """A similarity transform from the earlier frame to the later one.

    Attributes:
        matrix: The 2x3 transform, in pixels of the frames compared.
        inliers: Share of the followed corners that agree with it (0 when none were found).
    """

    matrix: npt.NDArray[np.float64]
    inliers: float

    @property
    def dx(self) -> float:
        """Horizontal shift in pixels."""
        return float(self.matrix[0, 2])

    @property
    def dy(self) -> float:
        """Vertical shift in pixels."""
        return float(self.matrix[1, 2])

    @property
    def scale(self) -> float:
        """Scale change (1 = no zoom)."""
        return math.hypot(float(self.matrix[0, 0]), float(self.matrix[1, 0]))

    @classmethod
    def identity(cls) -> GlobalMotion:
        """No motion, nothing followed."""
        return cls(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), 0.0)


def estimate_motion(before: Grey, after: Grey) -> GlobalMotion:
    """The camera's motion from ``before`` to ``after`` (identity when it cannot be found).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> scene = (rng.random((120, 200)) * 255).astype(np.uint8)
        >>> scene = np.asarray(_cv2().GaussianBlur(scene, (5, 5), 0))
        >>> round(estimate_motion(scene[:, 4:164], scene[:, 0:160]).dx)
        4
    """
    cv2 = _cv2()
    corners = cv2.goodFeaturesToTrack(before, _MAX_CORNERS, 0.01, 5)
    if corners is None or len(corners) < _MIN_POINTS:
        return GlobalMotion.identity()
    moved, status, _ = cv2.calcOpticalFlowPyrLK(
        before, after, corners, None, winSize=(15, 15), maxLevel=3
    )
    found = status.ravel() == 1
    if int(found.sum()) < _MIN_POINTS:
        return GlobalMotion.identity()
    matrix, inliers = cv2.estimateAffinePartial2D(
        corners[found], moved[found], ransacReprojThreshold=1.5
    )
    if matrix is None:
        return GlobalMotion.identity()
    return GlobalMotion(np.asarray(matrix, np.float64), float(inliers.sum()) / len(corners))


def warp(image: Grey, motion: GlobalMotion) -> Grey:
    """``image`` moved by ``motion`` (borders repeated), to compare with the later frame."""
    if motion.inliers == 0:
        return image
    cv2 = _cv2()
    height, width = image.shape[:2]
    return np.asarray(
        cv2.warpAffine(image, motion.matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)
    )


def _cv2() -> Any:
    return importlib.import_module("cv2")
