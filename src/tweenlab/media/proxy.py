"""The annotation proxy: an H.264 copy with short GOPs, for fast random access.

Sources whose keyframes are far apart (seconds of decoding to reach one frame), or whose codec
browsers cannot decode, get a proxy once: at most 1080 lines, a keyframe every few frames, no
B-frames, decoding shortcuts on, and the very same frame count, order and timestamps. The source
stays the reference; the proxy only serves pixels for looking and labelling.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

from tweenlab.errors import MediaWriteError
from tweenlab.media._encode import H264, add_h264_stream, for_stream
from tweenlab.media._files import atomic_path
from tweenlab.media.index import FrameIndex, build_index
from tweenlab.media.probe import VideoInfo
from tweenlab.media.reader import VideoReader

__all__ = ["BROWSER_CODECS", "ProxyOptions", "needs_proxy", "write_proxy"]

#: Codecs that browsers decode with WebCodecs or <video> everywhere.
BROWSER_CODECS = frozenset({"h264", "vp8", "vp9", "av1"})


@dataclass(frozen=True)
class ProxyOptions:
    """How a proxy is encoded.

    Attributes:
        gop: Frames from one keyframe to the next (random access decodes at most this many).
        max_height: Frames taller than this are scaled down (keeping the aspect ratio).
        crf: x264 constant rate factor (lower is better quality, bigger files).
        preset: x264 speed preset.
    """

    gop: int = 8
    max_height: int = 1080
    crf: int = 20
    preset: str = "veryfast"


def needs_proxy(info: VideoInfo, *, max_gop: int = 48, max_height: int = 1080) -> bool:
    """Whether random access on ``info``'s video is slow or browsers cannot decode it, or its
    first frames follow a keyframe an edit list hides (a browser decoding its packets would show
    the hidden frames too, and the editor's chunks start at keyframes)."""
    return (
        info.codec not in BROWSER_CODECS
        or info.keyframes.max_interval > max_gop
        or info.keyframes.first > 0
        or info.height > max_height
    )


def write_proxy(
    source: Path,
    target: Path,
    *,
    index: FrameIndex | None = None,
    options: ProxyOptions = ProxyOptions(),
    progress: Callable[[int, int], None] | None = None,
    tap: Callable[[int, Any], None] | None = None,
) -> FrameIndex:
    """Write the proxy of ``source`` to ``target`` atomically and return the proxy's index.

    A frame of the source that cannot be decoded is replaced by the frame before it, so the
    proxy keeps the source's frame count. ``tap(n, frame)`` sees every source frame decoded
    (the ``av.VideoFrame``; not the ones that could not be), so another use of the frames, the
    keyframe analysis at ingest, needs no decoding pass of its own.

    Raises:
        MediaWriteError: When encoding fails or the written proxy does not match the source.
    """
    with VideoReader(source, index=index, cache_mb=0, autorotate=False) as reader:
        count = len(reader)
        try:
            with atomic_path(target) as temporary:
                _encode(reader, temporary, options, progress, tap)
                written = build_index(temporary)
                if len(written) != count:
                    raise MediaWriteError(
                        target, f"the proxy has {len(written)} frames, the source {count}"
                    )
        except (av.error.FFmpegError, OSError) as error:
            raise MediaWriteError(target, f"encoding the proxy failed ({error})") from error
    return build_index(target)


def _encode(
    reader: VideoReader,
    target: Path,
    options: ProxyOptions,
    progress: Callable[[int, int], None] | None,
    tap: Callable[[int, Any], None] | None = None,
) -> None:
    index = reader.index
    with av.open(str(target), mode="w") as output:
        stream = _add_stream(output, reader, options)
        first, previous = int(index.pts[0]), None
        frames = reader.read_av_frames(range(len(reader)))
        for n, frame in _fill_gaps(frames, len(reader)):
            if frame is not None and tap is not None:
                tap(n, frame)
            image = frame if frame is not None else previous
            if image is None:
                raise MediaWriteError(target, f"frame {n} and all before it cannot be decoded")
            previous = image
            picture = for_stream(image, stream)
            picture.pts = int(index.pts[n]) - first
            output.mux(stream.encode(picture))
            if progress is not None and n % 64 == 0:
                progress(n, len(reader))
        output.mux(stream.encode(None))


def _add_stream(output: Any, reader: VideoReader, options: ProxyOptions) -> Any:
    first = next(iter(reader.read_av_frames([0])))[1]
    width, height = first.width, first.height
    if height > options.max_height:
        width, height = round(width * options.max_height / height), options.max_height
    settings = H264(
        crf=options.crf, preset=options.preset, gop=options.gop, bframes=0, tune="fastdecode"
    )
    return add_h264_stream(
        output,
        width=max(2, width - width % 2),  # 4:2:0 needs even sides: a 1x1 video gets 2x2
        height=max(2, height - height % 2),
        time_base=reader.index.time_base,
        settings=settings,
        rotation=first.rotation,
    )


def _fill_gaps(frames: Any, count: int) -> Any:
    """Yield ``(n, frame or None)`` for every n in ``0..count-1``: None where a frame is missing."""
    expected = 0
    for n, frame in frames:
        while expected < n:
            yield expected, None
            expected += 1
        yield n, frame
        expected = n + 1
    while expected < count:
        yield expected, None
        expected += 1
