"""``probe``: what a video is, exactly — its frame count from the index, its rate as a Fraction.

Frame counts come from demuxing every packet (the index), never from the container's header or
from duration x rate, which are wrong for VFR video, edit lists and damaged files.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from tweenlab.media._container import open_video
from tweenlab.media.index import FrameIndex, build_index

__all__ = ["KeyframeStats", "VideoInfo", "probe"]


@dataclass(frozen=True)
class KeyframeStats:
    """How far apart a video's keyframes are, in frames."""

    count: int
    min_interval: int
    mean_interval: float
    max_interval: int
    #: The first keyframe's frame: above 0 where an edit list hides the keyframe the first
    #: frames need (a copy trimmed mid-GOP); the intervals count from it.
    first: int = 0


@dataclass(frozen=True)
class VideoInfo:
    """Everything about a video that the rest of tweenlab needs to know.

    Attributes:
        path: The file.
        container: FFmpeg's name of the container format (``mov,mp4,...``, ``avi``).
        codec: FFmpeg's name of the video codec (``h264``, ``msmpeg4``).
        width: Coded width in pixels (before display rotation).
        height: Coded height in pixels.
        rotation: Display rotation in degrees counter-clockwise (0, 90, 180 or 270).
        frame_count: Exact number of frames, from the index.
        frame_rate: The stream's nominal rate (``30000/1001``).
        average_rate: Frames per second measured over the whole index.
        vfr: Whether frame durations vary beyond timestamp rounding.
        time_base: Seconds per pts tick.
        start_time: Presentation time of the first frame, in seconds.
        duration: From the first frame's start to the last frame's end, in seconds.
        keyframes: Keyframe interval statistics.
        has_audio: Whether the file has an audio stream.
        pixel_format: The decoder's pixel format (``yuv420p``).
        size_bytes: File size.
    """

    path: Path
    container: str
    codec: str
    width: int
    height: int
    rotation: int
    frame_count: int
    frame_rate: Fraction
    average_rate: Fraction
    vfr: bool
    time_base: Fraction
    start_time: Fraction
    duration: Fraction
    keyframes: KeyframeStats
    has_audio: bool
    pixel_format: str
    size_bytes: int

    @property
    def display_size(self) -> tuple[int, int]:
        """``(width, height)`` as shown, after display rotation."""
        return (
            (self.height, self.width) if self.rotation in (90, 270) else (self.width, self.height)
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict; Fractions become ``"num/den"`` strings."""
        return {key: _jsonable(value) for key, value in asdict(self).items()}


def probe(path: Path, *, index: FrameIndex | None = None) -> VideoInfo:
    """Describe the video at ``path``, building its frame index unless one is given.

    Raises:
        MediaError: The specific subclass when the file cannot be read as a video.

    Example:
        >>> info = probe(Path("clip.mp4"))  # doctest: +SKIP
        >>> info.frame_count, info.frame_rate  # doctest: +SKIP
        (300, Fraction(30000, 1001))
    """
    index = index if index is not None else build_index(path)
    container, stream = open_video(path)
    with container:
        context = stream.codec_context
        nominal = stream.base_rate or stream.guessed_rate or stream.average_rate
        container_name = container.format.name
        has_audio = bool(container.streams.audio)
        codec, width, height = context.name, context.width, context.height
        pixel_format = context.format.name if context.format is not None else "unknown"
        rotation = _rotation(container, stream)
    average, vfr = _rates(index)
    return VideoInfo(
        path=path,
        container=container_name,
        codec=codec,
        width=width,
        height=height,
        rotation=rotation,
        frame_count=len(index),
        frame_rate=Fraction(nominal) if nominal else average,
        average_rate=average,
        vfr=vfr,
        time_base=index.time_base,
        start_time=int(index.pts[0]) * index.time_base,
        duration=_duration(index),
        keyframes=_keyframe_stats(index),
        has_audio=has_audio,
        pixel_format=pixel_format,
        size_bytes=path.stat().st_size,
    )


def _rotation(container: Any, stream: Any) -> int:
    """Display rotation in degrees counter-clockwise, read off the first decoded frame.

    PyAV 18 exposes the display matrix only on frames (FFmpeg copies it there from the stream).
    """
    try:
        for frame in container.decode(stream):
            return round(float(frame.rotation)) % 360
    except av.error.FFmpegError:
        return 0
    return 0


def _rates(index: FrameIndex) -> tuple[Fraction, bool]:
    if len(index) < 2:
        return Fraction(0), False
    span = (int(index.pts[-1]) - int(index.pts[0])) * index.time_base
    average = Fraction(len(index) - 1) / span if span > 0 else Fraction(0)
    durations = index.frame_durations()
    vfr = bool(durations.max() - durations.min() > max(2, int(np.median(durations)) // 50))
    return average, vfr


def _duration(index: FrameIndex) -> Fraction:
    durations = index.frame_durations()
    last = int(np.median(durations)) if durations.size else 0
    return (int(index.pts[-1]) - int(index.pts[0]) + last) * index.time_base


def _keyframe_stats(index: FrameIndex) -> KeyframeStats:
    gops = index.gop_lengths()
    return KeyframeStats(
        count=int(index.keyframe.sum()),
        min_interval=int(gops.min()),
        mean_interval=round(float(gops.mean()), 2),
        max_interval=int(gops.max()),
        first=int(index.keyframe_indices()[0]) if index.keyframe.any() else 0,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    return value
