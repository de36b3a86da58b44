"""PhaseNet (Meyer, Djelouah, McWilliams, Sorkine-Hornung, Gross and Schroers, "PhaseNet for
Video Frame Interpolation", CVPR 2018).

Both frames are decomposed with a complex steerable pyramid; a decoder of PhaseNet blocks, one
per level from the coarsest to the finest, each fed the two frames' phases and amplitudes at its
level and the previous (coarser) block's features, predicts the in-between frame's phases and
amplitudes (and its low-pass residual at the coarsest level); the frame is the pyramid
reconstructed from them. Blocks at the finer levels share their weights, so the number of
levels can follow the frame size.

Scaled down here: the pyramid is ``tweenlab.synthesis.models._pyramid`` (octave levels, no
half-octave ones, 4 orientations, on the RGB channels rather than Lab), levels are added until
the low-pass image is about ``low_side`` pixels (up to ``max_levels``), blocks have ``width``
channels (the paper 64) and two weight sets: one for the coarsest level and one shared by all
others. Each block predicts corrections to phase-based interpolation (half the phase
difference, the mean amplitude; Meyer et al. 2015), so an untrained network is that method.
The paper's loss adds a phase term to an image L1 loss; training here uses image L1 plus an
image-gradient term.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's convention)
from torch import Tensor, nn

from tweenlab.synthesis.models._layers import check_pair, conv_block, pad_to, start_at
from tweenlab.synthesis.models._pyramid import Pyramid, decompose, reconstruct

__all__ = ["PhaseNet"]

_ORIENTATIONS = 4
_CHANNELS = 3


def _band_features(band0: Tensor, band1: Tensor) -> tuple[Tensor, Tensor]:
    """Per pixel: cos and sin of the phase difference and both log amplitudes, stacked over
    channels and orientations ``(B, 4 C K, h, w)``; and the phase difference ``(B, C, K, h, w)``."""
    difference = torch.angle(band1 * band0.conj())
    amplitude0, amplitude1 = band0.abs(), band1.abs()
    stacked = torch.cat(
        (
            torch.cos(difference),
            torch.sin(difference),
            torch.log(amplitude0 + 1e-3),
            torch.log(amplitude1 + 1e-3),
        ),
        1,
    )
    return stacked.flatten(1, 2), difference


class PhaseNet(nn.Module):
    """A decoder over a steerable-pyramid phase decomposition (t = 0.5).

    Args:
        width: Channels of each PhaseNet block.
        low_side: Levels are added while the low-pass image's shorter side stays at or above
            this many pixels.
        max_levels: At most this many levels.

    Example:
        >>> model = PhaseNet(width=8)
        >>> model(torch.rand(1, 3, 33, 47), torch.rand(1, 3, 33, 47)).shape
        torch.Size([1, 3, 33, 47])
    """

    name = "phasenet"
    times = (0.5,)

    def __init__(self, *, width: int = 32, low_side: int = 8, max_levels: int = 8) -> None:
        super().__init__()
        self.config: dict[str, Any] = {
            "width": width,
            "low_side": low_side,
            "max_levels": max_levels,
        }
        self.low_side, self.max_levels = low_side, max_levels
        features = 4 * _CHANNELS * _ORIENTATIONS
        corrections = 2 * _CHANNELS * _ORIENTATIONS
        self.coarse = conv_block(features + 2 * _CHANNELS, width)
        self.coarse_head = nn.Conv2d(width, corrections + _CHANNELS, 1)
        self.fine = conv_block(features + width, width)
        self.fine_head = nn.Conv2d(width, corrections, 1)
        start_at(self.coarse_head)
        start_at(self.fine_head)

    def levels(self, height: int, width: int) -> int:
        """Pyramid levels for frames of this size."""
        fits = math.floor(math.log2(max(min(height, width), 1) / self.low_side))
        return max(1, min(self.max_levels, fits))

    def forward(self, frame0: Tensor, frame1: Tensor) -> Tensor:
        """``(B, 3, H, W)`` twice, in 0..1 -> the middle frame ``(B, 3, H, W)``."""
        check_pair(frame0, frame1)
        levels = self.levels(*frame0.shape[-2:])
        pair, crop = pad_to(torch.cat((frame0, frame1), 1), 2**levels)
        pyramid0, pyramid1 = decompose(pair[:, :3], levels), decompose(pair[:, 3:], levels)
        bands: list[Tensor] = []
        hidden: Tensor | None = None
        low = 0.5 * (pyramid0.low + pyramid1.low)
        for level in reversed(range(levels)):
            band0, band1 = pyramid0.bands[level], pyramid1.bands[level]
            inputs, difference = _band_features(band0, band1)
            if hidden is None:
                lows = torch.cat((pyramid0.low, pyramid1.low), 1)
                lows = F.interpolate(lows, size=inputs.shape[-2:], mode="nearest")
                hidden = self.coarse(torch.cat((inputs, lows), 1))
                out = self.coarse_head(hidden)
                low = low + F.avg_pool2d(out[:, -_CHANNELS:], 2)
                out = out[:, :-_CHANNELS]
            else:
                up = F.interpolate(
                    hidden, size=inputs.shape[-2:], mode="bilinear", align_corners=False
                )
                hidden = self.fine(torch.cat((inputs, up), 1))
                out = self.fine_head(hidden)
            shift, gain = out.unflatten(1, (2, _CHANNELS, _ORIENTATIONS)).unbind(1)
            amplitude = 0.5 * (band0.abs() + band1.abs()) * torch.exp(gain)
            phase = torch.angle(band0) + 0.5 * difference + shift
            bands.insert(0, torch.polar(amplitude, phase))
        return crop(reconstruct(Pyramid(bands, low)))
