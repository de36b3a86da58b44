"""Encoded chunks for decoding in the browser (WebCodecs), straight from the file's packets.

A browser's ``VideoDecoder`` takes a codec string, the codec's description (for H.264 the
``avcC`` record MP4 files carry as extradata) and encoded chunks, each a frame's packet with its
timestamp and whether decoding can start there. A chunk here is the run of frames from one
keyframe to the next (a GOP), so the browser can start decoding at any chunk. Only H.264 without
B-frames is served (packet order is presentation order, so frame *n* is the *n*-th packet): the
annotation proxy always is, and a source that is too gets served as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tweenlab.errors import UsageError
from tweenlab.media._container import open_video
from tweenlab.media.index import FrameIndex

__all__ = ["ChunkReader", "CodecConfig", "EncodedFrame", "codec_config", "read_chunk"]


@dataclass(frozen=True)
class CodecConfig:
    """What a WebCodecs ``VideoDecoder.configure`` needs, and how the video is chunked.

    Attributes:
        codec: The codec string, e.g. ``avc1.64001f`` (profile, constraints, level from avcC).
        description: The ``avcC`` record.
        width: Coded width in pixels.
        height: Coded height in pixels.
        frame_count: Frames in the video.
        chunk_starts: The first frame of each chunk (the keyframes), ascending.
    """

    codec: str
    description: bytes
    width: int
    height: int
    frame_count: int
    chunk_starts: list[int]

    def chunk_of(self, frame: int) -> int:
        """The chunk holding ``frame``."""
        return int(np.searchsorted(self.chunk_starts, frame, side="right")) - 1


@dataclass(frozen=True)
class EncodedFrame:
    """One frame's packet: frame index, pts (in the stream's time base), keyframe flag, bytes."""

    frame: int
    pts: int
    key: bool
    data: bytes


def codec_config(video: Path, index: FrameIndex) -> CodecConfig:
    """The decoder configuration and chunk layout of ``video`` (H.264 without B-frames).

    Raises:
        UsageError: The video is not H.264 in MP4-style (avcC) packets, has B-frames, or
            starts after a keyframe an edit list hides; its annotation proxy is what to serve
            then.
    """
    container, stream = open_video(video)
    with container:
        context = stream.codec_context
        extradata = bytes(context.extradata or b"")
        name = video.name  # the server quotes these: its folders are nobody's business
        if context.name != "h264" or len(extradata) < 4 or extradata[0] != 1:
            raise UsageError(
                f"{name}: only H.264 with an avcC record can be served in chunks "
                f"(this is {context.name}); serve its proxy (tweenlab ingest makes one)"
            )
        if context.has_b_frames or not np.array_equal(index.decode_order, np.arange(len(index))):
            raise UsageError(f"{name}: has B-frames; serve its proxy (tweenlab ingest makes one)")
        if index.keyframe.any() and not index.keyframe[0]:  # chunks start at keyframes
            raise UsageError(
                f"{name}: its first frames follow a keyframe its edit list hides; serve its "
                "proxy (tweenlab ingest makes one)"
            )
        codec = f"avc1.{extradata[1]:02x}{extradata[2]:02x}{extradata[3]:02x}"
        return CodecConfig(
            codec,
            extradata,
            int(context.width),
            int(context.height),
            len(index),
            index.keyframe_indices().tolist(),
        )


def read_chunk(video: Path, index: FrameIndex, chunk: int) -> list[EncodedFrame]:
    """The packets of chunk ``chunk`` (from its keyframe up to the next), in frame order.

    Opens ``video`` for this one chunk; :class:`ChunkReader` keeps it open for many.

    Raises:
        UsageError: No such chunk.
    """
    with ChunkReader(video, index) as reader:
        return reader.read(chunk)


class ChunkReader:
    """Chunks of one video from a container kept open (opening probes the streams, which
    decodes a few frames: about 25 ms for 1080p, many times the cost of a chunk's packets).

    Not thread-safe: one chunk at a time.

    Example:
        >>> with ChunkReader(Path("proxy.mp4"), index) as reader:  # doctest: +SKIP
        ...     frames = reader.read(3)
    """

    def __init__(self, video: Path, index: FrameIndex) -> None:
        self.video, self.index = video, index
        self.starts = index.keyframe_indices()
        self._container, self._stream = open_video(video)

    def __enter__(self) -> ChunkReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the container."""
        self._container.close()

    def read(self, chunk: int) -> list[EncodedFrame]:
        """The packets of chunk ``chunk``, in frame order.

        Raises:
            UsageError: No such chunk.
        """
        index, starts = self.index, self.starts
        if not 0 <= chunk < len(starts):
            raise UsageError(f"chunk {chunk} is outside the video (0..{len(starts) - 1})")
        first = int(starts[chunk])
        stop = int(starts[chunk + 1]) if chunk + 1 < len(starts) else len(index)
        wanted = {int(index.pts[n]): n for n in range(first, stop)}
        found: dict[int, EncodedFrame] = {}
        last = int(index.pts[stop - 1])
        self._container.seek(int(index.pts[first]), stream=self._stream, backward=True)
        for packet in self._container.demux(self._stream):
            if packet.pts is None or packet.size == 0:
                continue
            n = wanted.get(int(packet.pts))
            if n is not None:
                found[n] = EncodedFrame(n, int(packet.pts), bool(packet.is_keyframe), bytes(packet))
            if len(found) == len(wanted) or int(packet.pts) > last:
                break
        return [found[n] for n in sorted(found)]
