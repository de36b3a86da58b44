"""The Bidirectional Predictive Network (Chen, Qian, Bettadapura and Ling, "Long-Term Video
Interpolation with Bidirectional Predictive Network", VCIP 2017).

A forward encoder reads the frames before the gap, a reverse encoder the frames after it (in
reverse order); their codes are concatenated and one decoder predicts all the frames in between
at once (the paper: 10 frames between two, from 2 frames on each side; trained with a
reconstruction and an adversarial loss).

Scaled down here: each encoder reads ``context`` frames (1 by default, so it works on plain
pairs) through ``depth`` strided convolution blocks of configurable ``width``; the decoder
upsamples with skip connections from both encoders (the paper's decoder has none; they make it
train in minutes instead of days) and predicts ``frames`` frames (3 by default: t = 1/4, 1/2,
3/4) as a residual over the linear blend at each time, so an untrained network blends. No
adversarial loss (no discriminator): L1 plus an image-gradient term.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's convention)
from torch import Tensor, nn

from tweenlab.synthesis.models._layers import check_pair, conv_block, pad_to, start_at

__all__ = ["BidirectionalPredictiveNetwork"]

#: Leaky ReLUs (as in adversarially trained generators): with plain ReLUs the last decoder
#: block died in training (every unit off), leaving the network a fixed linear blend.
_SLOPE = 0.2


class _Encoder(nn.Module):
    def __init__(self, channels_in: int, widths: list[int]) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            conv_block(channels_in if i == 0 else widths[i - 1], widths[i], negative_slope=_SLOPE)
            for i in range(len(widths))
        )

    def forward(self, x: Tensor) -> list[Tensor]:
        codes = []
        for level, block in enumerate(self.blocks):
            x = block(x if level == 0 else F.avg_pool2d(x, 2))
            codes.append(x)
        return codes


class BidirectionalPredictiveNetwork(nn.Module):
    """Forward and reverse encoders, one decoder for several in-between frames.

    Args:
        width: Channels of each encoder at full resolution (doubling per level, up to 8x).
        depth: Downsamplings.
        frames: In-between frames predicted at once, at ``i / (frames + 1)``.
        context: Frames each encoder reads (1: the frames either side of the gap only).

    Example:
        >>> model = BidirectionalPredictiveNetwork(width=8, depth=2, frames=3)
        >>> model(torch.rand(1, 3, 33, 47), torch.rand(1, 3, 33, 47)).shape
        torch.Size([1, 3, 3, 33, 47])
    """

    name = "bipn"

    def __init__(self, *, width: int = 16, depth: int = 3, frames: int = 3, context: int = 1):
        super().__init__()
        self.config: dict[str, Any] = {
            "width": width,
            "depth": depth,
            "frames": frames,
            "context": context,
        }
        self.frames, self.context, self.multiple = frames, context, 2**depth
        self.times = tuple((i + 1) / (frames + 1) for i in range(frames))
        widths = [width * 2 ** min(level, 3) for level in range(depth + 1)]
        self.forward_encoder = _Encoder(3 * context, widths)
        self.reverse_encoder = _Encoder(3 * context, widths)
        self.decoder = nn.ModuleList(
            conv_block(
                2 * widths[i] + (widths[i + 1] if i < depth else 0),
                widths[i],
                negative_slope=_SLOPE,
            )
            for i in range(depth + 1)
        )
        self.head = nn.Conv2d(widths[0], 3 * frames, 3, padding=1)
        start_at(self.head, weight_scale=0.1)

    def forward(self, before: Tensor, after: Tensor) -> Tensor:
        """The last ``context`` frames before the gap ``(B, 3 * context, H, W)`` (oldest first)
        and the first after it (nearest first), in 0..1 -> ``(B, frames, 3, H, W)``."""
        if self.context == 1:
            check_pair(before, after)
        padded_before, crop = pad_to(before, self.multiple)
        padded_after, _ = pad_to(after, self.multiple)
        ahead = self.forward_encoder(padded_before)
        behind = self.reverse_encoder(padded_after)
        x: Tensor | None = None
        for level in reversed(range(len(ahead))):
            parts = [ahead[level], behind[level]]
            if x is not None:
                up = F.interpolate(
                    x, size=ahead[level].shape[-2:], mode="bilinear", align_corners=False
                )
                parts.append(up)
            x = self.decoder[level](torch.cat(parts, 1))
        assert x is not None
        residual = self.head(x).unflatten(1, (self.frames, 3))
        first, last = padded_before[:, -3:], padded_after[:, :3]
        blends = [(1 - t) * first + t * last for t in self.times]
        return crop(torch.stack(blends, 1) + residual)
