"""Tests of motion-guided in-betweening, and the videos they run on.

The videos are generated: a textured background (blurred noise, fixed seed) with a textured
square moving on a known path, encoded with libx264 at crf 18, so the true box of every frame is
known. The textures are blurred with a sigma of 2 px and the square is 32 px: DIS flow follows
that well at 6 px a frame (finer textures or smaller squares are not followed: see the strict
xfails in ``test_propagation.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

from tweenlab.media import DerivedFiles, FrameIndex

__all__ = [
    "Box",
    "circle_images",
    "circle_video",
    "cut_video",
    "exit_video",
    "rotating_video",
    "texture",
    "write_keyframes",
    "write_video",
]

Box = tuple[float, float, float, float]
Image = npt.NDArray[np.uint8]


def texture(rng: np.random.Generator, height: int, width: int, sigma: float) -> Image:
    """Noise blurred by ``sigma`` px, stretched to the full 0..255 range (RGB)."""
    noise = rng.random((height, width, 3)).astype(np.float32)
    blurred = np.asarray(cv2.GaussianBlur(noise, (0, 0), sigma), dtype=np.float32)
    low, high = float(blurred.min()), float(blurred.max())
    return ((blurred - low) / (high - low) * 255).astype(np.uint8)


def write_video(path: Path, images: Sequence[Image], *, rate: int = 25) -> Path:
    """Encode RGB ``images`` with libx264 (crf 18, no B-frames, a keyframe every 12)."""
    height, width = images[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(rate))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "18", "bf": "0", "g": "12"}
        for image in images:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path


def circle_video(
    path: Path,
    *,
    frames: int = 40,
    size: tuple[int, int] = (192, 144),
    radius: float = 40,
    side: int = 32,
    seed: int = 0,
) -> tuple[Path, list[Box]]:
    """A square going once round a circle about the centre; its true box on every frame."""
    images, boxes = circle_images(frames=frames, size=size, radius=radius, side=side, seed=seed)
    return write_video(path, images), boxes


def indexed_circle(folder: Path, *, frames: int) -> tuple[Path, FrameIndex]:
    """``circle_video`` of ``frames`` frames in ``folder``, with its frame index (derived files
    in ``folder / "derived"``): the clip the flow cache's tests compute flow on."""
    video = circle_video(folder / "circle.mp4", frames=frames)[0]
    return video, DerivedFiles(folder / "derived").index(video)


def cached_bytes(folder: Path) -> int:
    """What a flow cache's folder holds in ``.npy`` files, less files still being written."""
    return sum(p.stat().st_size for p in folder.glob("*.npy") if not p.name.startswith("."))


def cut_video(path: Path, *, frames: int = 40, cut: int = 20) -> tuple[Path, list[Box]]:
    """Two shots of a circling square, each over a background of its own, with a hard cut at
    ``cut`` (the second shot's square starts elsewhere on its circle, the shot is darker and
    bluer, as another scene's light would be)."""
    first, boxes = circle_images(frames=frames, seed=1)
    second, later = circle_images(frames=frames, seed=2)
    tint = np.array([0.35, 0.55, 0.9], dtype=np.float32)
    second = [(image * tint).astype(np.uint8) for image in second]
    shift = frames // 2
    images = first[:cut] + (second[shift:] + second[:shift])[: frames - cut]
    truth = boxes[:cut] + (later[shift:] + later[:shift])[: frames - cut]
    return write_video(path, images), truth


def circle_images(
    *,
    frames: int,
    size: tuple[int, int] = (192, 144),
    radius: float = 40,
    side: int = 32,
    seed: int,
) -> tuple[list[Image], list[Box]]:
    """The frames and true boxes of ``circle_video``."""
    width, height = size
    rng = np.random.default_rng(seed)
    background, square = texture(rng, height, width, 2.0), texture(rng, side, side, 2.0)
    boxes: list[Box] = []
    images: list[Image] = []
    for frame in range(frames):
        angle = 2 * math.pi * frame / frames
        x = round(width / 2 + radius * math.cos(angle) - side / 2)
        y = round(height / 2 + radius * math.sin(angle) - side / 2)
        image = background.copy()
        image[y : y + side, x : x + side] = square
        images.append(image)
        boxes.append((float(x), float(y), float(side), float(side)))
    return images, boxes


def exit_video(
    path: Path,
    *,
    frames: int = 40,
    size: tuple[int, int] = (192, 144),
    speed: int = 6,
    side: int = 32,
    seed: int = 0,
) -> tuple[Path, list[Box]]:
    """A square going right from x = 20 at ``speed`` px a frame, out through the right edge.

    The true boxes are returned unclipped: ``x >= width`` once the square has left.
    """
    width, height = size
    rng = np.random.default_rng(seed)
    background, square = texture(rng, height, width, 2.0), texture(rng, side, side, 2.0)
    boxes: list[Box] = []
    images: list[Image] = []
    y = (height - side) // 2
    for frame in range(frames):
        x = 20 + speed * frame
        image = background.copy()
        visible = max(0, min(side, width - x))
        if visible:
            image[y : y + side, x : x + visible] = square[:, :visible]
        images.append(image)
        boxes.append((float(x), float(y), float(side), float(side)))
    return write_video(path, images), boxes


def rotating_video(
    path: Path,
    *,
    frames: int = 21,
    size: tuple[int, int] = (192, 144),
    side: int = 60,
    degrees: float = 4.5,
    seed: int = 0,
) -> tuple[Path, list[npt.NDArray[np.float64]]]:
    """A textured square turning ``degrees`` a frame about the picture's centre over a still
    background; its four true corners ``(4, 2)`` on every frame."""
    width, height = size
    rng = np.random.default_rng(seed)
    background, square = texture(rng, height, width, 2.0), texture(rng, side, side, 1.5)
    base = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=np.float64) * side / 2
    images: list[Image] = []
    corners: list[npt.NDArray[np.float64]] = []
    for frame in range(frames):
        angle = math.radians(degrees * frame)
        turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        placed = base @ turn.T + [width / 2, height / 2]
        matrix = cv2.getAffineTransform(np.float32(base[:3] + side / 2), np.float32(placed[:3]))
        warped = cv2.warpAffine(square, matrix, (width, height), flags=cv2.INTER_LINEAR)
        inside = cv2.warpAffine(np.full((side, side), 255, np.uint8), matrix, (width, height))
        image = background.copy()
        image[inside > 127] = warped[inside > 127]
        images.append(image)
        corners.append(placed)
    return write_video(path, images), corners


def write_keyframes(path: Path, text: str) -> Path:
    """``text`` written as the keyframes file ``path`` (UTF-8)."""
    path.write_text(text, encoding="utf-8")
    return path
