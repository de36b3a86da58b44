"""A complex steerable pyramid in torch, built in the Fourier domain (after Portilla and
Simoncelli 2000, as used by phase-based frame interpolation).

Simplified: octave levels only (the phase-based papers also use half-octave ones), no separate
high-pass residual (the finest band covers everything above a quarter of the sampling rate), and
the oriented filters' angular profiles are normalised numerically so that analysis followed by
synthesis reconstructs the image exactly (to float precision). Each level splits the image into
``orientations`` complex bands (radial band pi/4..pi/2 and above, one-sided angular window) and
a low-pass part, which is subsampled by 2 (alias-free: it holds no frequency above pi/2) and
decomposed in turn. Image sides must be multiples of ``2 ** levels``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["Pyramid", "decompose", "reconstruct"]


@dataclass(frozen=True)
class Pyramid:
    """``bands[level]``: ``(B, C, K, H / 2**level, W / 2**level)`` complex, finest first;
    ``low``: the remaining low-pass image, ``(B, C, H / 2**levels, W / 2**levels)``."""

    bands: list[Tensor]
    low: Tensor


def _filters(height: int, width: int, orientations: int, device: torch.device) -> Tensor:
    """``(K + 1, H, W)``: the K oriented band filters and the low-pass filter at one size."""
    fy = torch.fft.fftfreq(height, device=device) * 2 * math.pi
    fx = torch.fft.fftfreq(width, device=device) * 2 * math.pi
    wy, wx = torch.meshgrid(fy, fx, indexing="ij")
    radius = torch.sqrt(wx**2 + wy**2)
    angle = torch.atan2(wy, wx)
    log_r = torch.log2(torch.clamp(radius, min=1e-9) * 2 / math.pi)
    high = torch.where(
        radius >= math.pi / 2,
        torch.ones_like(radius),
        torch.where(
            radius <= math.pi / 4, torch.zeros_like(radius), torch.cos(math.pi / 2 * log_r)
        ),
    )
    low = torch.sqrt(torch.clamp(1 - high**2, min=0.0))

    def profile(theta: Tensor, k: int) -> Tensor:
        diff = torch.remainder(theta - math.pi * k / orientations + math.pi, 2 * math.pi) - math.pi
        return torch.where(
            diff.abs() < math.pi / 2, torch.cos(diff) ** (orientations - 1), torch.zeros_like(diff)
        )

    own = torch.stack([profile(angle, k) for k in range(orientations)])
    # Nyquist points on an orientation's edge are covered by no window: give them to band 0
    uncovered = (own**2).sum(0) < 1e-9
    own[0] = torch.where(uncovered, torch.ones_like(radius), own[0])
    # each filter at -w, taken from the grid itself (the Nyquist row and column are their own
    # mirror images there, whatever the angle says)
    mirrored = torch.roll(torch.flip(own, dims=(-2, -1)), shifts=(1, 1), dims=(-2, -1))
    norm = torch.sqrt(torch.clamp(((own**2 + mirrored**2) / 2).sum(0), min=1e-12))
    bands = high * own / norm
    return torch.cat((bands, low[None]), 0)


def decompose(image: Tensor, levels: int, orientations: int = 4) -> Pyramid:
    """The pyramid of a real ``(B, C, H, W)`` image."""
    bands = []
    x = image
    for _ in range(levels):
        filters = _filters(x.shape[-2], x.shape[-1], orientations, x.device)
        spectrum = torch.fft.fft2(x)
        bands.append(torch.fft.ifft2(spectrum[:, :, None] * filters[:-1]))
        x = torch.fft.ifft2(spectrum * filters[-1]).real[..., ::2, ::2]
    return Pyramid(bands, x)


def reconstruct(pyramid: Pyramid) -> Tensor:
    """The image ``decompose`` took apart (or one made of edited bands)."""
    x = pyramid.low
    for band in reversed(pyramid.bands):
        height, width = band.shape[-2:]
        orientations = band.shape[2]
        filters = _filters(height, width, orientations, band.device)
        up = torch.zeros(*x.shape[:-2], height, width, dtype=x.dtype, device=x.device)
        up[..., ::2, ::2] = x
        spectrum = torch.fft.fft2(up) * (4 * filters[-1])
        spectrum = spectrum + (torch.fft.fft2(band) * filters[:-1]).sum(2)
        x = torch.fft.ifft2(spectrum).real
    return x
