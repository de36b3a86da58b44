"""``VideoReader``: exactly frame *n*, in any order, fast when requests are near each other.

Seeking goes to the keyframe at or before *n* (from the frame index) and decodes forward; the
decoder stays warm, so a request a little ahead continues decoding instead of seeking again.
Decoded frames are kept, still in the decoder's own pixel format, in a bounded LRU, so stepping
backwards in an editor costs one conversion, not a seek. A packet that cannot be decoded is
reported (``errors``) and skipped; asking for that frame raises ``CorruptFrameError``.
"""

from __future__ import annotations

import importlib
import logging
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from tweenlab.errors import CorruptFrameError, MediaError
from tweenlab.media._container import open_video
from tweenlab.media.index import FrameIndex, build_index

__all__ = ["Frame", "VideoReader", "frame_rgb"]

log = logging.getLogger(__name__)

RGB = npt.NDArray[np.uint8]
_MAX_SEEK_RETRIES = 3


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded frame with its identity.

    Attributes:
        index: Its position in presentation order (frame *n*).
        pts: Presentation timestamp in the video's time base.
        seconds: Presentation time from the first frame.
        image: RGB pixels, ``(H, W, 3)`` uint8.
    """

    index: int
    pts: int
    seconds: Fraction
    image: RGB


class VideoReader:
    """Frame-exact reading of one video.

    Args:
        path: The video (the reference: errors name it).
        index: Its frame index; built by demuxing when not given.
        proxy: An annotation proxy of the same video (same frame count and order) to decode
            from instead of ``path``, for fast random access.
        proxy_index: The proxy's own frame index; built by demuxing when not given.
        size: ``(width, height)`` to scale frames to while converting (in C, by swscale).
        autorotate: Apply the display rotation, so frames look as players show them.
        cache_mb: Memory for decoded frames kept for re-reading (0 disables the cache).
        threads: Decoder threads (0 lets FFmpeg choose).
        fast: For analysis of small frames, never for frames a person sees or exports: skip
            the decoder's in-loop deblocking filter (H.264, HEVC; about a quarter less
            decoding time for slightly blockier frames, which scaling down averages away) and
            scale 4:2:0 frames by averaging each plane with OpenCV (``INTER_AREA``) before a
            BT.601 colour conversion at the small size, several times cheaper than swscale's
            filter for a large reduction (1080p to 192x108).

    Example:
        >>> with VideoReader(Path("clip.mp4")) as reader:  # doctest: +SKIP
        ...     last, first = reader[-1], reader[0]
        ...     for frame in reader.read_range(100, 200, step=10):
        ...         print(frame.index, frame.image.shape)
    """

    def __init__(
        self,
        path: Path,
        *,
        index: FrameIndex | None = None,
        proxy: Path | None = None,
        proxy_index: FrameIndex | None = None,
        size: tuple[int, int] | None = None,
        autorotate: bool = True,
        cache_mb: int = 256,
        threads: int = 0,
        fast: bool = False,
    ) -> None:
        self.path = Path(path)
        self.index = index if index is not None else build_index(self.path)
        self.source = Path(proxy) if proxy is not None else self.path
        if proxy is None:
            self._decode_index = self.index
        else:
            self._decode_index = (
                proxy_index if proxy_index is not None else build_index(self.source)
            )
        if len(self._decode_index) != len(self.index):
            raise MediaError(
                self.source,
                f"proxy has {len(self._decode_index)} frames, the source {len(self.index)}",
            )
        self.size = size
        self.fast = fast
        self.errors: list[CorruptFrameError] = []
        #: packets the decoder refused, by the frame their timestamp names; reported only if that
        #: frame then never comes (a threaded decoder answers a packet late, so the refusal can
        #: name a frame that decodes while another is the one lost)
        self._refused: dict[int, CorruptFrameError] = {}
        self._container, self._stream = open_video(self.source)
        self._stream.codec_context.thread_type = "AUTO"
        self._stream.codec_context.thread_count = threads
        if fast:
            self._stream.codec_context.options = {"skip_loop_filter": "all"}
        self._frame_of_pts: dict[int, int] = {}  # a repeated timestamp: its first frame
        for i, tag in enumerate(self._decode_index.tags.tolist()):
            self._frame_of_pts.setdefault(int(tag), i)
        self._decoder: Iterator[tuple[int, Any]] | None = None
        self._pending: tuple[int, Any] | None = None
        self._last = -1
        self._late = 0  # keyframes further back to seek (1 once a seek has landed late)
        self._rotation = 0
        self._autorotate = autorotate
        self._cache: OrderedDict[int, Any] = OrderedDict()
        self._cache_bytes = cache_mb * 1024 * 1024
        self._cache_limit = 0

    # -- the sequence protocol -------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, frame: int) -> RGB:
        """Exactly frame ``frame`` (negative counts from the end), as RGB uint8."""
        return self._to_rgb(self._get(self.index.check(frame), keep=True))

    def __iter__(self) -> Iterator[Frame]:
        return self.read_range(0, len(self))

    def read_range(self, start: int = 0, stop: int | None = None, step: int = 1) -> Iterator[Frame]:
        """Frames ``start, start + step, ...`` before ``stop``, decoded in one forward pass.

        Undecodable frames are skipped (and listed in ``errors``), so check ``Frame.index``.
        """
        stop = len(self) if stop is None else min(stop, len(self))
        return self.read_frames(range(start, stop, step))

    def read_frames(self, frames: Iterable[int]) -> Iterator[Frame]:
        """The given frames, ascending, each reached by decoding on or by seeking (the cheaper)."""
        for n, decoded in self.read_av_frames(frames):
            yield Frame(n, int(self.index.pts[n]), self.index.seconds(n), self._to_rgb(decoded))

    def read_av_frames(self, frames: Iterable[int]) -> Iterator[tuple[int, Any]]:
        """Like ``read_frames`` but yields PyAV frames (for re-encoding without conversion)."""
        for n in sorted({self.index.check(f) for f in frames}):
            try:
                yield n, self._get(n, keep=False)
            except CorruptFrameError as problem:
                self._record(problem)

    # -- resources ---------------------------------------------------------------------------

    def close(self) -> None:
        """Release the decoder and the file."""
        self._decoder = None
        self._cache.clear()
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- decoding ----------------------------------------------------------------------------

    def _get(self, n: int, *, keep: bool) -> Any:
        cached = self._cache.get(n)
        if cached is not None:
            self._cache.move_to_end(n)
            return cached
        if not self._can_continue_to(n):
            self._seek_to(n, back=self._late)
        for attempt in range(self._late, _MAX_SEEK_RETRIES + 1):
            found, overshot = self._decode_until(n, keep=keep)
            if found is not None:
                if attempt and not self._late:  # this container's seeks land late: start
                    self._late = 1  # one keyframe back from now on (MPEG-TS)
                return found
            if not overshot:
                break
            self._seek_to(n, back=attempt + 1)
        raise self._corrupt(n)

    def _can_continue_to(self, n: int) -> bool:
        if self._decoder is None or self._last >= n:
            return False
        return self._decode_index.keyframe_at_or_before(n) <= self._last + 1

    def _seek_to(self, n: int, *, back: int = 0) -> None:
        # past the retries, from the stream's start (where frame 0 is sought)
        target = self._decode_index.seek_tag(n if back < _MAX_SEEK_RETRIES else 0, back)
        self._container.seek(target, stream=self._stream, backward=True, any_frame=False)
        self._decoder = self._decode()
        self._pending = None
        self._last = -1

    def _decode_until(self, n: int, *, keep: bool) -> tuple[Any | None, bool]:
        """Decode forward to frame ``n``: ``(frame, False)``, or ``(None, overshot_a_seek)``.

        A frame past ``n`` ends the search: right after a seek it means the seek landed too
        late; otherwise frame ``n`` could not be decoded, and the frame found is kept for the
        next request so that the warm decoder carries on.
        """
        just_seeked = self._last < 0
        for index, frame in self._frames():
            if index > n:
                if just_seeked:
                    return None, True
                self._pending = (index, frame)
                return None, False
            just_seeked = False
            self._last = index
            if index == n:
                if keep:
                    self._remember(n, frame)
                return frame, False
            if keep:
                self._remember(index, frame)
        self._decoder = None
        return None, just_seeked  # nothing after a seek: it landed past the end (MPEG-TS)

    def _frames(self) -> Iterator[tuple[int, Any]]:
        """The pending frame, then the decoder's; leaving early keeps the decoder open.

        (``yield from`` would close the decoder when this generator is abandoned.)
        """
        if self._pending is not None:
            pending, self._pending = self._pending, None
            yield pending
        while self._decoder is not None and (item := next(self._decoder, None)) is not None:
            yield item

    def _decode(self) -> Iterator[tuple[int, Any]]:
        tags, shown = self._decode_index.tags, -1
        for packet in self._container.demux(self._stream):
            try:
                frames = packet.decode()
            except av.error.FFmpegError as error:
                self._report(packet, error)
                continue
            for frame in frames:
                pts = frame.pts if frame.pts is not None else frame.dts
                index = self._frame_of_pts.get(int(pts)) if pts is not None else None
                if index is None:
                    continue
                self._refused.pop(index, None)  # it came: the refusal was another frame's
                while index <= shown and index + 1 < len(tags) and tags[index + 1] == tags[index]:
                    index += 1  # a timestamp a muxer repeated: the next frame that bears it
                shown = max(shown, index)
                if frame.is_corrupt:
                    self._record(
                        CorruptFrameError(
                            self.path, "decoded with errors (damaged parts concealed)", frame=index
                        )
                    )
                yield index, frame

    def _report(self, packet: Any, error: Exception) -> None:
        pts = packet.pts if packet.pts is not None else packet.dts
        index = self._frame_of_pts.get(int(pts)) if pts is not None else None
        problem = CorruptFrameError(self.path, f"cannot be decoded ({error}); skipped", frame=index)
        if index is None:
            self._record(problem)
        else:
            self._refused[index] = problem

    def _record(self, problem: CorruptFrameError) -> None:
        """Keep ``problem`` once per frame (a packet the decoder refused, then the frame found
        missing, is one frame lost), the list in frame order (packets come in decode order)."""
        if any(
            e.frame == problem.frame if problem.frame is not None else str(e) == str(problem)
            for e in self.errors
        ):
            return
        self.errors.append(problem)
        self.errors.sort(key=lambda e: -1 if e.frame is None else e.frame)
        log.warning("%s", problem)

    def _corrupt(self, n: int) -> CorruptFrameError:
        return self._refused.pop(n, None) or CorruptFrameError(
            self.path, "cannot be decoded", frame=n
        )

    def _remember(self, n: int, frame: Any) -> None:
        if self._cache_bytes <= 0:
            return
        if not self._cache_limit:
            self._cache_limit = max(2, self._cache_bytes // max(_frame_bytes(frame), 1))
            self._rotation = round(float(frame.rotation)) % 360 if self._autorotate else 0
        self._cache[n] = frame
        self._cache.move_to_end(n)
        while len(self._cache) > self._cache_limit:
            self._cache.popitem(last=False)

    def _to_rgb(self, frame: Any) -> RGB:
        return frame_rgb(frame, self.size, fast=self.fast, autorotate=self._autorotate)


def frame_rgb(
    frame: Any, size: tuple[int, int] | None, *, fast: bool = False, autorotate: bool = True
) -> RGB:
    """A decoded ``av.VideoFrame`` as RGB, scaled to ``size`` and turned upright as a
    ``VideoReader`` with those options gives it (so another pass over the frames, the proxy's,
    can feed an analysis the same pixels)."""
    if size is None:
        image = frame.to_ndarray(format="rgb24")
    else:
        width, height = size
        if autorotate and round(float(frame.rotation)) % 360 in (90, 270):
            width, height = height, width
        if fast and _planes_scalable(frame, width, height):
            image = _area_rgb(frame, width, height)
        else:
            image = frame.to_ndarray(format="rgb24", width=width, height=height)
    rotation = round(float(frame.rotation)) % 360 if autorotate else 0
    if rotation:
        image = np.ascontiguousarray(np.rot90(image, k=rotation // 90))
    return image  # type: ignore[no-any-return]


def _planes_scalable(frame: Any, width: int, height: int) -> bool:
    """Whether ``_area_rgb`` can scale ``frame`` to ``width`` x ``height`` (4:2:0, sizes / 4)."""
    sizes = (frame.width, frame.height, width, height)
    return bool(
        frame.format.name == "yuv420p"
        and all(v % 4 == 0 for v in sizes)
        and width < frame.width
        and height < frame.height
    )


def _area_rgb(frame: Any, width: int, height: int) -> RGB:
    """A 4:2:0 frame as RGB at ``width`` x ``height``: each plane averaged down, then converted."""
    cv2 = importlib.import_module("cv2")
    planes = frame.to_ndarray()  # (height * 3 / 2, width): Y, then U and V each packed in rows
    full_w, full_h = frame.width, frame.height
    quarter = full_h // 4
    luma = cv2.resize(planes[:full_h], (width, height), interpolation=cv2.INTER_AREA)
    chroma = [
        cv2.resize(
            planes[start : start + quarter].reshape(full_h // 2, full_w // 2),
            (width // 2, height // 2),
            interpolation=cv2.INTER_AREA,
        ).reshape(height // 4, width)
        for start in (full_h, full_h + quarter)
    ]
    small = np.concatenate([luma, *chroma])
    return np.asarray(cv2.cvtColor(small, cv2.COLOR_YUV2RGB_I420), np.uint8)


def _frame_bytes(frame: Any) -> int:
    return int(sum(plane.buffer_size for plane in frame.planes))
