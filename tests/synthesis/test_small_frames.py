"""The ``flow`` engine on frames at the edge of what it can follow (found by an audit): too
small for DIS, and thin strips whose short side the half-size flow would have stretched."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.synthesis.scenes import blend, psnr, shifted, texture
from tweenlab.errors import UsageError
from tweenlab.synthesis import FlowSynthesizer


@pytest.mark.parametrize(
    "size", [pytest.param((2, 2), id="2x2"), pytest.param((10, 10), id="10x10")]
)
def test_frames_too_small_for_the_flow_are_a_usage_error(size: tuple[int, int]) -> None:
    """DIS raised an OpenCV error (an internal error on the CLI) below 12 px on both sides."""
    frame = np.zeros((*size, 3), np.uint8)
    with pytest.raises(UsageError, match=f"frames of {size[1]}x{size[0]} are too small"):
        FlowSynthesizer().interpolate(frame, frame, 0.5)


@pytest.mark.parametrize(
    ("size", "dx", "dy"),
    [
        pytest.param((10, 600), 2.0, 2.0, id="10x600"),
        pytest.param((12, 480), 3.0, 2.0, id="12x480"),
    ],
)
def test_thin_strips_are_followed_on_both_axes(size: tuple[int, int], dx: float, dy: float) -> None:
    """At half size the short side fell under 8 px and was stretched to 8 while the flow was
    scaled back by the long side's ratio: vertical motion came out a third too long (measured:
    35-39 dB before, 50-54 dB now, blending 27-29 dB)."""
    base = texture(size=size, seed=1)
    frame0, frame1 = shifted(base, 0, 0), shifted(base, dx, dy)
    truth = shifted(base, dx / 2, dy / 2)
    made = FlowSynthesizer().interpolate(frame0, frame1, 0.5)
    assert made.shape == frame0.shape
    ours = psnr(truth, made, margin=4)
    assert ours > 45.0, f"{ours:.2f} dB (blend {psnr(truth, blend(frame0, frame1, 0.5), 4):.2f})"


@pytest.mark.parametrize("transpose", [False, True], ids=["12x2000", "2000x12"])
def test_a_thin_strip_with_large_motion_is_made(transpose: bool) -> None:
    """Large motion on a strip 12 px thin: the corners disagree with DIS, and the second,
    seeded DIS one scale coarser met an OpenCV assertion (an internal error on the CLI, found
    by an audit on a 2000x8 pair). Such a strip keeps its first flow."""
    noise = np.random.default_rng(0).random((12, 2100)) * 255
    base = np.dstack([cv2.GaussianBlur(noise.astype(np.uint8), (0, 0), 2)] * 3)
    frame0, frame1 = base[:, :2000].copy(), base[:, 40:2040].copy()
    if transpose:
        frame0, frame1 = frame0.transpose(1, 0, 2).copy(), frame1.transpose(1, 0, 2).copy()
    made = FlowSynthesizer().interpolate(frame0, frame1, 0.5)
    assert made.shape == frame0.shape and made.dtype == np.uint8
