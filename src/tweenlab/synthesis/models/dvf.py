"""Deep Voxel Flow (Liu, Yeh, Tang, Liu and Agarwala, "Video Frame Synthesis using Deep Voxel
Flow", ICCV 2017).

A convolutional encoder-decoder with skip connections predicts, per pixel of the frame to make,
a voxel flow: a spatial displacement ``d`` and a temporal weight ``w``. The frame is sampled
trilinearly from the space-time volume of the two frames: bilinearly at ``x - d`` in frame 0 and
``x + d`` in frame 1 (linear motion through the pixel), then linearly in time with ``w``. The
paper's multi-scale variant runs the network on the frames at several scales and fuses the
results for large motion.

Scaled down here: the encoder-decoder is a U-Net of configurable ``width`` and ``depth`` (the
paper's is 64..256 channels, three levels), applied with shared weights at ``scales`` scales
(1, 1/2, ...) whose features, upsampled, are fused by one 3x3 convolution into the voxel flow.
The paper used an L1 loss with total-variation terms on the flow; training here uses L1 plus an
image-gradient term. The flow head starts at zero and the weight at 1/2: an untrained network
is the linear blend.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's convention)
from torch import Tensor, nn

from tweenlab.synthesis.models._layers import UNet, check_pair, pad_to, start_at, warp

__all__ = ["DeepVoxelFlow"]


class DeepVoxelFlow(nn.Module):
    """Voxel flow from a multi-scale encoder-decoder, then trilinear sampling (t = 0.5).

    Args:
        width: Channels of the U-Net at full resolution.
        depth: Its downsamplings.
        scales: Scales it runs at (1, 1/2, 1/4, ...), fused at full resolution.

    Example:
        >>> model = DeepVoxelFlow(width=8, depth=2, scales=2)
        >>> model(torch.rand(1, 3, 33, 47), torch.rand(1, 3, 33, 47)).shape
        torch.Size([1, 3, 33, 47])
    """

    name = "dvf"
    times = (0.5,)

    def __init__(self, *, width: int = 16, depth: int = 3, scales: int = 2) -> None:
        super().__init__()
        self.config: dict[str, Any] = {"width": width, "depth": depth, "scales": scales}
        self.scales = scales
        self.multiple = 2 ** (depth + scales - 1)
        self.features = UNet(6, width=width, depth=depth)
        self.head = nn.Conv2d(width * scales, 3, 3, padding=1)
        start_at(self.head)

    def voxel_flow(self, pair: Tensor) -> tuple[Tensor, Tensor]:
        """The displacement ``(B, 2, H, W)`` in pixels and the weight of frame 0 ``(B, 1, H,
        W)`` for the stacked frames ``pair`` (sides multiples of ``multiple``)."""
        size = pair.shape[-2:]
        fused = []
        for scale in range(self.scales):
            small = F.avg_pool2d(pair, 2**scale) if scale else pair
            features = self.features(small)
            if scale:
                features = F.interpolate(features, size=size, mode="bilinear", align_corners=False)
            fused.append(features)
        out = self.head(torch.cat(fused, 1))
        return out[:, :2], torch.sigmoid(out[:, 2:])

    def forward(self, frame0: Tensor, frame1: Tensor) -> Tensor:
        """``(B, 3, H, W)`` twice, in 0..1 -> the middle frame ``(B, 3, H, W)``."""
        check_pair(frame0, frame1)
        pair, crop = pad_to(torch.cat((frame0, frame1), 1), self.multiple)
        flow, weight = self.voxel_flow(pair)
        before, after = warp(pair[:, :3], -flow), warp(pair[:, 3:], flow)
        return crop(weight * before + (1.0 - weight) * after)
