"""Synthetic footage with known boundaries: textured shots, pans, cuts, dissolves, fades, flashes.

Test-support only. Each shot is a smooth random texture with its own colour cast, seen through a
moving window (so a "pan" is an exact global shift); frames are RGB ``(H, W, 3)`` uint8 at
``SIZE`` and can be fed to the detector directly or encoded with :func:`write_video`.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

SIZE = (192, 108)  # width, height: the analysis size itself
Frames = list[np.ndarray]


def texture(seed: int, width: int = 1000, height: int = 220) -> np.ndarray:
    """A smooth random RGB texture with a colour cast that depends on ``seed``."""
    rng = np.random.default_rng(seed)
    base = rng.random((height // 8, width // 8, 3)).astype(np.float32)
    big = cv2.resize(base, (width, height), interpolation=cv2.INTER_CUBIC)
    detail = cv2.GaussianBlur(rng.random((height, width, 3)).astype(np.float32), (0, 0), 1.5)
    cast = rng.random(3).astype(np.float32)
    image = 0.4 * big + 0.2 * detail + 0.7 * cast - 0.15
    return np.clip(image * 255, 0, 255).astype(np.uint8)


def shot(seed: int, frames: int, *, speed: float = 1.0, start: float = 0.0) -> Frames:
    """``frames`` views of texture ``seed``, the window moving ``speed`` pixels per frame."""
    scene = texture(seed)
    width, height = SIZE
    out = []
    for i in range(frames):
        x = round(start + speed * i) % (scene.shape[1] - width)
        out.append(np.ascontiguousarray(scene[40 : 40 + height, x : x + width]))
    return out


def dissolve(before: Frames, after: Frames, length: int) -> Frames:
    """``before`` then ``after`` with their ends cross-faded over ``length`` frames."""
    blended = []
    for i in range(length):
        alpha = (i + 1) / (length + 1)
        mix = (1 - alpha) * before[len(before) - length + i] + alpha * after[i]
        blended.append(np.clip(np.rint(mix), 0, 255).astype(np.uint8))
    return before[:-length] + blended + after[length:]


def wipe(before: Frames, after: Frames, length: int, *, vertical: bool = False) -> Frames:
    """``before`` then ``after``, ``after`` sliding in over ``length`` frames behind an edge
    moving left to right (or top to bottom)."""
    height, width = before[0].shape[:2]
    wiped = []
    for i in range(length):
        share = (i + 1) / (length + 1)
        edge = round(share * (height if vertical else width))
        frame = before[len(before) - length + i].copy()
        if vertical:
            frame[:edge] = after[i][:edge]
        else:
            frame[:, :edge] = after[i][:, :edge]
        wiped.append(frame)
    return before[:-length] + wiped + after[length:]


def fade_out(frames: Frames, length: int) -> Frames:
    """The last ``length`` frames fade to black."""
    faded = [
        np.rint(f * (1 - (i + 1) / length)).astype(np.uint8) for i, f in enumerate(frames[-length:])
    ]
    return frames[:-length] + faded


def flash(frames: Frames, at: int, length: int = 2) -> Frames:
    """Frames ``at`` .. ``at + length - 1`` blown out to near white."""
    out = list(frames)
    for i in range(at, at + length):
        out[i] = np.clip(out[i].astype(np.int16) + 200, 0, 255).astype(np.uint8)
    return out


def indexed(frames: Frames) -> Iterator[tuple[int, np.ndarray]]:
    """``(index, image)`` pairs, as the detector takes them."""
    return iter(enumerate(frames))


def write_video(path: Path, frames: Frames, *, rate: int = 25, first: int = 0) -> Path:
    """Encode ``frames`` with libx264 (crf 18) into ``path``, timed from frame ``first``."""
    with av.open(str(path), mode="w") as output:
        stream = output.add_stream("libx264", rate=rate, options={"crf": "18"})
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = first + i, Fraction(1, rate)
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return path
