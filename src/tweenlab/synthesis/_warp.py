"""The array work of flow-based synthesis: sampling grids, backward warping, forward splatting
and forward-backward consistency. Flows are ``(H, W, 2)`` float32 ``(dx, dy)`` in pixels."""

from __future__ import annotations

import importlib
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float32]


def cv2() -> Any:
    """OpenCV, imported on first use; untyped, since its stubs type every array as UMat."""
    return importlib.import_module("cv2")


@lru_cache(maxsize=8)
def grid(height: int, width: int) -> tuple[Array, Array]:
    """Pixel coordinates ``(x, y)`` of an image of this size (read-only, shared)."""
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    xs.flags.writeable = ys.flags.writeable = False
    return xs, ys


def warp(image: npt.NDArray[Any], flow: Array, *, cubic: bool = False) -> npt.NDArray[Any]:
    """Backward warp: ``out(x) = image(x + flow(x))``, borders replicated."""
    return warps(image, flow, cubic=cubic)[0]


def warps(
    image: npt.NDArray[Any], flow: Array, *, linear: bool = True, cubic: bool = False
) -> list[npt.NDArray[Any]]:
    """``image`` backward-warped along ``flow`` bilinearly and/or bicubically (in that order),
    from one fixed-point map (``cv2.convertMaps``: 1/32 pixel steps, shared by both)."""
    opencv = cv2()
    xs, ys = grid(*flow.shape[:2])
    maps = opencv.convertMaps(xs + flow[..., 0], ys + flow[..., 1], opencv.CV_16SC2)
    modes = [opencv.INTER_LINEAR] * linear + [opencv.INTER_CUBIC] * cubic
    border = opencv.BORDER_REPLICATE
    return [np.asarray(opencv.remap(image, *maps, mode, borderMode=border)) for mode in modes]


def consistency(
    forward: Array, backward: Array, *, beta: float = 0.01, slack: float = 0.5
) -> Array:
    """How well each pixel's forward flow is undone by the backward flow where it lands, in
    (0, 1]: ``exp(-|F01 + F10(x + F01)|² / (beta (|F01|² + |F10(..)|²) + slack))``, the test
    of Sundaram et al. (2010) made soft. Low where the pixel is occluded in the other frame."""
    back = warp(backward, forward)
    error = squared(forward + back)
    bound = beta * (squared(forward) + squared(back)) + slack
    trust: Array = np.exp(-error / bound).astype(np.float32)
    return trust


def squared(flow: Array) -> Array:
    """Each vector's squared length, ``(H, W)`` (``einsum``: several times faster than
    ``np.square(flow).sum(-1)`` over a last axis of 2)."""
    lengths: Array = np.einsum("...i,...i->...", flow, flow)
    return lengths


def splat(values: Array, weights: Array, target_x: Array, target_y: Array) -> tuple[Array, Array]:
    """Forward-splat ``values`` (H, W, C) with ``weights`` (H, W) to the (fractional) target
    positions, bilinearly; returns the weighted sums (H, W, C) and the summed weights (H, W)."""
    height, width, channels = values.shape
    x0, y0 = np.floor(target_x), np.floor(target_y)
    fx, fy = target_x - x0, target_y - y0
    xi, yi = x0.astype(np.int64), y0.astype(np.int64)
    cells, masses = [], []
    for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
        x, y = xi + dx, yi + dy
        share = (fx if dx else 1 - fx) * (fy if dy else 1 - fy) * weights
        inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
        cells.append(np.where(inside, y * width + x, 0).ravel())  # outside: cell 0, no mass
        masses.append(np.where(inside, share, 0).ravel())
    cell, mass = np.concatenate(cells), np.concatenate(masses)
    count = height * width
    total = np.bincount(cell, mass, minlength=count).reshape(height, width)
    sums = [
        np.bincount(cell, mass * np.tile(values[..., c].ravel(), 4), minlength=count)
        for c in range(channels)
    ]
    moved = np.stack(sums, -1).reshape(height, width, channels)
    return moved.astype(np.float32), total.astype(np.float32)


def resize(array: npt.NDArray[Any], size: tuple[int, int], *, area: bool = False) -> Any:
    """``array`` resized to ``(width, height)``."""
    opencv = cv2()
    if (array.shape[1], array.shape[0]) == size:
        return array
    mode = opencv.INTER_AREA if area else opencv.INTER_LINEAR
    return opencv.resize(array, size, interpolation=mode)
