"""One way to open an x264 encoder stream and convert frames for it: proxies, clips, the sample."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

__all__ = ["H264", "add_h264_stream", "for_stream"]


@dataclass(frozen=True)
class H264:
    """x264 settings.

    Attributes:
        crf: Constant rate factor (lower is better quality, bigger files).
        preset: x264 speed preset.
        gop: A fixed keyframe interval (no scene-cut keyframes in between), or x264's choice.
        bframes: Consecutive B-frames, or x264's default.
        tune: x264 tuning such as ``fastdecode``.
    """

    crf: int = 20
    preset: str = "veryfast"
    gop: int | None = None
    bframes: int | None = None
    tune: str | None = None

    def options(self) -> dict[str, str]:
        """The encoder options PyAV passes to libx264."""
        options = {"crf": str(self.crf), "preset": self.preset}
        if self.gop is not None:
            options["g"] = str(self.gop)
            options["x264-params"] = f"keyint={self.gop}:min-keyint={self.gop}:scenecut=0"
        if self.bframes is not None:
            options["bf"] = str(self.bframes)
        if self.tune is not None:
            options["tune"] = self.tune
        return options


def add_h264_stream(
    output: Any,
    *,
    width: int,
    height: int,
    time_base: Fraction,
    settings: H264,
    rotation: float = 0,
) -> Any:
    """Add an x264 stream to an open PyAV output container and return it.

    Odd sizes are encoded as 4:4:4 (4:2:0 needs even sides); ``rotation`` (degrees
    counter-clockwise) is written as the display matrix.
    """
    stream = output.add_stream("libx264", options=settings.options())
    stream.width, stream.height = width, height
    stream.pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
    stream.time_base = time_base
    stream.codec_context.time_base = time_base
    if rotation:
        stream.set_display_rotation(rotation)
    return stream


def for_stream(frame: Any, stream: Any) -> Any:
    """``frame`` converted to ``stream``'s size and pixel format, in limited (TV) range.

    The streams are not marked full range, so a full-range frame (MJPEG, yuvj420p H.264 as
    phones write, RGB) is converted: kept as it is, its blacks are crushed and its contrast
    stretched.
    """
    return frame.reformat(
        width=stream.width,
        height=stream.height,
        format=stream.pix_fmt,
        src_color_range=frame.color_range,
        dst_color_range="MPEG",
    )
