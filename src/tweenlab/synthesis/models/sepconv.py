"""Adaptive Separable Convolution (Niklaus, Mai and Liu, "Video Frame Interpolation via
Adaptive Separable Convolution", ICCV 2017).

A U-Net (five levels of 32..512 channels, skip connections added) over both frames feeds four
subnetworks, each predicting one 1D kernel per pixel (51 taps): a vertical and a horizontal one
for each frame. Each frame is filtered with the outer product of its two 1D kernels at every
pixel and the two results are summed.

Scaled down here: the U-Net has configurable ``width`` and ``depth`` (16 channels and 3 levels
by default), each subnetwork is two 3x3 convolutions (the paper's three and an upsampling, since
this U-Net already ends at full resolution), and kernels have ``kernel`` taps (13 by default,
so motion beyond 6 pixels per frame is out of reach). The subnetworks' last layers start at
zero with a bias of sqrt(1/2) at the centre tap, so an untrained network is the linear blend.

Added (``normalise``, on by default): the kernel normalisation of the authors' own revision
(Niklaus, Mai and Wang, "Revisiting Adaptive Convolutions for Video Frame Interpolation", WACV
2021): the sum of the two filtered frames is divided by what the same kernels make of an image
of ones (the sum of their taps), so the kernels' gain no longer has to be learnt exactly. Without
it a trained network returned a still pixel only as exactly as its kernels summed to one (2.6 to
16 dB below blending on almost static clips).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from tweenlab.synthesis.models._layers import UNet, check_pair, pad_to, separable_filter, start_at

__all__ = ["SepConv"]

#: Gains closer to zero than this are not divided by (SepConv++'s threshold).
_SMALLEST_GAIN = 0.01


def _subnet(width: int, kernel: int) -> nn.Sequential:
    last = nn.Conv2d(width, kernel, 3, padding=1)
    start_at(last, bias={kernel // 2: math.sqrt(0.5)})
    return nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True), last)


class SepConv(nn.Module):
    """Four 1D kernels per pixel, two per frame, from four subnetworks on a U-Net (t = 0.5).

    Args:
        width: Channels of the U-Net at full resolution.
        depth: Its downsamplings.
        kernel: Taps of each 1D kernel (odd).
        normalise: Divide by the kernels' total gain (SepConv++'s kernel normalisation).

    Example:
        >>> model = SepConv(width=8, depth=2, kernel=5)
        >>> model(torch.rand(1, 3, 33, 47), torch.rand(1, 3, 33, 47)).shape
        torch.Size([1, 3, 33, 47])
    """

    name = "sepconv"
    times = (0.5,)

    def __init__(
        self, *, width: int = 16, depth: int = 3, kernel: int = 13, normalise: bool = True
    ) -> None:
        super().__init__()
        if kernel % 2 == 0:
            raise ValueError(f"kernel: {kernel} must be odd")
        self.config: dict[str, Any] = {
            "width": width,
            "depth": depth,
            "kernel": kernel,
            "normalise": normalise,
        }
        self.normalise = normalise
        self.multiple = 2**depth
        self.features = UNet(6, width=width, depth=depth)
        self.vertical0, self.horizontal0, self.vertical1, self.horizontal1 = (
            _subnet(width, kernel) for _ in range(4)
        )

    def forward(self, frame0: Tensor, frame1: Tensor) -> Tensor:
        """``(B, 3, H, W)`` twice, in 0..1 -> the middle frame ``(B, 3, H, W)``."""
        check_pair(frame0, frame1)
        pair, crop = pad_to(torch.cat((frame0, frame1), 1), self.multiple)
        features = self.features(pair)
        kernels = [
            (self.vertical0(features), self.horizontal0(features)),
            (self.vertical1(features), self.horizontal1(features)),
        ]
        out = separable_filter(pair[:, :3], *kernels[0])
        out = out + separable_filter(pair[:, 3:], *kernels[1])
        if self.normalise:
            # What the kernels make of an image of ones: the product of each pair's tap sums.
            gain = sum(v.sum(1, keepdim=True) * h.sum(1, keepdim=True) for v, h in kernels)
            assert isinstance(gain, Tensor)
            out = out / torch.where(gain.abs() < _SMALLEST_GAIN, torch.ones_like(gain), gain)
        return crop(out)
