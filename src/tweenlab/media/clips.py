"""Cutting a video into clips whose frame counts add up to the source exactly.

A clip whose first frame is a keyframe, and whose frames form a closed run of packets in decode
order, is stream-copied (no quality loss, disk speed); any other clip is re-encoded with x264 from
exactly its frames. Clips keep the source's container where it holds H.264, else they are
Matroska. Each clip gets a JSON sidecar that records where it came from.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import numpy as np

from tweenlab.errors import MediaError, MediaWriteError, UsageError
from tweenlab.media._container import open_video
from tweenlab.media._encode import H264, add_h264_stream, for_stream
from tweenlab.media._files import atomic_path, staged_folder, write_atomic
from tweenlab.media.frames import check_targets
from tweenlab.media.index import FrameIndex, build_index
from tweenlab.media.reader import VideoReader

__all__ = ["Clip", "clip_ranges", "split_video"]

log = logging.getLogger(__name__)

Method = Literal["copy", "reencode"]


@dataclass(frozen=True)
class Clip:
    """One clip cut from a source video.

    Attributes:
        path: The clip file.
        source: The video it was cut from.
        first_frame: Its first frame's index in the source.
        last_frame: Its last frame's index in the source (inclusive).
        first_pts: Source pts of its first frame.
        last_pts: Source pts of its last frame.
        time_base: The source's time base.
        method: ``copy`` (packets copied) or ``reencode``.
    """

    path: Path
    source: Path
    first_frame: int
    last_frame: int
    first_pts: int
    last_pts: int
    time_base: Fraction
    method: Method

    @property
    def frame_count(self) -> int:
        """Frames in the clip."""
        return self.last_frame - self.first_frame + 1

    def sidecar(self) -> dict[str, Any]:
        """The JSON sidecar's content."""
        return {
            "clip": self.path.name,
            "source": str(self.source),
            "first_frame": self.first_frame,
            "last_frame": self.last_frame,
            "frame_count": self.frame_count,
            "first_pts": self.first_pts,
            "last_pts": self.last_pts,
            "time_base": f"{self.time_base.numerator}/{self.time_base.denominator}",
            "method": self.method,
        }


def clip_ranges(cuts: Sequence[int], frame_count: int) -> list[tuple[int, int]]:
    """Turn cut frames into half-open ``(start, stop)`` ranges covering ``0..frame_count``.

    A cut at frame *c* starts a new clip at *c*. Cuts at 0 or repeated are ignored.

    Raises:
        UsageError: When a cut lies past the last frame.

    Example:
        >>> clip_ranges([300, 0, 900], 1000)
        [(0, 300), (300, 900), (900, 1000)]
    """
    for cut in cuts:
        if not 0 <= cut < frame_count:
            raise UsageError(f"cut at frame {cut} is outside the video (0..{frame_count - 1})")
    edges = sorted({0, *cuts, frame_count})
    return list(itertools.pairwise(edges))


#: Containers that hold H.264 (re-encoded clips) as well as their own codecs (copied clips).
_CLIP_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".avi", ".ts", ".m2ts", ".mts"})


def _clip_suffix(source: Path) -> str:
    """The suffix of ``source``'s clips: its own where that container takes H.264, else ``.mkv``
    (WebM, GIF, no suffix), which holds H.264 and the copied packets of VP8/VP9 and the rest."""
    suffix = source.suffix.lower()
    return suffix if suffix in _CLIP_SUFFIXES else ".mkv"


