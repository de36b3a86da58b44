"""A PNG of a video's signals with its cuts, transitions and suggested keyframes marked.

Drawn with OpenCV (no plotting library): one strip per signal, each scaled to its own 99th
percentile, frames left to right; cuts are red lines, transitions orange bands, flashes grey
bands, suggested keyframes green ticks under the strips.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tweenlab.keyframes.detector import Analysis
from tweenlab.media._files import write_atomic

__all__ = ["plot_analysis"]

_STRIPS = (
    ("histogram", "histogram distance"),
    ("content", "HSV content change"),
    ("edges", "edge change"),
    ("foreground", "foreground (camera-compensated)"),
    ("camera", "camera speed"),
    ("sharpness", "sharpness"),
)
_STRIP_HEIGHT, _LABEL, _MARGIN = 70, 230, 8
_RED, _ORANGE, _GREY, _GREEN, _INK = (
    (40, 40, 220),
    (0, 150, 255),
    (200, 200, 200),
    (60, 160, 0),
    (
        60,
        60,
        60,
    ),
)


_ENCODED = (".png", ".jpg", ".jpeg", ".webp")  # a plot named otherwise is a PNG


def plot_analysis(analysis: Analysis, target: Path, *, width: int = 1600) -> Path:
    """Draw ``analysis`` into ``target`` (written atomically; JPEG or WebP by its suffix, else
    PNG) and return its path."""
    cv2 = importlib.import_module("cv2")
    count = max(len(analysis.frames), 1)
    last = int(analysis.frames[-1]) if len(analysis.frames) else 0
    plot_width = max(width - _LABEL - 2 * _MARGIN, 100)
    height = _MARGIN * 2 + _STRIP_HEIGHT * len(_STRIPS) + 50
    canvas = np.full((height, width, 3), 255, np.uint8)

    def x_of(frame: float) -> int:
        return _LABEL + _MARGIN + round(frame / max(last, 1) * (plot_width - 1))

    _mark_ranges(cv2, canvas, analysis.transitions, x_of, _ORANGE)
    _mark_ranges(cv2, canvas, analysis.flashes, x_of, _GREY)
    values = _values(analysis)
    xs = np.array([x_of(float(f)) for f in analysis.frames], np.int32)
    for row, (name, label) in enumerate(_STRIPS):
        top = _MARGIN + row * _STRIP_HEIGHT
        _strip(cv2, canvas, xs, values[name], top=top, label=label, count=count)
    for cut in analysis.cuts:
        cv2.line(canvas, (x_of(cut), _MARGIN), (x_of(cut), height - 50), _RED, 1)
    for frame in analysis.suggested:
        cv2.line(canvas, (x_of(frame), height - 46), (x_of(frame), height - 30), _GREEN, 2)
    legend = "red: cuts  orange: transitions  grey: flashes  green: suggested keyframes"
    cv2.putText(canvas, legend, (_MARGIN, height - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.4, _INK, 1)
    kind = target.suffix.lower() if target.suffix.lower() in _ENCODED else ".png"
    ok, encoded = cv2.imencode(kind, canvas)  # as its name says (p.jpg was PNG bytes)
    if not ok:  # pragma: no cover - OpenCV always encodes a uint8 image
        raise RuntimeError("OpenCV could not encode the plot")
    write_atomic(target, encoded.tobytes())
    return target


def _values(analysis: Analysis) -> dict[str, npt.NDArray[np.float32]]:
    signals = analysis.signals
    values = {name: getattr(signals, name) for name, _ in _STRIPS if name != "camera"}
    values["camera"] = signals.camera_speed()
    return values


def _strip(
    cv2: Any,
    canvas: npt.NDArray[np.uint8],
    xs: npt.NDArray[np.int32],
    value: npt.NDArray[np.float32],
    *,
    top: int,
    label: str,
    count: int,
) -> None:
    bottom = top + _STRIP_HEIGHT - 6
    cv2.line(canvas, (_LABEL, bottom), (canvas.shape[1] - _MARGIN, bottom), _GREY, 1)
    cv2.putText(canvas, label, (_MARGIN, top + 30), cv2.FONT_HERSHEY_SIMPLEX, 0.45, _INK, 1)
    if count < 2 or value.size < 2:
        return
    scale = float(np.percentile(value, 99)) or float(value.max()) or 1.0
    ys = bottom - np.clip(value / scale, 0, 1) * (_STRIP_HEIGHT - 12)
    points = np.stack([xs, ys.astype(np.int32)], axis=1).reshape(-1, 1, 2)
    cv2.polylines(canvas, [points], False, (120, 60, 0), 1)


def _mark_ranges(
    cv2: Any,
    canvas: npt.NDArray[np.uint8],
    ranges: list[tuple[int, int]],
    x_of: Any,
    colour: tuple[int, int, int],
) -> None:
    for start, end in ranges:
        cv2.rectangle(
            canvas, (x_of(start), _MARGIN), (x_of(end) + 1, canvas.shape[0] - 50), colour, -1
        )
