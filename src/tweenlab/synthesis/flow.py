"""The ``flow`` engine: frame interpolation from bidirectional optical flow, no weights.

1. Flow both ways (OpenCV DIS, medium preset, at its finest scale) on grey frames scaled to half
   size, or so that the longer side is at most ``flow_side`` pixels (small frames, whose half
   size would be under ``min_side`` pixels, at full size). Where corners tracked by pyramidal
   Lucas-Kanade disagree with it (large motion, which DIS's coarse-to-fine search loses), a
   second DIS seeded with their motion is kept per pixel where it matches better
   (``_seeds``). Each component is then 5x5 median-filtered (DIS leaves isolated wrong
   vectors). Or flows handed in from a video's flow cache.
2. Each pixel's forward-backward consistency (soft occlusion test) weights it.
3. Both flows are forward-splatted to time ``t`` (linear motion: a pixel of frame 0 at x is at
   ``x + t F01(x)``, one of frame 1 at ``x + (1 - t) F10(x)``), giving one velocity field at t
   and, per frame, how much of it reaches each pixel (its visibility at t). Holes nothing reaches
   take the flows' mean velocity at that pixel.
4. Both frames are warped backwards to t (``cv2.remap``) and blended with weights
   ``(1 - t) v0`` and ``t v1``, so a region visible in one frame only comes from that frame.
   Optionally (``align_grey`` > 0; off by default), before that, where the two grey frames
   warped to t still disagree (their 5x5 mean gap near ``align_grey`` levels or more) and both
   frames reach the pixel, the flow between the two warped frames (DIS, ultrafast preset) is
   taken as their misregistration and each side is moved half of it towards the other: an
   edge that one flow puts a pixel or two off lands between the two guesses instead of twice,
   faintly (a ghost). On the evaluation triplets it moved the means by +0.02 dB and +0.0004
   SSIM for 12% more time (README, "Frame synthesis"), so it is not the default.
5. The blend is made as sharp as the flow is sure of, and no sharper: bicubic warping where the
   two warped frames agree (bilinear sampling alone blurs fine texture by up to half a pixel),
   bilinear where they do not (bicubic rings where the flow is wrong), and a slight Gaussian
   blur where the motion is fast, in proportion to its speed (there the time-``t`` position is
   least certain: motion is seldom exactly linear over a large step, and a softer frame is the
   better estimate of one whose detail may be anywhere within a pixel or two).

Splatting to t, rather than the Super SloMo approximation of the flows at t (Jiang et al.
2018), keeps moving edges where they are at t; it gains most where motion is large (k = 2 in
``benchmarks/synthesis.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from tweenlab.errors import UsageError
from tweenlab.plugins import registry
from tweenlab.synthesis._seeds import POINTS, Seeds
from tweenlab.synthesis._warp import (
    Array,
    consistency,
    cv2,
    grid,
    resize,
    splat,
    squared,
    warp,
    warps,
)
from tweenlab.synthesis.base import Image, check_frame, check_pair, check_times, single_time

__all__ = ["FlowSynthesizer", "PairFlow", "extrapolate"]

# the smallest working size: DIS needs 12 px on one side; under 8 on the other a side would be
# stretched, and the flow's one scale would no longer hold for both axes
_MIN_SIDE, _MIN_LONGER = 8, 12
_HOLE = 0.05  # splatted weight below which a pixel at t counts as reached by nothing


@dataclass(frozen=True)
class PairFlow:
    """Flow between two frames at the engine's working size.

    Attributes:
        forward: Frame 0 -> frame 1, ``(h, w, 2)`` float32, in working pixels.
        backward: Frame 1 -> frame 0, same shape.
        scale: Working pixels per frame pixel (1.0 when the flow is at full size).
    """

    forward: Array
    backward: Array
    scale: float


@dataclass(frozen=True)
class _AtTime:
    """What one time needs from the flows, at working size: the flows from t to each frame
    and how much each frame contributes to each pixel."""

    to0: Array
    to1: Array
    weight0: Array
    weight1: Array


class FlowSynthesizer:
    """Optical-flow frame interpolation (see the module docstring for the method).

    Args:
        flow_side: Flow is computed on frames scaled to half size, or smaller so that their
            longer side is at most this many pixels, then scaled up; larger is slower and was
            no better on the evaluation clips (DIS is coarse-to-fine).
        min_side: Frames whose half size would have a longer side under this are worked on at
            full size: halving a 176x144 or 240x180 frame leaves too few pixels for DIS's
            patches (on the evaluation triplets scaled to those sizes, k=1 median 36.25 dB at
            half size against 36.98 at full, and 36.64 against 36.99; no difference from
            320x240 up).
        estimator: ``None`` for DIS at the working size's full resolution, or a name in the
            ``flow_estimators`` registry (grey frames in, ``(H, W, 2)`` flow out).
        flow_median: Side of the median filter applied to each computed flow component: 3 or 5
            (OpenCV's limit for float images), or 0 for none.
        cubic: Bicubic warping everywhere (rather than only where the two warped frames
            agree): a little sharper where the flow is right, ringing where it is wrong.
        agree_grey: Mean grey-level gap between the two frames warped to t (5x5 mean) at which
            the bicubic share falls to ``1/e``; 0 for bilinear warping only (unless ``cubic``).
        blur_speed: Motion (frame pixels between the two frames) at and above which the output
            is fully blurred by ``blur_sigma``; slower pixels are blurred in proportion; 0 for
            no blur.
        blur_sigma: The Gaussian's standard deviation in pixels at ``blur_speed``.
        align_grey: Mean grey-level gap between the two frames warped to t (5x5 mean) at which
            their misregistration is corrected by ``1 - 1/e`` of it (step 4 of the module
            docstring; 20 was the best of 6 to 32 tried); 0, the default, for no correction.
        variational: DIS's variational refinement iterations (its medium preset's 5; 2 is 40 ms
            faster a 720p frame but lowered the evaluation triplets' median SSIM at k=1).
        seed_points: Corners tracked to seed a second flow candidate for large motion (step 1
            of the module docstring); 0 for none.

    Example:
        >>> engine = FlowSynthesizer()
        >>> middle = engine.interpolate(frame0, frame1, 0.5)  # doctest: +SKIP
    """

    name = "flow"

    def __init__(
        self,
        *,
        flow_side: int = 640,
        min_side: int = 160,
        estimator: str | None = None,
        flow_median: int = 5,
        cubic: bool = False,
        agree_grey: float = 4.0,
        blur_speed: float = 40.0,
        blur_sigma: float = 1.0,
        align_grey: float = 0.0,
        variational: int = 5,
        seed_points: int = POINTS,
    ) -> None:
        if flow_side < 16:
            raise UsageError(f"flow_side: {flow_side} is too small (16 or more)")
        if min_side < 8:
            raise UsageError(f"min_side: {min_side} is too small (8 or more)")
        self.min_side = min_side
        if flow_median not in (0, 3, 5):
            raise UsageError(f"flow_median: {flow_median} is not 0, 3 or 5")
        self.flow_median = flow_median
        if min(agree_grey, blur_speed, blur_sigma, align_grey) < 0:
            raise UsageError("agree_grey, blur_speed, blur_sigma and align_grey must be 0 or more")
        self.flow_side, self.cubic = flow_side, cubic
        self.agree_grey, self.blur_speed, self.blur_sigma = agree_grey, blur_speed, blur_sigma
        self.align_grey = align_grey
        if variational < 0 or seed_points < 0:
            raise UsageError("variational and seed_points must be 0 or more")
        self.variational = variational
        self._seeds = Seeds(seed_points) if seed_points else None
        self._estimator: Any = registry("flow_estimators").get(estimator) if estimator else None
        self._dis: Any = None
        self._align_dis: Any = None

    @overload
    def interpolate(self, frame0: Image, frame1: Image, t: float) -> Image: ...
    @overload
    def interpolate(self, frame0: Image, frame1: Image, t: Sequence[float]) -> list[Image]: ...
    def interpolate(
        self, frame0: Image, frame1: Image, t: float | Sequence[float]
    ) -> Image | list[Image]:
        """Frames at times ``t`` between ``frame0`` and ``frame1``.

        Raises:
            UsageError: Frames of different sizes, not ``(H, W, 3)`` uint8, or a time outside
                (0, 1).
        """
        first, second = check_pair(frame0, frame1)
        times = check_times(t)
        frames = self.interpolate_with(first, second, self.flows(first, second), times)
        return frames[0] if single_time(t) else frames

    def flows(self, frame0: Image, frame1: Image) -> PairFlow:
        """Forward and backward flow at the working size."""
        size = self._working_size(frame0)
        width = frame0.shape[1]
        grey0, grey1 = (self._grey(frame, size) for frame in (frame0, frame1))
        forward, backward = self._flow(grey0, grey1), self._flow(grey1, grey0)
        if self._seeds is not None:
            forward, backward = self._seeds.improve(grey0, grey1, forward, backward)
        if self.flow_median:
            forward, backward = (_median(f, self.flow_median) for f in (forward, backward))
        return PairFlow(forward, backward, size[0] / width)

    def fit(self, flow: PairFlow, frame: Image) -> PairFlow:
        """``flow`` (say a flow cache's, at the cache's size) brought to the working size for
        frames like ``frame``."""
        size = self._working_size(frame)
        width = frame.shape[1]
        ratio = size[0] / width / flow.scale
        forward, backward = (
            np.asarray(resize(np.asarray(f, np.float32), size, area=ratio < 1)) * ratio
            for f in (flow.forward, flow.backward)
        )
        return PairFlow(forward.astype(np.float32), backward.astype(np.float32), size[0] / width)

    def interpolate_with(
        self, frame0: Image, frame1: Image, flow: PairFlow, times: Sequence[float]
    ) -> list[Image]:
        """Frames at ``times`` from precomputed ``flow`` (unchecked: the caller checked)."""
        trust0 = consistency(flow.forward, flow.backward)
        trust1 = consistency(flow.backward, flow.forward)
        ats = [_at_time(flow, trust0, trust1, t) for t in times]
        if self.align_grey > 0:
            size = flow.forward.shape[1], flow.forward.shape[0]
            greys = self._grey(frame0, size), self._grey(frame1, size)
            ats = [self._aligned(*greys, at) for at in ats]
        return [self._render(frame0, frame1, flow, at, t) for at, t in zip(ats, times, strict=True)]

    def _aligned(
        self, grey0: npt.NDArray[np.uint8], grey1: npt.NDArray[np.uint8], at: _AtTime
    ) -> _AtTime:
        """``at`` with each frame's flow to t moved half the way to the other's where the two
        warped frames disagree (step 4 of the module docstring)."""
        opencv = cv2()
        warped0, warped1 = warp(grey0, at.to0), warp(grey1, at.to1)
        if self._align_dis is None:
            self._align_dis = opencv.DISOpticalFlow_create(opencv.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
            self._align_dis.setFinestScale(0)
        apart = _median(np.asarray(self._align_dis.calc(warped0, warped1, None), np.float32), 5)
        gap = opencv.blur(opencv.absdiff(warped0, warped1).astype(np.float32), (5, 5))
        total = at.weight0 + at.weight1
        share0 = np.where(total > 1e-3, at.weight0 / np.maximum(total, 1e-3), 0.5)
        both = np.minimum(4 * share0 * (1 - share0), 1.0)  # 0 where one frame alone is seen
        amount = 0.5 * both * (1 - np.exp(-np.square(gap / self.align_grey)))
        half = (apart * amount[..., None]).astype(np.float32)
        return _AtTime(at.to0 - half, at.to1 + half, at.weight0, at.weight1)

    def extrapolate(self, frames: Sequence[Image], n: int) -> list[Image]:
        """``n`` frames after the last of ``frames``, continuing the motion between the last two
        at constant velocity (the last frame forward-splatted along it)."""
        return list(self.extrapolated(frames, n))

    def extrapolated(self, frames: Sequence[Image], n: int) -> Iterator[Image]:
        """``extrapolate``'s frames one at a time (the input is checked and the flow computed
        before the first is asked for), so a long run holds one frame at a time."""
        if len(frames) < 2:
            raise UsageError(f"extrapolate needs at least 2 frames, got {len(frames)}")
        if n < 1:
            raise UsageError(f"extrapolate: n must be 1 or more, got {n}")
        previous, last = check_pair(frames[-2], frames[-1])
        flow = self.flows(previous, last)
        return (self._beyond(last, flow, step) for step in range(1, n + 1))

    def _beyond(self, last: Image, flow: PairFlow, step: int) -> Image:
        """Frame ``step`` frames after ``last``: each pixel of it moves on by ``step`` times its
        velocity (minus the backward flow); pixels nothing reaches keep their own velocity."""
        velocity = -flow.backward
        trust = consistency(flow.backward, flow.forward)
        xs, ys = grid(*velocity.shape[:2])
        moved, weight = splat(
            velocity, trust + 1e-3, xs + step * velocity[..., 0], ys + step * velocity[..., 1]
        )
        at = np.where(
            (weight < _HOLE)[..., None], velocity, moved / np.maximum(weight, 1e-6)[..., None]
        )
        height, width = last.shape[:2]
        back = _to_frame(-step * at.astype(np.float32), flow.scale, (width, height))
        return np.asarray(warp(last, back, cubic=self.cubic), dtype=np.uint8)

    def _render(self, frame0: Image, frame1: Image, flow: PairFlow, at: _AtTime, t: float) -> Image:
        opencv = cv2()
        height, width = frame0.shape[:2]
        size = (width, height)
        to0, to1 = (_to_frame(f, flow.scale, size) for f in (at.to0, at.to1))
        weight0, weight1 = (np.asarray(resize(w, size)) for w in (at.weight0, at.weight1))
        total = weight0 + weight1
        safe = total > 1e-3
        share0 = np.where(safe, weight0 / np.where(safe, total, 1.0), 1.0 - t).astype(np.float32)
        sharpen = self.agree_grey > 0 and not self.cubic
        linear = not self.cubic
        warped = [
            warps(frame, to, linear=linear, cubic=self.cubic or sharpen)
            for frame, to in ((frame0, to0), (frame1, to1))
        ]
        if sharpen:
            sure = _agreement(warped[0][0], warped[1][0], self.agree_grey)
            ends = [_mix(sharp, soft, sure) for soft, sharp in warped]
        else:
            ends = [one[0].astype(np.float32) for one in warped]
        out = _mix(ends[0], ends[1], share0)
        if self.blur_speed > 0 and self.blur_sigma > 0:
            speed = np.sqrt(squared(at.to1 - at.to0)) / (flow.scale * self.blur_speed)
            unsure = np.minimum(np.asarray(resize(speed, size)), 1.0)
            out = _mix(opencv.GaussianBlur(out, (0, 0), self.blur_sigma), out, unsure)
        image: Image = np.asarray(opencv.convertScaleAbs(out), dtype=np.uint8)
        return image

    def _working_size(self, frame: Image) -> tuple[int, int]:
        """Half size at most (DIS's medium preset stops at half size too; finer flow was no
        better on the evaluation clips), with the longer side at most ``flow_side``; full size
        where half would put it under ``min_side``."""
        height, width = frame.shape[:2]
        longer = max(height, width)
        scale = min(0.5, self.flow_side / longer)
        if scale * longer < self.min_side or round(min(height, width) * scale) < _MIN_SIDE:
            scale = 1.0  # at full size rather than in between: 2/3 size cost SSIM at k=2
        size = round(width * scale), round(height * scale)
        if min(size) < _MIN_SIDE or max(size) < _MIN_LONGER:  # DIS refuses, or one axis stretched
            raise UsageError(
                f"frames of {width}x{height} are too small for the flow engine ({_MIN_SIDE} px "
                f"or more on each side at {size[0]}x{size[1]}, {_MIN_LONGER} on the longer)"
            )
        return size

    def _grey(self, frame: Image, size: tuple[int, int]) -> npt.NDArray[np.uint8]:
        opencv = cv2()
        grey = opencv.cvtColor(check_frame(frame), opencv.COLOR_RGB2GRAY)
        return np.asarray(resize(grey, size, area=True), dtype=np.uint8)

    def _flow(self, grey0: npt.NDArray[np.uint8], grey1: npt.NDArray[np.uint8]) -> Array:
        if self._estimator is not None:
            return np.asarray(self._estimator(grey0, grey1), dtype=np.float32)
        if self._dis is None:
            opencv = cv2()
            self._dis = opencv.DISOpticalFlow_create(opencv.DISOPTICAL_FLOW_PRESET_MEDIUM)
            self._dis.setFinestScale(0)  # the working size is already reduced
            self._dis.setVariationalRefinementIterations(self.variational)
        return np.asarray(self._dis.calc(grey0, grey1, None), dtype=np.float32)


def _at_time(flow: PairFlow, trust0: Array, trust1: Array, t: float) -> _AtTime:
    """Splat both flows to time ``t``: one velocity (frame 0 -> frame 1 motion) per pixel at t,
    and how much of frame 0 and of frame 1 lands on it."""
    forward, backward = flow.forward, flow.backward
    xs, ys = grid(*forward.shape[:2])
    from0, mass0 = splat(forward, trust0 + 1e-3, xs + t * forward[..., 0], ys + t * forward[..., 1])
    from1, mass1 = splat(
        -backward, trust1 + 1e-3, xs + (1 - t) * backward[..., 0], ys + (1 - t) * backward[..., 1]
    )
    mass = mass0 + mass1
    hole = mass < _HOLE
    mean = 0.5 * (forward - backward)
    velocity = np.where(hole[..., None], mean, (from0 + from1) / np.maximum(mass, 1e-6)[..., None])
    weight0 = np.where(hole, 1.0 - t, (1.0 - t) * np.minimum(mass0, 1.0))
    weight1 = np.where(hole, t, t * np.minimum(mass1, 1.0))
    velocity = velocity.astype(np.float32)
    return _AtTime(
        (-t * velocity).astype(np.float32),
        ((1 - t) * velocity).astype(np.float32),
        weight0.astype(np.float32),
        weight1.astype(np.float32),
    )


def _median(flow: Array, side: int) -> Array:
    """Each component of ``flow`` median-filtered over ``side`` x ``side`` pixels."""
    opencv = cv2()
    parts = [opencv.medianBlur(np.ascontiguousarray(flow[..., i]), side) for i in (0, 1)]
    filtered: Array = np.dstack(parts)
    return filtered


def _agreement(warped0: Image, warped1: Image, grey: float) -> Array:
    """Per pixel: how closely the two frames warped to t agree, in (0, 1]: ``exp(-(g / grey)²)``
    with ``g`` the grey level of their absolute difference, averaged over 5x5 pixels (one
    pixel's difference is noise; a patch's is misregistration)."""
    opencv = cv2()
    gap = opencv.cvtColor(opencv.absdiff(warped0, warped1), opencv.COLOR_RGB2GRAY)
    gap = opencv.blur(gap.astype(np.float32), (5, 5)) / grey
    sure: Array = np.exp(-np.square(gap, out=gap), out=gap)
    return sure


def _mix(first: npt.NDArray[Any], second: npt.NDArray[Any], share: Array) -> Array:
    """``share * first + (1 - share) * second`` per pixel, in float32 (``share`` is (H, W))."""
    opencv = cv2()
    one, two = (np.asarray(x, dtype=np.float32) for x in (first, second))
    mixed: Array = opencv.blendLinear(one, two, share, 1.0 - share)
    return mixed


def _to_frame(flow: Array, scale: float, size: tuple[int, int]) -> Array:
    """A working-size flow as a full-size flow in frame pixels."""
    if scale == 1.0 and (flow.shape[1], flow.shape[0]) == size:
        return flow
    return (np.asarray(resize(flow, size)) / scale).astype(np.float32)


def extrapolate(
    frames: Sequence[Image], n: int, *, engine: FlowSynthesizer | None = None
) -> list[Image]:
    """``n`` frames after the last of ``frames`` (see ``FlowSynthesizer.extrapolate``).

    Example:
        >>> after = extrapolate([frame8, frame9], 2)  # frames 10 and 11  # doctest: +SKIP
    """
    return (engine or FlowSynthesizer()).extrapolate(frames, n)