def split_video(
    source: Path,
    out_dir: Path,
    cuts: Sequence[int],
    *,
    index: FrameIndex | None = None,
    crf: int = 17,
    progress: Callable[[int, int], None] | None = None,
) -> list[Clip]:
    """Cut ``source`` at the frames ``cuts`` into clips in ``out_dir``, with JSON sidecars.

    Example:
        >>> clips = split_video(Path("long.mp4"), Path("clips"), [300, 900])  # doctest: +SKIP
        >>> [(c.first_frame, c.last_frame, c.method) for c in clips]  # doctest: +SKIP
        [(0, 299, 'copy'), (300, 899, 'reencode'), (900, 1499, 'copy')]
    """
    index = index if index is not None else build_index(source)
    ranges = clip_ranges(cuts, len(index))
    width = max(4, len(str(len(ranges))))
    suffix = _clip_suffix(source)
    targets = [
        out_dir / f"{source.stem}_{number:0{width}d}{suffix}" for number in range(len(ranges))
    ]
    _refuse_stale_clips(source, out_dir, targets)
    names = [name for t in targets for name in (t.name, t.with_suffix(".json").name)]
    check_targets(out_dir, names, source)
    copies = _copies_into(source, suffix)
    clips = []
    with staged_folder(out_dir) as staging:  # all the clips or none: interrupted, none is left
        for target, (start, stop) in zip(targets, ranges, strict=True):
            method: Method = "copy" if copies and _copyable(index, start, stop) else "reencode"
            clip = Clip(
                target,
                source,
                start,
                stop - 1,
                int(index.pts[start]),
                int(index.pts[stop - 1]),
                index.time_base,
                method,
            )
            try:
                _write_clip(replace(clip, path=staging / target.name), index, crf)
            except MediaWriteError as error:  # named by where the clip was to go
                raise MediaWriteError(target, error.detail) from error.__cause__
            sidecar = json.dumps(clip.sidecar(), indent=2).encode()
            write_atomic(staging / target.with_suffix(".json").name, sidecar)
            clips.append(clip)
            if progress is not None:
                progress(stop, len(index))
    return clips


def _refuse_stale_clips(source: Path, out_dir: Path, targets: Sequence[Path]) -> None:
    """Refuse, before writing anything, an ``out_dir`` holding clips (or sidecars) of an earlier
    split of ``source`` that this one would not overwrite: left there, the folder's clips would
    no longer add up to the source (a split into 5 clips, then one into 3, kept 5)."""
    if not out_dir.is_dir():
        return
    ours = {target.name for target in targets} | {t.with_suffix(".json").name for t in targets}
    stem = re.escape(source.stem)
    pattern = re.compile(rf"{stem}_\d{{4,}}({re.escape(_clip_suffix(source))}|\.json)")
    stale = sorted(p.name for p in out_dir.iterdir() if pattern.fullmatch(p.name))
    stale = [name for name in stale if name not in ours]
    if stale:
        shown = ", ".join(stale[:3]) + (f" and {len(stale) - 3} more" if len(stale) > 3 else "")
        raise MediaWriteError(
            out_dir,
            f"holds clips of an earlier split that this one would not replace ({shown}); "
            "remove them or choose another --out",
        )


def _copies_into(source: Path, suffix: str) -> bool:
    """Whether the packets of ``source``'s video can be copied into its clips: always into its
    own container, into Matroska where it takes the codec (VP8, VP9; not GIF)."""
    if suffix == source.suffix.lower():
        return True
    container, stream = open_video(source)
    with container, av.open(io.BytesIO(), mode="w", format="matroska") as probe:
        return stream.codec_context.codec.canonical_name in probe.supported_codecs


def _copyable(index: FrameIndex, start: int, stop: int) -> bool:
    """Whether packets can be copied: keyframe at both ends, closed in decode order, and
    timestamps the decoder gives in rising order (an intra-only stream stamped out of order
    has decode times that go back, which no muxer takes)."""
    if not index.keyframe[start] or (stop < len(index) and not index.keyframe[stop]):
        return False
    order = index.decode_order[start:stop]
    closed = order.max() - order.min() + 1 == stop - start
    rising = bool((np.diff(index.tags[start:stop]) > 0).all())
    return bool(closed and rising and order.min() == index.decode_order[start])


