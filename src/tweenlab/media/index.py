"""The frame index: pts and keyframe flag of every frame, in presentation order, from demuxing.

Frame *n* is the *n*-th frame in presentation order, always; it is never found as
``time x fps``. The index is built by reading packets only (no decoding, tens of thousands of
frames a second) and saved as a small ``.npz`` among the video's derived files, so a video is
demuxed once.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from tweenlab.errors import FrameOutOfRangeError, NotAVideoError, TruncatedVideoError
from tweenlab.media._container import cut_short, open_video
from tweenlab.media._files import write_atomic

__all__ = ["FrameIndex", "build_index"]

#: 3: no frames before the first keyframe; 4: AVI B-frames; 5: keyframes edit lists hide;
#: 6, 7: intra-only streams with timestamps swapped or repeated
_FORMAT_VERSION = 7
Progress = Callable[[int, int], None]


@dataclass(frozen=True, eq=False)
class FrameIndex:
    """Where every frame of a video is, in presentation order.

    Attributes:
        path: The video the index describes.
        pts: Presentation timestamp of each frame, in ``time_base`` units, ascending (int64).
        tags: The timestamp the decoder attaches to each frame, which identifies it when
            decoded. Equal to ``pts`` except in files whose B-frames carry decode timestamps as
            presentation timestamps (some MP4 and AVI writers); there the order of decoded
            frames is learnt once by decoding.
        keyframe: Whether each frame is a keyframe (decoding can start there).
        pos: Byte offset of each frame's packet in the file, or -1 when unknown.
        decode_order: Each frame's position in decode (file) order.
        time_base: Seconds per pts tick.
        corrupt: Indices of frames whose packet the demuxer flagged as corrupt.

    Example:
        >>> index = build_index(Path("clip.mp4"))  # doctest: +SKIP
        >>> index.seconds(10), index.keyframe_at_or_before(10)  # doctest: +SKIP
        (Fraction(2, 5), 0)
    """

    path: Path
    pts: npt.NDArray[np.int64]
    tags: npt.NDArray[np.int64]
    keyframe: npt.NDArray[np.bool_]
    pos: npt.NDArray[np.int64]
    decode_order: npt.NDArray[np.int64]
    time_base: Fraction
    corrupt: tuple[int, ...] = ()

    def __len__(self) -> int:
        return int(self.pts.shape[0])

    def check(self, frame: int) -> int:
        """Return ``frame`` as a non-negative index (negatives count from the end), or raise."""
        count = len(self)
        resolved = frame + count if frame < 0 else frame
        if not 0 <= resolved < count:
            raise FrameOutOfRangeError(
                self.path, f"frame {frame} is outside 0..{count - 1}", frame=frame
            )
        return resolved

    def seconds(self, frame: int) -> Fraction:
        """Presentation time of ``frame`` from the first frame, in seconds."""
        return (int(self.pts[frame]) - int(self.pts[0])) * self.time_base

    def all_seconds(self) -> list[Fraction]:
        """Presentation time of every frame from the first frame, in seconds."""
        first = int(self.pts[0])
        return [(int(p) - first) * self.time_base for p in self.pts.tolist()]

    def frame_at(self, seconds: Fraction) -> int:
        """The first frame shown at or after ``seconds`` from the first frame (clamped)."""
        target = math.ceil(int(self.pts[0]) + seconds / self.time_base)
        return min(int(np.searchsorted(self.pts, target, side="left")), len(self) - 1)

    def keyframe_at_or_before(self, frame: int) -> int:
        """The latest keyframe at or before ``frame`` in presentation order (0 if none)."""
        keys = self.keyframe_indices()
        position = int(np.searchsorted(keys, frame, side="right")) - 1
        return int(keys[position]) if position >= 0 else 0

    def seek_tag(self, frame: int, back: int = 0) -> int:
        """The timestamp to seek to (``backward=True``) to decode on to ``frame``: its keyframe's,
        or that of the ``back``-th keyframe before it, since MPEG-TS seeks land on the keyframe
        after the time asked for; the stream's start (0, or the earliest timestamp when that is
        negative) for the first keyframe, whose own time lands on the second in MPEG-TS (and a
        negative one is refused by AVI)."""
        keys = self.keyframe_indices()
        position = max(int(np.searchsorted(keys, self.keyframe_at_or_before(frame))) - back, 0)
        if position == 0:
            return min(int(self.tags.min()), 0)
        return int(self.tags[int(keys[position])])

    @functools.cached_property
    def _keyframes(self) -> npt.NDArray[np.int64]:
        return np.flatnonzero(self.keyframe).astype(np.int64)

    def keyframe_indices(self) -> npt.NDArray[np.int64]:
        """Indices of all keyframes, ascending."""
        return self._keyframes

    def gop_lengths(self) -> npt.NDArray[np.int64]:
        """Frames from each keyframe to the next (the last runs to the end of the video)."""
        keys = self.keyframe_indices()
        if keys.size == 0:
            return np.array([len(self)], dtype=np.int64)
        return np.diff(np.append(keys, len(self))).astype(np.int64)

    def frame_durations(self) -> npt.NDArray[np.int64]:
        """pts ticks between consecutive frames (``len - 1`` values)."""
        return np.diff(self.pts)

    def save(self, target: Path) -> None:
        """Write the index to ``target`` (``.npz``) atomically."""
        buffer = io.BytesIO()
        np.savez(
            buffer,
            version=np.array(_FORMAT_VERSION),
            pts=self.pts,
            tags=self.tags,
            keyframe=self.keyframe,
            pos=self.pos,
            decode_order=self.decode_order,
            time_base=np.array([self.time_base.numerator, self.time_base.denominator]),
            corrupt=np.array(self.corrupt, dtype=np.int64),
        )
        write_atomic(target, buffer.getvalue())

    @classmethod
    def load(cls, source: Path, video: Path) -> FrameIndex | None:
        """Read an index saved by ``save``; ``None`` when it is missing or of another version."""
        try:
            with np.load(source) as data:
                if int(data["version"]) != _FORMAT_VERSION:
                    return None
                numerator, denominator = (int(v) for v in data["time_base"])
                return cls(
                    path=video,
                    pts=data["pts"],
                    tags=data["tags"],
                    keyframe=data["keyframe"],
                    pos=data["pos"],
                    decode_order=data["decode_order"],
                    time_base=Fraction(numerator, denominator),
                    corrupt=tuple(int(v) for v in data["corrupt"]),
                )
        except (OSError, KeyError, ValueError):
            return None


def build_index(path: Path, *, progress: Progress | None = None) -> FrameIndex:
    """Demux ``path`` (no decoding) and index its video frames in presentation order.

    Packets the container marks as discarded (edit lists) are not frames and are left out, and
    so are packets before the first keyframe, which no decoder shows.

    Raises:
        MediaError: The specific subclass when the file cannot be read as a video.
    """
    container, stream = open_video(path)
    with container:
        time_base = stream.time_base or Fraction(1, 90000)
        size = max(container.size or 1, 1)
        rows: list[tuple[int, bool, int, bool]] = []
        discarded: set[int] = set()  # rows of packets the container discards
        last: int | None = None  # the latest timestamp of a packet not discarded
        demuxed = 0
        stamped_in_decode_order = True  # timestamps never go back: no reordering in sight
        try:
            for packet in container.demux(stream):
                demuxed += packet.size > 0
                row = _packet_row(packet)
                if row is not None:
                    if packet.is_discard:  # hidden by an edit list, but maybe the keyframe
                        discarded.add(len(rows))  # that the first frames shown need
                    else:
                        stamped_in_decode_order &= last is None or row[0] > last
                        last = row[0]
                    rows.append(row)
                if progress is not None and len(rows) % 2048 == 0 and packet.pos is not None:
                    progress(max(packet.pos, 0), size)
        except av.error.FFmpegError as error:
            if not rows:
                raise NotAVideoError(path, f"no packet can be read ({error})") from error
        declared = stream.frames if container.format.name.startswith("mov") else 0
        reorders = bool(stream.codec_context.has_b_frames)
    rows = _from_first_keyframe(rows, discarded)
    if not rows and demuxed and not discarded:
        raise NotAVideoError(
            path,
            f"its {demuxed} video packets carry no timestamps (a raw stream with no container?): "
            f"put it in one first, e.g. ffmpeg -i {path.name} -c copy {path.stem}.mp4",
        )
    if not rows:
        raise cut_short(path) or NotAVideoError(path, "the video stream holds no frames")
    if declared > demuxed:
        raise TruncatedVideoError(
            path, f"the data ends early: {demuxed} of the {declared} frames its header lists"
        )
    if progress is not None:
        progress(size, size)
    index = _from_rows(path, rows, Fraction(time_base))
    # timestamps rising although the codec reorders (decode times as presentation times), or
    # going back although it does not (an intra-only stream stamped out of order): the
    # decoder's order may not be theirs; it is checked on the first frames, and decoding says
    if reorders == stamped_in_decode_order and len(rows) > 2 and _shown_out_of_order(path):
        index = _with_decoded_order(index)
    return index


_PROBED_FRAMES = 64  # frames decoded to see whether the decoder reorders rising timestamps


def _shown_out_of_order(path: Path) -> bool:
    """Whether the decoder gives the first frames of ``path`` with their timestamps out of
    order: the packets carry decode timestamps (equal to the dts, or the dts plus a constant,
    as FFmpeg's AVI muxer writes B-frames) although the codec reorders frames. Timestamps that
    rise in decode order are also what a stream that could reorder but has no B-frames has;
    only decoding tells the two apart."""
    container, stream = open_video(path)
    stream.codec_context.thread_type = "AUTO"
    tags: list[int] = []
    with container:
        for packet in container.demux(stream):
            tags.extend(int(f.pts) for f in _decode_quietly(packet) if f.pts is not None)
            if len(tags) >= _PROBED_FRAMES:
                break
    return any(later < earlier for earlier, later in pairwise(tags))


def _from_first_keyframe(
    rows: list[tuple[int, bool, int, bool]], discarded: set[int]
) -> list[tuple[int, bool, int, bool]]:
    """``rows`` (in decode order) from the first keyframe on, less the ``discarded`` ones: packets
    before the first keyframe (a file cut between two keyframes by copying packets) reference a
    frame the file does not hold, no decoder shows them, so frame 0 is the first frame a decoder
    gives, as for FFmpeg and every tool that counts decoded frames. A keyframe an edit list
    hides (a copy trimmed mid-GOP, ``ffmpeg -ss T -c copy``) still counts: the decoder decodes
    it and shows the frames after it that the list keeps. A stream that flags no keyframe at all
    is kept whole."""
    first = next((n for n, row in enumerate(rows) if row[1]), 0)
    return [row for n, row in enumerate(rows) if n >= first and n not in discarded]


def _packet_row(packet: av.Packet[Any]) -> tuple[int, bool, int, bool] | None:
    timestamp = packet.pts if packet.pts is not None else packet.dts
    if timestamp is None or packet.size == 0:
        return None
    position = packet.pos if packet.pos is not None else -1
    return timestamp, bool(packet.is_keyframe), position, bool(packet.is_corrupt)


def _from_rows(path: Path, rows: list[tuple[int, bool, int, bool]], tb: Fraction) -> FrameIndex:
    pts = np.array([row[0] for row in rows], dtype=np.int64)
    order = np.argsort(pts, kind="stable")
    keyframe = np.array([row[1] for row in rows], dtype=np.bool_)[order]
    if not keyframe.any():
        keyframe[0] = True
    corrupt_in_decode = np.array([row[3] for row in rows], dtype=np.bool_)[order]
    shown = pts[order]  # a timestamp a muxer repeated stays the decoder's tag; as a time it is
    rising = np.arange(len(shown))  # moved on a tick, so that every frame has its own
    return FrameIndex(
        path=path,
        pts=np.maximum.accumulate(shown - rising) + rising,
        tags=shown,
        keyframe=keyframe,
        pos=np.array([row[2] for row in rows], dtype=np.int64)[order],
        decode_order=order.astype(np.int64),
        time_base=tb,
        corrupt=tuple(int(i) for i in np.flatnonzero(corrupt_in_decode)),
    )


def _with_decoded_order(index: FrameIndex) -> FrameIndex:
    """Re-order an index whose timestamps are in decode order, by decoding the video once.

    Its packets carry decode timestamps while the codec reorders frames, so sorting timestamps
    gives decode order, not presentation order. The decoder outputs frames in presentation
    order, each still carrying its packet's timestamp: that sequence is the truth.
    """
    container, stream = open_video(index.path)
    stream.codec_context.thread_type = "AUTO"
    with container:
        tags = [
            int(frame.pts)
            for packet in container.demux(stream)
            for frame in _decode_quietly(packet)
            if frame.pts is not None
        ]
    row_of = {int(tag): row for row, tag in enumerate(index.pts.tolist())}
    rows = np.array([row_of[tag] for tag in tags if tag in row_of], dtype=np.int64)
    if rows.size != len(index):
        return index
    return FrameIndex(
        path=index.path,
        pts=index.pts,
        tags=index.pts[rows],
        keyframe=index.keyframe[rows],
        pos=index.pos[rows],
        decode_order=index.decode_order[rows],
        time_base=index.time_base,
        corrupt=tuple(int(np.flatnonzero(rows == c)[0]) for c in index.corrupt),
    )


def _decode_quietly(packet: av.Packet[Any]) -> list[av.VideoFrame]:
    try:
        return list(packet.decode())
    except av.error.FFmpegError:
        return []
