"""Per-frame signals: what changed between a frame and the one before it, and how sharp it is.

One ``SignalExtractor`` sees every frame once, small (the analysis size, longer side about 200
pixels, scaled while decoding), and keeps one row of numbers per frame. ``Signals`` holds the
rows as float32 arrays (a struct of arrays), saved as a compact ``.npz`` among the video's
derived files, and plotted by ``plot_signals``. Row ``n`` compares frame ``n`` with the frame
decoded before it (row 0 compares with nothing and is all zeros but for sharpness and
brightness).

The change signals:

* ``content``: mean absolute difference of hue, saturation and value, averaged (PySceneDetect
  ContentDetector's ``content_val``, 0-255).
* ``edges``: share of edge pixels (Canny, dilated) that appear or disappear (0-1).
* ``histogram``: half the L1 distance of the 16x4x4 HSV histograms (0-1; 1 = nothing shared).
* ``motion_x``, ``motion_y``, ``zoom``: the camera's motion (sparse Lucas-Kanade flow fitted by a
  similarity transform), as shares of the frame width per frame and a scale change.
* ``inliers``: share of tracked points that move with the camera (low across a cut).
* ``foreground``: mean absolute grey difference once the previous frame is warped by the
  camera's motion and scaled to the same exposure (0-255): what moved relative to the
  camera, near 0 for a pure pan or a fade.
* ``sharpness``: variance of the Laplacian of the grey frame.
* ``brightness``: mean grey level (0-255).
* ``duplicate``: 1 where the frame is a near-duplicate of the one before it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tweenlab.keyframes.motion import GlobalMotion, estimate_motion, warp
from tweenlab.media._files import write_atomic

__all__ = ["SIGNAL_NAMES", "FrameFeatures", "SignalExtractor", "Signals", "analysis_size"]

RGB = npt.NDArray[np.uint8]
Array = npt.NDArray[np.float32]

#: Every per-frame signal, in the order of ``Signals``' fields.
SIGNAL_NAMES = (
    "content",
    "edges",
    "histogram",
    "motion_x",
    "motion_y",
    "zoom",
    "inliers",
    "foreground",
    "sharpness",
    "brightness",
    "duplicate",
)
_THUMB = (16, 9)  # the thumbnail near-duplicate checks compare
_DUPLICATE_FOREGROUND = 0.6  # grey levels: below this after camera compensation, nothing moved
_DUPLICATE_HISTOGRAM = 0.02
_FORMAT_VERSION = 1


def _cv2() -> Any:
    """OpenCV, imported on first use (its stubs type every array as UMat, so it stays untyped)."""
    return importlib.import_module("cv2")


def analysis_size(width: int, height: int, longer_side: int = 192) -> tuple[int, int]:
    """The even ``(width, height)`` frames are decoded at: longer side ``longer_side``, no upscale.

    Example:
        >>> analysis_size(1920, 1080)
        (192, 108)
    """
    scale = min(1.0, longer_side / max(width, height, 1))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


@dataclass(frozen=True)
class Signals:
    """Per-frame signals of one video, one float32 array per name (see the module docstring).

    Example:
        >>> signals = Signals.empty(3)
        >>> signals.content.shape, len(signals)
        ((3,), 3)
    """

    content: Array
    edges: Array
    histogram: Array
    motion_x: Array
    motion_y: Array
    zoom: Array
    inliers: Array
    foreground: Array
    sharpness: Array
    brightness: Array
    duplicate: Array

    def __post_init__(self) -> None:
        lengths = {getattr(self, name).shape for name in SIGNAL_NAMES}
        if len(lengths) != 1 or len(next(iter(lengths))) != 1:
            raise ValueError(f"signals must be 1-D arrays of one length, got {sorted(lengths)}")

    def __len__(self) -> int:
        return int(self.content.shape[0])

    @classmethod
    def empty(cls, count: int) -> Signals:
        """``count`` rows of zeros."""
        return cls(**{name: np.zeros(count, np.float32) for name in SIGNAL_NAMES})

    @classmethod
    def from_rows(cls, rows: list[dict[str, float]]) -> Signals:
        """Stack per-frame rows (dicts keyed by signal name)."""
        return cls(**{name: np.array([r[name] for r in rows], np.float32) for name in SIGNAL_NAMES})

    def camera_speed(self) -> Array:
        """How far the camera moved each frame, as a share of the frame width (pan plus zoom)."""
        return np.asarray(
            np.hypot(self.motion_x, self.motion_y) + np.abs(self.zoom - 1) * (self.zoom > 0),
            np.float32,
        )

    def save(self, target: Path, **extra: npt.NDArray[Any]) -> None:
        """Write the signals (and ``extra`` arrays) as a compressed ``.npz`` (atomically)."""
        import io  # noqa: PLC0415  (only when saving)

        buffer = io.BytesIO()
        arrays = {f.name: getattr(self, f.name) for f in fields(self)}
        arrays.update(extra, version=np.asarray(_FORMAT_VERSION, np.int32))
        np.savez_compressed(buffer, **arrays)
        write_atomic(target, buffer.getvalue())

    @classmethod
    def load(cls, source: Path) -> Signals | None:
        """Read signals written by ``save``; ``None`` when missing, stale or unreadable."""
        try:
            with np.load(source) as data:
                if int(data["version"]) != _FORMAT_VERSION:
                    return None
                return cls(**{name: data[name].astype(np.float32) for name in SIGNAL_NAMES})
        except (OSError, KeyError, ValueError):
            return None


@dataclass(frozen=True, eq=False)
class FrameFeatures:
    """What the detectors need of one frame besides its signal row.

    Attributes:
        index: The frame's index (from the media core's frame index).
        histogram: Its normalised 16x4x4 HSV histogram (256 float32 summing to 1).
        thumb: A ``(9, 16)`` grey thumbnail, for near-duplicate tests.
        row: Its signal row (name -> value).
    """

    index: int
    histogram: Array
    thumb: npt.NDArray[np.uint8]
    row: dict[str, float]


class SignalExtractor:
    """Computes one signal row per frame, streaming: call ``process`` on frames in order.

    Frames may be any size, but every frame of one video must be the same size (decode them
    with ``VideoReader(size=...)``); a frame of another size is rescaled to the first's.

    Example:
        >>> extractor = SignalExtractor()
        >>> black = np.zeros((108, 192, 3), np.uint8)
        >>> first = extractor.process(0, black)
        >>> first.row["brightness"], extractor.process(1, black).row["duplicate"]
        (0.0, 1.0)
    """

    def __init__(self) -> None:
        self._cv2 = _cv2()
        self._size: tuple[int, int] | None = None
        self._previous: dict[str, Any] | None = None

    def process(self, index: int, image: RGB) -> FrameFeatures:
        """The features of frame ``index`` (compared with the frame processed before it)."""
        cv2 = self._cv2
        if self._size is None:
            self._size = (image.shape[1], image.shape[0])
        elif (image.shape[1], image.shape[0]) != self._size:
            image = cv2.resize(image, self._size, interpolation=cv2.INTER_AREA)
        current = self._describe(image)
        row = {name: 0.0 for name in SIGNAL_NAMES}
        row["zoom"] = 1.0
        row["sharpness"] = float(cv2.Laplacian(current["grey"], cv2.CV_32F).var())
        row["brightness"] = float(current["grey"].mean())
        if self._previous is not None:
            row.update(self._compare(self._previous, current))
        self._previous = current
        return FrameFeatures(index, current["histogram"], current["thumb"], row)

    def _describe(self, image: RGB) -> dict[str, Any]:
        cv2 = self._cv2
        hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        histogram = cv2.calcHist([hsv], [0, 1, 2], None, [16, 4, 4], [0, 180, 0, 256, 0, 256])
        histogram = (histogram.ravel() / max(float(histogram.sum()), 1.0)).astype(np.float32)
        edges = cv2.dilate(cv2.Canny(grey, 100, 200), np.ones((3, 3), np.uint8))
        thumb = cv2.resize(grey, _THUMB, interpolation=cv2.INTER_AREA)
        return {"hsv": hsv, "grey": grey, "histogram": histogram, "edges": edges, "thumb": thumb}

    def _compare(self, before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
        cv2 = self._cv2
        content = float(cv2.absdiff(before["hsv"], after["hsv"]).mean())
        edges = float(cv2.absdiff(before["edges"], after["edges"]).mean()) / 255.0
        histogram = 0.5 * float(np.abs(before["histogram"] - after["histogram"]).sum())
        motion = estimate_motion(before["grey"], after["grey"])
        foreground = _residual(warp(before["grey"], motion), after["grey"])
        duplicate = foreground < _DUPLICATE_FOREGROUND and histogram < _DUPLICATE_HISTOGRAM
        return {
            "content": content,
            "edges": edges,
            "histogram": histogram,
            **_motion_row(motion, after["grey"].shape[1]),
            "foreground": foreground,
            "duplicate": float(duplicate),
        }


def _residual(before: npt.NDArray[np.uint8], after: npt.NDArray[np.uint8]) -> float:
    """Mean absolute grey difference once ``before`` is scaled to ``after``'s exposure.

    A fade or a change of exposure scales every pixel alike; the gain takes it out, so what is
    left is what changed in the picture.
    """
    a, b = before.astype(np.float32), after.astype(np.float32)
    energy = float(np.dot(a.ravel(), a.ravel()))
    gain = min(max(float(np.dot(a.ravel(), b.ravel())) / energy, 0.0), 4.0) if energy else 1.0
    return float(np.abs(b - gain * a).mean())


def _motion_row(motion: GlobalMotion, width: int) -> dict[str, float]:
    return {
        "motion_x": motion.dx / width,
        "motion_y": motion.dy / width,
        "zoom": motion.scale,
        "inliers": motion.inliers,
    }