def _write_clip(clip: Clip, index: FrameIndex, crf: int) -> None:
    try:
        with atomic_path(clip.path) as temporary:
            if clip.method == "copy":
                _copy_packets(clip, index, temporary)
            else:
                _reencode(clip, index, temporary, crf)
            try:
                written = len(build_index(temporary))
            except MediaError as error:  # it names the temporary file, gone by now
                raise MediaWriteError(clip.path, f"cannot be read back ({error.detail})") from error
            if written != clip.frame_count:
                raise MediaWriteError(
                    clip.path, f"has {written} frames, expected {clip.frame_count}"
                )
    except (av.error.FFmpegError, OSError) as error:
        raise MediaWriteError(clip.path, f"writing the clip failed ({error})") from error


def _copy_packets(clip: Clip, index: FrameIndex, target: Path) -> None:
    frame_of_tag = {int(t): i for i, t in enumerate(index.tags.tolist())}
    container, stream = open_video(clip.source)
    with container, av.open(str(target), mode="w") as output:
        out_stream = output.add_stream_from_template(stream)
        # from the keyframe before its own, where MPEG-TS seeks land on its own
        container.seek(index.seek_tag(clip.first_frame, back=1), stream=stream, backward=True)
        offset: int | None = None
        remaining = clip.frame_count
        for packet in container.demux(stream):
            tag = packet.pts if packet.pts is not None else packet.dts
            if tag is None or not packet.size:
                continue
            frame = frame_of_tag.get(tag)
            if frame is None or not clip.first_frame <= frame <= clip.last_frame:
                continue
            if offset is None:
                offset = packet.dts if packet.dts is not None else tag
            _shift(packet, offset)
            packet.stream = out_stream
            output.mux(packet)
            remaining -= 1
            if remaining == 0:
                break


def _shift(packet: Any, offset: int) -> None:
    if packet.pts is not None:
        packet.pts -= offset
    if packet.dts is not None:
        packet.dts -= offset


def _reencode(clip: Clip, index: FrameIndex, target: Path, crf: int) -> None:
    with VideoReader(clip.source, index=index, cache_mb=0, autorotate=False) as reader:
        frames = reader.read_av_frames(range(clip.first_frame, clip.last_frame + 1))
        with av.open(str(target), mode="w") as output:
            stream: Any = None
            previous = None
            scaled: set[tuple[int, int]] = set()
            got, decoded = next(frames, (None, None))
            for n in range(clip.first_frame, clip.last_frame + 1):
                frame = previous  # the reader skips an undecodable frame: it repeats the last
                if got == n:
                    frame = decoded
                    got, decoded = next(frames, (None, None))
                if frame is None:
                    raise MediaWriteError(clip.path, f"frame {n} of the source cannot be decoded")
                previous = frame
                stream = stream or _encoder(output, frame, index.time_base, crf, clip.path)
                size = (frame.width, frame.height)
                if size != (stream.width, stream.height) and size not in scaled:
                    scaled.add(size)  # a clip has one size: said once per size met
                    log.warning(
                        "%s, frame %d: %dx%d, scaled to %dx%d in %s (the video changes size "
                        "inside the clip)",
                        clip.source,
                        n,
                        *size,
                        stream.width,
                        stream.height,
                        clip.path.name,
                    )
                picture = for_stream(frame, stream)
                picture.pts = int(index.pts[n]) - clip.first_pts
                output.mux(stream.encode(picture))
            output.mux(stream.encode(None))


def _encoder(output: Any, frame: Any, time_base: Fraction, crf: int, path: Path) -> Any:
    avi = path.suffix.lower() == ".avi"  # AVI cannot carry B-frames' reordering
    return add_h264_stream(
        output,
        width=frame.width,
        height=frame.height,
        time_base=time_base,
        settings=H264(crf=crf, bframes=0 if avi else None),
        rotation=frame.rotation,
    )
