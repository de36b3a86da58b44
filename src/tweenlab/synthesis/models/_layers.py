"""Building blocks the five frame-synthesis models share: convolution blocks, a U-Net, padding
to a size multiple, per-pixel local filtering and backward warping. Tensors are ``(B, C, H, W)``
float32; images are in 0..1."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's convention)
from torch import Tensor, nn

__all__ = [
    "UNet",
    "check_pair",
    "conv_block",
    "local_filter",
    "pad_to",
    "separable_filter",
    "start_at",
    "warp",
]


def conv_block(
    channels_in: int, channels_out: int, *, layers: int = 2, negative_slope: float = 0.0
) -> nn.Sequential:
    """``layers`` 3x3 convolutions, each followed by a ReLU (the paper's basic block), or a
    leaky ReLU of ``negative_slope``."""
    modules: list[nn.Module] = []
    for i in range(layers):
        modules += [nn.Conv2d(channels_in if i == 0 else channels_out, channels_out, 3, padding=1)]
        active = nn.LeakyReLU(negative_slope, inplace=True) if negative_slope else nn.ReLU(True)
        modules += [active]
    return nn.Sequential(*modules)


class UNet(nn.Module):
    """Encoder-decoder with skip connections (added, as in SepConv): ``depth`` times average
    pooling, then bilinear upsampling back to the input size; widths double per level up to
    eight times ``width``. Input sides must be multiples of ``2 ** depth``.

    Args:
        channels_in: Input channels.
        width: Channels at full resolution.
        depth: Downsamplings.
    """

    def __init__(self, channels_in: int, *, width: int, depth: int) -> None:
        super().__init__()
        widths = [width * 2 ** min(level, 3) for level in range(depth + 1)]
        self.depth = depth
        self.down = nn.ModuleList(
            conv_block(channels_in if i == 0 else widths[i - 1], widths[i])
            for i in range(depth + 1)
        )
        self.up = nn.ModuleList(conv_block(widths[i + 1], widths[i]) for i in range(depth))

    def forward(self, x: Tensor) -> Tensor:
        """``(B, channels_in, H, W)`` -> ``(B, width, H, W)``."""
        skips = []
        for level, block in enumerate(self.down):
            x = block(x if level == 0 else F.avg_pool2d(x, 2))
            skips.append(x)
        for level in reversed(range(self.depth)):
            x = F.interpolate(x, size=skips[level].shape[-2:], mode="bilinear", align_corners=False)
            x = self.up[level](x) + skips[level]
        return x


def start_at(
    conv: nn.Conv2d, *, weight_scale: float = 0.0, bias: dict[int, float] | None = None
) -> None:
    """Give a prediction layer its starting point: weights scaled by ``weight_scale`` (0: a
    constant output) and biases zero except the channels in ``bias``."""
    assert conv.bias is not None
    with torch.no_grad():
        conv.weight.mul_(weight_scale)
        conv.bias.zero_()
        for channel, value in (bias or {}).items():
            conv.bias[channel] = value


def check_pair(frame0: Tensor, frame1: Tensor) -> None:
    """Both ``(B, 3, H, W)`` and of one shape, else ``ValueError`` (engines check earlier)."""
    if frame0.dim() != 4 or frame0.shape[1] != 3 or frame0.shape != frame1.shape:
        raise ValueError(f"expected two (B, 3, H, W) tensors, got {frame0.shape}, {frame1.shape}")


def pad_to(x: Tensor, multiple: int) -> tuple[Tensor, Callable[[Tensor], Tensor]]:
    """``x`` padded (edges replicated) on the right and bottom to sides that are multiples of
    ``multiple``, and a function that crops a result back to ``x``'s size."""
    height, width = x.shape[-2:]
    bottom, right = -height % multiple, -width % multiple
    if not (bottom or right):
        return x, lambda y: y
    padded = F.pad(x, (0, right, 0, bottom), mode="replicate")
    return padded, lambda y: y[..., :height, :width]


#: Elements of the patch tensor ``(B, C, rows, W, size, size)`` filtered at once: larger inputs
#: are filtered in strips of rows, so memory stays bounded (more on a GPU, whose memory is for
#: this) while each strip is a few large operations instead of one per tap.
_AT_ONCE = {"cpu": 2**25, "cuda": 2**30}


def _in_strips(image: Tensor, size: int, combine: Callable[[Tensor, slice], Tensor]) -> Tensor:
    """``combine(patches, rows)`` over strips of ``image``'s rows, concatenated: ``patches`` is
    every ``size`` x ``size`` neighbourhood (edges replicated) of the strip's pixels,
    ``(B, C, n, W, size, size)`` (a view of the padded strip), ``rows`` the strip's rows."""
    height = image.shape[-2]
    half = size // 2
    padded = F.pad(image, (half, half, half, half), mode="replicate")
    per_row = image.numel() // height * size * size
    step = max(1, _AT_ONCE.get(image.device.type, _AT_ONCE["cpu"]) // per_row)
    strips = []
    for top in range(0, height, step):
        rows = slice(top, min(top + step, height))
        window = padded[..., top : rows.stop + 2 * half, :]
        strips.append(combine(window.unfold(2, size, 1).unfold(3, size, 1), rows))
    return strips[0] if len(strips) == 1 else torch.cat(strips, dim=2)


def _loop_taps(image: Tensor, size: int) -> bool:
    """Whether to filter by a loop over the taps: on the CPU, for inputs too large to filter at
    once (whole frames), where strips of unfolded patches are slower than the loop."""
    at_once = _AT_ONCE["cpu"] // (image.numel() * size * size) >= 1
    return image.device.type == "cpu" and not at_once


def local_filter(image: Tensor, weights: Tensor, size: int) -> Tensor:
    """Per-pixel 2D filtering: ``out(x) = sum_ij weights_ij(x) image(x + (i, j) - size // 2)``.

    ``image`` is ``(B, C, H, W)``; ``weights`` is ``(B, size * size, H, W)``, row-major.
    """
    if _loop_taps(image, size):
        height, width = image.shape[-2:]
        half = size // 2
        padded = F.pad(image, (half, half, half, half), mode="replicate")
        out = torch.zeros_like(image)
        for i in range(size):
            for j in range(size):
                tap = weights[:, i * size + j : i * size + j + 1]
                out = out + tap * padded[..., i : i + height, j : j + width]
        return out
    taps = weights.unflatten(1, (size, size))  # type: ignore[no-untyped-call]
    return _in_strips(
        image,
        size,
        lambda patches, rows: torch.einsum("bchwij,bijhw->bchw", patches, taps[..., rows, :]),
    )


def separable_filter(image: Tensor, vertical: Tensor, horizontal: Tensor) -> Tensor:
    """Per-pixel separable filtering: the 2D kernel at each pixel is the outer product of its
    ``vertical`` and ``horizontal`` 1D kernels (``(B, size, H, W)`` each)."""
    size = vertical.shape[1]
    if _loop_taps(image, size):
        height = image.shape[-2]
        half = size // 2
        padded = F.pad(image, (half, half, half, half), mode="replicate")
        rows = padded.unfold(3, size, 1)  # (B, C, H + 2 half, W, size): a view
        across = horizontal.permute(0, 2, 3, 1)[:, None]
        out = torch.zeros_like(image)
        for i in range(size):
            out = out + vertical[:, i : i + 1] * (rows[:, :, i : i + height] * across).sum(-1)
        return out
    return _in_strips(
        image,
        size,
        lambda patches, rows: torch.einsum(
            "bchwij,bihw,bjhw->bchw", patches, vertical[..., rows, :], horizontal[..., rows, :]
        ),
    )


def warp(image: Tensor, flow: Tensor) -> Tensor:
    """Backward warp, bilinear, borders replicated: ``out(x) = image(x + flow(x))``; ``flow``
    is ``(B, 2, H, W)`` ``(dx, dy)`` in pixels."""
    height, width = image.shape[-2:]
    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=image.dtype, device=image.device),
        torch.arange(width, dtype=image.dtype, device=image.device),
        indexing="ij",
    )
    x = (xs + flow[:, 0]) * (2.0 / max(width - 1, 1)) - 1.0
    y = (ys + flow[:, 1]) * (2.0 / max(height - 1, 1)) - 1.0
    grid = torch.stack((x, y), dim=-1)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=True)
