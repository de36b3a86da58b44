"""The demo's own sample clip, rendered at run time with numpy and PyAV (no binary is committed).

This module owns tweenlab's synthetic footage and its ground truth: two shots joined by one hard
cut, each a procedural texture (noise, stripes, blobs) seen through a camera panning on a slow
curve, with three or four saturated, textured shapes moving on Lissajous paths in world
coordinates, turning and scaling between 0.6x and 1.6x. ``SampleClip`` records the cut frame and
every object's box in every frame of its shot, to score shot detection and tracking against.
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from tweenlab.errors import MediaWriteError, UsageError
from tweenlab.media._encode import H264, add_h264_stream

__all__ = ["SampleClip", "SampleObject", "render_sample_clip"]

_F32 = npt.NDArray[np.float32]
_F64 = npt.NDArray[np.float64]
_RGB = tuple[float, float, float]
_PAIR = tuple[float, float]
_TAU = 2.0 * math.pi


@dataclass(frozen=True, eq=False)
class SampleObject:
    """One moving object of the sample clip, with its box in each frame of its shot.

    Attributes:
        name: Colour and shape, e.g. ``"red-ellipse"``.
        label: The shape class: ``"ellipse"``, ``"rectangle"`` or ``"triangle"``.
        first_frame: The first frame of the object's shot.
        last_frame: The last frame of the object's shot (inclusive).
        boxes: Read-only float array of shape ``(last_frame - first_frame + 1, 4)``: ``x, y, w, h``
            in pixels of the visible frame, the axis-aligned box of the whole drawn shape (also
            where another object covers part of it), clipped to the frame.
    """

    name: str
    label: str
    first_frame: int
    last_frame: int
    boxes: _F64


@dataclass(frozen=True)
class SampleClip:
    """The rendered sample clip and its ground truth.

    Attributes:
        path: The MP4 file.
        frame_count: Number of frames; frame ``i`` has pts ``i`` in time base ``1 / fps``.
        fps: Frames per second.
        width: Frame width in pixels.
        height: Frame height in pixels.
        cut_frame: The first frame of the second shot.
        objects: The objects of the first shot, then those of the second.
    """

    path: Path
    frame_count: int
    fps: Fraction
    width: int
    height: int
    cut_frame: int
    objects: tuple[SampleObject, ...]

    def to_json(self) -> dict[str, Any]:
        """Return the ground truth as JSON-ready values (``file`` is the clip's name only)."""
        keys = ("name", "label", "first_frame", "last_frame")
        objects = [{key: getattr(obj, key) for key in keys} for obj in self.objects]
        for obj, entry in zip(self.objects, objects, strict=True):
            entry["boxes"] = np.round(obj.boxes, 2).tolist()
        return {
            "file": self.path.name,
            "frame_count": self.frame_count,
            "fps": f"{self.fps.numerator}/{self.fps.denominator}",
            "width": self.width,
            "height": self.height,
            "cut_frame": self.cut_frame,
            "objects": objects,
        }


@dataclass(frozen=True)
class _Shape:
    """An object's look and motion: lengths in frame fractions (sizes: of the height), Hz."""

    name: str
    label: str
    color: _RGB
    half: _PAIR
    offset: _PAIR
    amp: _PAIR
    freq: _PAIR
    phase: _PAIR
    scale_freq: float
    scale_phase: float
    spin: float


@dataclass(frozen=True)
class _Shot:
    """A shot's background palette and pattern, camera path and objects."""

    palette: tuple[_RGB, _RGB, _RGB]
    stripe_angle: float
    stripe_period: float
    checker: bool
    cam_amp: _PAIR
    cam_freq: _PAIR
    cam_phase: _PAIR
    shapes: tuple[_Shape, ...]


_SHOTS = (
    _Shot(  # meadow: warm greens, diagonal stripes, a slow figure-of-eight pan
        ((0.30, 0.38, 0.20), (0.66, 0.68, 0.46), (0.86, 0.78, 0.56)), 0.5, 0.09, False,
        (0.09, 0.07), (0.06, 0.11), (0.0, 0.6),
        (
            _Shape("red-ellipse", "ellipse", (0.92, 0.10, 0.10), (0.11, 0.07), (-0.24, -0.16),
                   (0.10, 0.07), (0.17, 0.23), (0.0, 1.0), 0.21, 0.0, 0.3),
            _Shape("blue-rectangle", "rectangle", (0.10, 0.28, 0.95), (0.09, 0.06), (0.24, 0.17),
                   (0.09, 0.07), (0.13, 0.19), (2.0, 0.3), 0.17, 2.5, 0.25),
            _Shape("yellow-triangle", "triangle", (0.98, 0.86, 0.08), (0.08, 0.08), (-0.17, 0.21),
                   (0.10, 0.05), (0.11, 0.27), (4.0, 2.0), 0.25, 4.2, -0.4),
            _Shape("magenta-ellipse", "ellipse", (0.90, 0.15, 0.85), (0.06, 0.09), (0.21, -0.17),
                   (0.10, 0.06), (0.19, 0.15), (1.0, 3.5), 0.23, 1.3, -0.2),
        ),
    ),
    _Shot(  # dusk: dark blues, a grid of soft spots, a circular pan
        ((0.08, 0.10, 0.24), (0.28, 0.34, 0.56), (0.52, 0.42, 0.70)), -0.9, 0.16, True,
        (0.10, 0.07), (0.08, 0.08), (0.5 * math.pi, math.pi),
        (
            _Shape("orange-rectangle", "rectangle", (1.0, 0.5, 0.05), (0.10, 0.07), (-0.25, -0.05),
                   (0.09, 0.12), (0.15, 0.21), (0.5, 2.2), 0.19, 3.0, -0.3),
            _Shape("cyan-ellipse", "ellipse", (0.10, 0.90, 0.90), (0.08, 0.08), (0.25, -0.12),
                   (0.09, 0.08), (0.12, 0.17), (3.1, 0.4), 0.24, 0.7, 0.0),
            _Shape("green-triangle", "triangle", (0.20, 0.92, 0.20), (0.09, 0.08), (0.04, 0.18),
                   (0.11, 0.07), (0.09, 0.25), (1.7, 5.0), 0.16, 5.5, 0.45),
        ),
    ),
)  # fmt: skip


def render_sample_clip(
    path: Path,
    *,
    width: int = 640,
    height: int = 360,
    fps: Fraction = Fraction(25),
    seconds: float = 8.0,
    cut_at: float = 0.5,
    seed: int = 0,
) -> SampleClip:
    """Render the two-shot sample clip to ``path`` (H.264 MP4) and return its ground truth.

    The file is written under a temporary name in the same folder and renamed onto ``path`` at the
    end, so ``path`` never holds a partial clip. ``seed`` drives the background textures; the
    motion is the same for every seed.

    Args:
        path: Where the MP4 goes; an existing file is replaced.
        width: Frame width in pixels (even).
        height: Frame height in pixels (even).
        fps: Frame rate.
        seconds: Duration; the clip has ``round(seconds * fps)`` frames.
        cut_at: Where the hard cut falls, as a fraction of the duration (0 < cut_at < 1).
        seed: Seed of the background textures.

    Returns:
        The clip's path, size, timing, cut frame and per-frame object boxes.

    Raises:
        UsageError: A size, rate, duration or cut position that cannot make a two-shot clip.
        MediaWriteError: The file could not be written (nothing is left behind).

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     clip = render_sample_clip(Path(folder) / "a.mp4", width=320, height=180, seconds=2)
        >>> clip.frame_count, clip.cut_frame, clip.objects[0].name, clip.to_json()["fps"]
        (50, 25, 'red-ellipse', '25/1')
    """
    fps = Fraction(fps)
    frame_count, cut_frame = _check_arguments(width, height, fps, seconds, cut_at)
    rng = np.random.default_rng(seed)
    spans = ((0, cut_frame - 1), (cut_frame, frame_count - 1))
    scenes = [
        _Scene(shot, span, width, height, rng) for shot, span in zip(_SHOTS, spans, strict=True)
    ]
    frames = (scenes[i >= cut_frame].render(i, fps) for i in range(frame_count))
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        _encode(tmp, frames, width, height, fps)
        os.replace(tmp, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if isinstance(error, av.FFmpegError | OSError):
            raise MediaWriteError(path, f"cannot write the sample clip: {error}") from error
        raise
    objects = tuple(obj for scene in scenes for obj in scene.objects())
    return SampleClip(path, frame_count, fps, width, height, cut_frame, objects)


def _check_arguments(
    width: int, height: int, fps: Fraction, seconds: float, cut_at: float
) -> tuple[int, int]:
    """Return ``(frame_count, cut_frame)``, or raise ``UsageError`` for unusable arguments."""
    if width < 16 or height < 16 or width % 2 or height % 2:
        raise UsageError(f"sample clip size {width}x{height}: need even sides of at least 16")
    if fps <= 0 or not 0 < seconds < math.inf or not 0 < cut_at < 1:
        raise UsageError(f"sample clip: bad fps {fps}, seconds {seconds} or cut_at {cut_at}")
    frame_count = round(Fraction(seconds) * fps)
    cut_frame = round(cut_at * frame_count)
    if not 1 <= cut_frame < frame_count:
        raise UsageError(f"sample clip: {frame_count} frames cut at {cut_at} leave a shot empty")
    return frame_count, cut_frame


class _Scene:
    """One shot being rendered: its texture, camera and the boxes recorded so far."""

    def __init__(
        self, shot: _Shot, span: tuple[int, int], width: int, height: int, rng: np.random.Generator
    ) -> None:
        self.shot, self.span, self.width, self.height = shot, span, width, height
        self.margin = (math.ceil(shot.cam_amp[0] * width) + 1,
                       math.ceil(shot.cam_amp[1] * height) + 1)  # fmt: skip
        size = (height + 2 * self.margin[1] + 1, width + 2 * self.margin[0] + 1)
        self.texture = _background(shot, rng, size, height)
        self.boxes = np.zeros((len(shot.shapes), span[1] - span[0] + 1, 4))
        self.yy, self.xx = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5

    def render(self, index: int, fps: Fraction) -> npt.NDArray[np.uint8]:
        """Draw frame ``index`` of the clip, record the boxes, return RGB bytes."""
        t = float((index - self.span[0]) / fps)
        w, h = self.width, self.height
        pan = _wave(self.shot.cam_amp, self.shot.cam_freq, self.shot.cam_phase, t)
        pan = (pan[0] * w, pan[1] * h)
        frame = _crop(self.texture, self.margin[0] + pan[0], self.margin[1] + pan[1], h, w)
        for k, shape in enumerate(self.shot.shapes):
            dx, dy = _wave(shape.amp, shape.freq, shape.phase, t)
            cx = w * (0.5 + shape.offset[0] + dx) - pan[0]
            cy = h * (0.5 + shape.offset[1] + dy) - pan[1]
            scale = 1.1 + 0.5 * math.sin(_TAU * shape.scale_freq * t + shape.scale_phase)
            box = self._draw(frame, shape, (cx, cy), scale, shape.spin * t)
            self.boxes[k, index - self.span[0]] = box
        np.clip(frame * 255.0 + 0.5, 0.0, 255.0, out=frame)
        return frame.astype(np.uint8)

    def _draw(
        self, frame: _F32, shape: _Shape, centre: _PAIR, scale: float, angle: float
    ) -> tuple[float, float, float, float]:
        """Blend one anti-aliased, textured shape into ``frame``; return its clipped box."""
        a, b = (shape.half[0] * self.height * scale, shape.half[1] * self.height * scale)
        cos, sin = math.cos(angle), math.sin(angle)
        verts = _vertices(shape.label, a, b)
        if verts is None:
            ex, ey = math.hypot(a * cos, b * sin), math.hypot(a * sin, b * cos)
            lo, hi = (centre[0] - ex, centre[1] - ey), (centre[0] + ex, centre[1] + ey)
        else:
            xs = [centre[0] + u * cos - v * sin for u, v in verts]
            ys = [centre[1] + u * sin + v * cos for u, v in verts]
            lo, hi = (min(xs), min(ys)), (max(xs), max(ys))
        x0, y0 = min(max(lo[0], 0.0), self.width), min(max(lo[1], 0.0), self.height)
        x1, y1 = min(max(hi[0], 0.0), self.width), min(max(hi[1], 0.0), self.height)
        cols = slice(max(int(x0) - 1, 0), min(math.ceil(x1) + 1, self.width))
        rows = slice(max(int(y0) - 1, 0), min(math.ceil(y1) + 1, self.height))
        dx, dy = self.xx[rows, cols] - centre[0], self.yy[rows, cols] - centre[1]
        u, v = dx * cos + dy * sin, dy * cos - dx * sin
        dist = _ellipse_distance(u, v, a, b) if verts is None else _polygon_distance(u, v, verts)
        alpha = np.clip(0.5 - dist, 0.0, 1.0)[..., None]
        period = 0.06 * self.height * scale
        shade = 0.8 + 0.14 * np.sin(_TAU * u / period) * np.cos(_TAU * v / period)
        shade += 0.06 * np.sin(_TAU * (u + v) / (0.37 * period))
        colour = shade[..., None] * np.asarray(shape.color, dtype=np.float32)
        region = frame[rows, cols]
        region += (colour - region) * alpha
        return (x0, y0, x1 - x0, y1 - y0)

    def objects(self) -> list[SampleObject]:
        """Return the ground truth of this shot's objects."""
        out = []
        for shape, boxes in zip(self.shot.shapes, self.boxes, strict=True):
            boxes.setflags(write=False)
            out.append(SampleObject(shape.name, shape.label, *self.span, boxes))
        return out


def _wave(amp: _PAIR, freq: _PAIR, phase: _PAIR, t: float) -> _PAIR:
    """Return the point at time ``t`` of a Lissajous curve (per-axis sinusoids)."""
    x, y = (a * math.sin(_TAU * f * t + p) for a, f, p in zip(amp, freq, phase, strict=True))
    return x, y


def _vertices(label: str, a: float, b: float) -> list[_PAIR] | None:
    """Return a polygon's vertices in local coordinates, or ``None`` for an ellipse."""
    if label == "rectangle":
        return [(-a, -b), (a, -b), (a, b), (-a, b)]
    if label == "triangle":
        return [(0.0, -b), (a, b), (-a, b)]
    return None


def _ellipse_distance(u: _F32, v: _F32, a: float, b: float) -> _F32:
    """Approximate signed distance in pixels to an ellipse with half-axes ``a`` and ``b``."""
    k = np.sqrt((u / a) ** 2 + (v / b) ** 2)
    grad = np.sqrt((u / (a * a)) ** 2 + (v / (b * b)) ** 2) / np.maximum(k, 1e-6)
    return ((k - 1.0) / np.maximum(grad, 1e-6)).astype(np.float32, copy=False)


def _polygon_distance(u: _F32, v: _F32, verts: list[_PAIR]) -> _F32:
    """Signed distance in pixels to a convex polygon (exact inside, close enough outside)."""
    cu, cv = sum(p[0] for p in verts) / len(verts), sum(p[1] for p in verts) / len(verts)
    dist = np.full(u.shape, -np.inf, dtype=np.float32)
    for (pu, pv), (qu, qv) in zip(verts, verts[1:] + verts[:1], strict=True):
        length = math.hypot(qu - pu, qv - pv)
        nu, nv = (qv - pv) / length, (pu - qu) / length
        if nu * (cu - pu) + nv * (cv - pv) > 0:
            nu, nv = -nu, -nv
        np.maximum(dist, nu * (u - pu) + nv * (v - pv), out=dist)
    return dist


def _crop(texture: _F32, x: float, y: float, height: int, width: int) -> _F32:
    """Return the ``height x width`` window of ``texture`` at sub-pixel ``(x, y)`` (bilinear)."""
    ix, iy = math.floor(x), math.floor(y)
    fx, fy = np.float32(x - ix), np.float32(y - iy)
    top = texture[iy : iy + height, ix : ix + width] * (1 - fx)
    top += texture[iy : iy + height, ix + 1 : ix + width + 1] * fx
    bottom = texture[iy + 1 : iy + height + 1, ix : ix + width] * (1 - fx)
    bottom += texture[iy + 1 : iy + height + 1, ix + 1 : ix + width + 1] * fx
    top *= 1 - fy
    top += bottom * fy
    return top


def _value_noise(rng: np.random.Generator, size: tuple[int, int], cell: float) -> _F32:
    """Smooth random noise in [0, 1]: a random grid every ``cell`` pixels, interpolated."""
    grid = rng.random((int(size[0] / cell) + 2, int(size[1] / cell) + 2), dtype=np.float32)
    ys = np.arange(size[0], dtype=np.float32) / np.float32(cell)
    xs = np.arange(size[1], dtype=np.float32) / np.float32(cell)
    y0, x0 = ys.astype(np.intp), xs.astype(np.intp)
    fy, fx = ys - y0, xs - x0
    fy, fx = (fy * fy * (3 - 2 * fy))[:, None], (fx * fx * (3 - 2 * fx))[None, :]
    top = grid[np.ix_(y0, x0)] * (1 - fx) + grid[np.ix_(y0, x0 + 1)] * fx
    bottom = grid[np.ix_(y0 + 1, x0)] * (1 - fx) + grid[np.ix_(y0 + 1, x0 + 1)] * fx
    return np.asarray(top * (1 - fy) + bottom * fy, dtype=np.float32)


def _background(
    shot: _Shot, rng: np.random.Generator, size: tuple[int, int], frame_height: int
) -> _F32:
    """Generate a shot's RGB texture in [0, 1]: noise-mixed palette, stripes, blobs and grain."""
    yy, xx = np.mgrid[0 : size[0], 0 : size[1]].astype(np.float32)
    low, high, accent = (np.asarray(c, dtype=np.float32) for c in shot.palette)
    mix = 0.65 * _value_noise(rng, size, frame_height / 3)
    mix = np.clip(1.6 * (mix + 0.35 * _value_noise(rng, size, frame_height / 12)) - 0.3, 0, 1)
    image = low + (high - low) * mix[..., None]
    period = shot.stripe_period * frame_height
    cos, sin = math.cos(shot.stripe_angle), math.sin(shot.stripe_angle)
    wave = np.sin(_TAU * (xx * cos + yy * sin) / period + 4.0 * mix)
    if shot.checker:
        wave *= np.sin(_TAU * (yy * cos - xx * sin) / period)
    stripes = (0.5 + 0.5 * wave) ** 4 * 0.5
    image += (accent - image) * stripes[..., None]
    for _ in range(8):
        cy, cx = rng.uniform(0, size[0]), rng.uniform(0, size[1])
        radius = rng.uniform(0.05, 0.12) * frame_height
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius * radius))
        colour = (accent * 1.15, high * 1.2, low * 0.5)[int(rng.integers(3))]
        image += (colour - image) * (0.8 * blob)[..., None]
    grain = _value_noise(rng, size, 2.5) - 0.5
    image *= (1.0 + 0.3 * grain)[..., None]
    return np.clip(image, 0.0, 1.0).astype(np.float32, copy=False)


def _encode(
    tmp: Path, frames: Iterator[npt.NDArray[np.uint8]], width: int, height: int, fps: Fraction
) -> None:
    """Encode RGB ``frames`` to ``tmp`` as H.264 (yuv420p) in MP4, frame ``i`` at pts ``i``."""
    time_base = 1 / fps
    with av.open(str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"}) as out:
        settings = H264(crf=20, gop=max(1, round(2 * fps)))
        stream = add_h264_stream(
            out, width=width, height=height, time_base=time_base, settings=settings
        )
        for index, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = index, time_base
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
