"""Opening a video with PyAV, turning whatever goes wrong into one specific ``MediaError``.

Every other module of ``tweenlab.media`` opens files through ``open_video`` so that a missing
file, a text file named ``.mp4``, an MP4 cut short or an unknown codec read the same everywhere.
"""

from __future__ import annotations

from pathlib import Path

import av
import av.container

from tweenlab.core.limits import MAX_SIDE
from tweenlab.errors import (
    EmptyFileError,
    InvalidDimensionsError,
    MediaNotFoundError,
    NotAFileError,
    NotAVideoError,
    TruncatedVideoError,
    UnsupportedCodecError,
)

__all__ = ["MAX_DIMENSION", "check_file", "open_video"]

#: The largest width or height we accept (FFmpeg itself stops at 16384 for most codecs).
MAX_DIMENSION = MAX_SIDE
_ISO_BMFF_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip")


def check_file(path: Path) -> None:
    """Raise the specific error for a path that cannot be a video, before FFmpeg sees it."""
    if not path.exists():
        raise MediaNotFoundError(path, "no such file")
    if not path.is_file():
        kind = "a directory" if path.is_dir() else "not a regular file"
        raise NotAFileError(path, f"is {kind}, not a video file")
    if path.stat().st_size == 0:
        raise EmptyFileError(path, "the file is empty (0 bytes)")


def open_video(path: Path) -> tuple[av.container.InputContainer, av.video.stream.VideoStream]:
    """Open ``path`` and return the container with its first video stream, checked for use.

    Raises:
        MediaError: The specific subclass for what is wrong with the file.
    """
    check_file(path)
    try:
        container = av.open(str(path), mode="r", metadata_errors="replace")
    except av.error.FFmpegError as error:
        raise _open_error(path, error) from error
    try:
        stream = _video_stream(path, container)
    except BaseException:
        container.close()
        raise
    return container, stream


def _open_error(path: Path, error: av.error.FFmpegError) -> Exception:
    if _looks_like_mp4(path):
        return cut_short(path) or TruncatedVideoError(
            path, "the MP4 has no moov box (the file was cut short or never finished writing)"
        )
    reason = getattr(error, "strerror", None) or str(error)
    return NotAVideoError(path, f"FFmpeg cannot read it as a video ({reason})")


def _looks_like_mp4(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(12)
    return len(head) >= 8 and head[4:8] in _ISO_BMFF_BOXES


def cut_short(path: Path) -> TruncatedVideoError | None:
    """The error for an MP4 whose last top-level box runs past the end of the file (a copy or
    download cut short inside its moov box), or None. Only a file that cannot be read is
    judged so: its moov may be whole enough for FFmpeg, which then says other things (no video
    stream, no codec, no frames)."""
    if not _looks_like_mp4(path):
        return None
    size, offset = path.stat().st_size, 0
    with path.open("rb") as handle:
        for _ in range(_MAX_BOXES):
            if offset + 8 > size:
                break
            handle.seek(offset)
            head = handle.read(16)
            length, kind = int.from_bytes(head[:4], "big"), head[4:8]
            if length == 1 and len(head) == 16:  # a 64-bit size follows the type
                length = int.from_bytes(head[8:16], "big")
            if length < 8:  # 0 runs to the end of the file; under 8 is not a box
                return None
            if offset + length > size:
                name = kind.decode("latin-1")
                return TruncatedVideoError(
                    path,
                    f"the file ends inside its {name!r} box, {offset + length - size} bytes "
                    "short (it was cut short or never finished writing)",
                )
            offset += length
    return None


_MAX_BOXES = 4096  # top-level boxes walked by cut_short (a real MP4 has a handful)


def _video_stream(
    path: Path, container: av.container.InputContainer
) -> av.video.stream.VideoStream:
    if not container.streams.video:
        raise cut_short(path) or NotAVideoError(
            path, f"the {container.format.name} file has no video stream"
        )
    stream = container.streams.video[0]
    context = stream.codec_context
    name = getattr(context, "name", None)
    if context is None or not name or name == "none":
        tag = getattr(context, "codec_tag", "") if context is not None else ""
        raise cut_short(path) or UnsupportedCodecError(
            path, f"no decoder for its video codec {tag or '(unknown)'}"
        )
    width, height = context.width, context.height
    if not (0 < width <= MAX_DIMENSION and 0 < height <= MAX_DIMENSION):
        raise InvalidDimensionsError(
            path, f"frame size {width}x{height} is outside 1..{MAX_DIMENSION} pixels per side"
        )
    return stream
