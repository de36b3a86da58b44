"""Synthetic frames with known motion: a smooth random texture seen through a moving window."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]


def texture(size: tuple[int, int] = (160, 224), seed: int = 0) -> npt.NDArray[np.float32]:
    """A colour texture with detail at several scales, ``(H, W, 3)`` float32 in 0..255."""
    rng = np.random.default_rng(seed)
    height, width = size
    out = np.zeros((height, width, 3), np.float32)
    for cell, amplitude in ((24, 90.0), (8, 50.0), (3, 25.0)):
        small = rng.uniform(-1, 1, (height // cell + 2, width // cell + 2, 3)).astype(np.float32)
        out += amplitude * cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(out + 128.0, 0, 255).astype(np.float32)


def shifted(base: npt.NDArray[np.float32], dx: float, dy: float) -> Image:
    """``base`` translated by ``(dx, dy)`` pixels (sub-pixel, bicubic), as uint8."""
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    size = (base.shape[1], base.shape[0])
    moved = cv2.warpAffine(base, matrix, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    return np.clip(np.rint(moved), 0, 255).astype(np.uint8)


def psnr(truth: Image, guess: Image, margin: int = 12) -> float:
    """PSNR in dB over the frame less ``margin`` pixels at each border."""
    inner = (slice(margin, -margin or None), slice(margin, -margin or None))
    error = np.mean((truth[inner].astype(np.float64) - guess[inner].astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(error, 1e-10)))


def blend(frame0: Image, frame1: Image, t: float) -> Image:
    mixed = (1 - t) * frame0.astype(np.float32) + t * frame1.astype(np.float32)
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def dark_block(x: int, seed: int = 5) -> Image:
    """A 320x240 textured background with a dark 50x60 block at column ``x``, plain but for six
    bright 5 px marks: an object that DIS's coarse-to-fine search loses when it moves far."""
    frame = texture((240, 320), seed=seed) * 0.5 + 64.0
    block = np.full((60, 50, 3), 30.0, np.float32)
    rng = np.random.default_rng(1)
    for _ in range(6):
        top, left = rng.integers(4, 50), rng.integers(4, 40)
        block[top : top + 5, left : left + 5] = 220.0
    frame[90:150, x : x + 50] = block
    return np.clip(frame, 0, 255).astype(np.uint8)
