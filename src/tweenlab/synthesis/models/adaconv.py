"""Adaptive Convolution (Niklaus, Mai and Liu, "Video Frame Interpolation via Adaptive
Convolution", CVPR 2017).

The paper's network looks at a 79x79 patch of both frames around each output pixel and predicts
one 2D kernel of 41x82 taps (41x41 on each frame), normalised by a spatial softmax; the output
pixel is the kernel applied to both patches. It estimates motion and re-sampling in one step.

Scaled down here so that it trains on a CPU: the per-patch network is run fully convolutionally
(the paper's own shift-and-stitch trick, as a U-Net) of configurable ``width`` and ``depth``; the
kernel is ``kernel`` x ``2 * kernel`` taps (7 x 14 by default instead of 41 x 82, so motion
beyond ``kernel // 2`` pixels per frame is out of reach); the softmax's logits start biased to
the two centre taps, so an untrained network is the linear blend rather than a box blur.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from tweenlab.synthesis.models._layers import UNet, check_pair, local_filter, pad_to, start_at

__all__ = ["AdaConv"]

_CENTRE_BIAS = 8.0  # logit head start of the centre taps: the untrained model blends


class AdaConv(nn.Module):
    """Per-pixel 2D kernels over both frames, softmax-normalised (frame at t = 0.5).

    Args:
        width: Channels of the U-Net at full resolution.
        depth: Its downsamplings (its receptive field grows with it).
        kernel: Taps per side of each frame's kernel (odd).

    Example:
        >>> model = AdaConv(width=8, depth=2, kernel=5)
        >>> model(torch.rand(1, 3, 33, 47), torch.rand(1, 3, 33, 47)).shape
        torch.Size([1, 3, 33, 47])
    """

    name = "adaconv"
    times = (0.5,)

    def __init__(self, *, width: int = 16, depth: int = 3, kernel: int = 7) -> None:
        super().__init__()
        if kernel % 2 == 0:
            raise ValueError(f"kernel: {kernel} must be odd")
        self.config: dict[str, Any] = {"width": width, "depth": depth, "kernel": kernel}
        self.kernel, self.multiple = kernel, 2**depth
        self.features = UNet(6, width=width, depth=depth)
        self.head = nn.Conv2d(width, 2 * kernel * kernel, 3, padding=1)
        centre = (kernel // 2) * kernel + kernel // 2
        centres = {centre: _CENTRE_BIAS, kernel * kernel + centre: _CENTRE_BIAS}
        start_at(self.head, weight_scale=0.1, bias=centres)

    def forward(self, frame0: Tensor, frame1: Tensor) -> Tensor:
        """``(B, 3, H, W)`` twice, in 0..1 -> the middle frame ``(B, 3, H, W)``."""
        check_pair(frame0, frame1)
        pair, crop = pad_to(torch.cat((frame0, frame1), 1), self.multiple)
        taps = self.kernel * self.kernel
        weights = torch.softmax(self.head(self.features(pair)), dim=1)
        out = local_filter(pair[:, :3], weights[:, :taps], self.kernel)
        out = out + local_filter(pair[:, 3:], weights[:, taps:], self.kernel)
        return crop(out)
