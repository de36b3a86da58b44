"""Serving frames: exactly frame *n* as an image, and encoded chunks for the browser.

The server's frame endpoints call these. ``FrameServer`` keeps a few readers open (one per
video, least recently used first out), so a run of requests around the playhead decodes forward
from where the last one stopped instead of seeking afresh; each reader has its own lock, since a
decoder is not thread-safe. Images come from the annotation proxy where there is one (fast random
access, the same frames), else from the source. An ``ETag`` names the exact bytes: the video's
identity (path, size, modification time), the frame and the encoding; the last encoded images
are kept by their ``ETag`` (``IMAGE_CACHE_BYTES`` in all), so frames asked for again, by another
annotator of the video or by one stepping back and forth, are not decoded and encoded again.
Chunks are read from a container kept open per video too (opening one probes its streams, which
costs more than reading a chunk's packets), with its codec configuration.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from tweenlab.errors import NotFoundError, UsageError
from tweenlab.media import DerivedFiles, FrameIndex, VideoReader
from tweenlab.media.chunks import ChunkReader, CodecConfig, EncodedFrame, codec_config
from tweenlab.settings import Settings

__all__ = ["FrameImage", "FrameServer"]

_FORMATS = {"jpeg": ("JPEG", "image/jpeg"), "webp": ("WEBP", "image/webp")}
IMAGE_CACHE_BYTES = 64 * 2**20


@dataclass(frozen=True)
class FrameImage:
    """An encoded frame: ``data`` as ``media_type``, and its ``etag``."""

    data: bytes
    media_type: str
    etag: str


class _Open:
    def __init__(self, reader: VideoReader) -> None:
        self.reader, self.lock = reader, threading.Lock()


class _OpenChunks:
    def __init__(self, reader: ChunkReader) -> None:
        self.reader, self.lock = reader, threading.Lock()
        self.config: CodecConfig | None = None


class FrameServer:
    """Frames and chunks of the videos under ``settings``'s derived files.

    Example:
        >>> frames = FrameServer(Settings())  # doctest: +SKIP
        >>> image = frames.image(Path("clip.mp4"), 120, image_format="webp", max_side=640)
        ...  # doctest: +SKIP
    """

    def __init__(self, settings: Settings, *, readers: int = 8) -> None:
        self.derived = DerivedFiles(settings.derived_dir)
        self.cache_mb = settings.frame_cache_mb
        self._readers: OrderedDict[tuple[Path, int, int], _Open] = OrderedDict()
        self._chunks: OrderedDict[tuple[Path, int, int, int], _OpenChunks] = OrderedDict()
        self._limit = readers
        self._lock = threading.Lock()
        self._images: OrderedDict[str, FrameImage] = OrderedDict()
        self._image_bytes = 0

    def image(
        self,
        video: Path,
        frame: int,
        *,
        image_format: str = "jpeg",
        quality: int = 85,
        max_side: int | None = None,
    ) -> FrameImage:
        """Frame ``frame`` of ``video`` encoded as ``image_format`` (jpeg or webp).

        Raises:
            UsageError: An unknown format or a quality outside 1..100.
            FrameOutOfRangeError: No such frame.
        """
        if image_format not in _FORMATS:
            raise UsageError(f"format {image_format!r}: use one of {sorted(_FORMATS)}")
        if not 1 <= quality <= 100:
            raise UsageError(f"quality {quality}: must be within 1..100")
        if max_side is not None and max_side < 16:
            raise UsageError(f"max_side {max_side}: must be at least 16")
        tag = self.etag(video, frame, image_format=image_format, quality=quality, max_side=max_side)
        with self._lock:
            cached = self._images.get(tag)
            if cached is not None:
                self._images.move_to_end(tag)
                return cached
        opened = self._open(video)
        with opened.lock:
            rgb = opened.reader[frame]
        image = Image.fromarray(rgb)
        if max_side is not None and max(image.size) > max_side:
            scale = max_side / max(image.size)
            size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            image = image.resize(size, Image.Resampling.BILINEAR)
        name, media_type = _FORMATS[image_format]
        buffer = io.BytesIO()
        image.save(buffer, format=name, quality=quality)
        encoded = FrameImage(buffer.getvalue(), media_type, tag)
        self._keep(encoded)
        return encoded

    def etag(
        self,
        video: Path,
        frame: int,
        *,
        image_format: str = "jpeg",
        quality: int = 85,
        max_side: int | None = None,
    ) -> str:
        """The ``ETag`` ``image`` gives these arguments, without decoding (for 304 answers)."""
        return _etag(self._identity(video) + f"/{frame}/{image_format}/{quality}/{max_side}")

    def chunk_source(self, video: Path) -> tuple[Path, FrameIndex]:
        """The file whose packets go to the browser: the proxy, or the source itself when it is
        H.264 without B-frames (``codec`` raises ``UsageError`` naming ``tweenlab ingest``
        otherwise)."""
        opened = self._open_chunks(video)
        return opened.reader.video, opened.reader.index

    def codec(self, video: Path) -> CodecConfig:
        """The WebCodecs decoder configuration and chunk layout for ``video``."""
        opened = self._open_chunks(video)
        if opened.config is None:
            opened.config = codec_config(opened.reader.video, opened.reader.index)
        return opened.config

    def chunk(self, video: Path, chunk: int) -> list[EncodedFrame]:
        """The encoded frames of chunk ``chunk`` (a GOP) of ``video``'s served file."""
        opened = self._open_chunks(video)
        with opened.lock:
            return opened.reader.read(chunk)

    def close(self) -> None:
        """Close every open reader."""
        with self._lock:
            for opened in self._readers.values():
                opened.reader.close()
            self._readers.clear()
            for chunks in self._chunks.values():
                chunks.reader.close()
            self._chunks.clear()
            self._images.clear()
            self._image_bytes = 0

    def _keep(self, image: FrameImage) -> None:
        with self._lock:
            if image.etag in self._images:
                return
            self._images[image.etag] = image
            self._image_bytes += len(image.data)
            while self._image_bytes > IMAGE_CACHE_BYTES:
                _, oldest = self._images.popitem(last=False)
                self._image_bytes -= len(oldest.data)

    def _open(self, video: Path) -> _Open:
        stat = _stat(video)
        key = (video.resolve(), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            opened = self._readers.get(key)
            if opened is not None:
                self._readers.move_to_end(key)
                return opened
            index = self.derived.index(video)
            proxy_index = self.derived.proxy_index(video)
            proxy = self.derived.proxy_path(video) if proxy_index is not None else None
            reader = VideoReader(
                video, index=index, proxy=proxy, proxy_index=proxy_index, cache_mb=self.cache_mb
            )
            opened = self._readers[key] = _Open(reader)
            while len(self._readers) > self._limit:
                _, oldest = self._readers.popitem(last=False)
                with oldest.lock:
                    oldest.reader.close()
            return opened

    def _open_chunks(self, video: Path) -> _OpenChunks:
        """The served file's chunk reader, kept open (opening probes: about 25 ms at 1080p). A
        proxy written since (ingest finishing) is a new key: the reader moves to it."""
        stat = _stat(video)
        proxy = self.derived.proxy_path(video)
        made = proxy.stat().st_mtime_ns if proxy.exists() else 0
        key = (video.resolve(), stat.st_size, stat.st_mtime_ns, made)
        with self._lock:
            opened = self._chunks.get(key)
            if opened is not None:
                self._chunks.move_to_end(key)
                return opened
            proxy_index = self.derived.proxy_index(video)
            if proxy_index is not None:
                served, index = self.derived.proxy_path(video), proxy_index
            else:
                served, index = video, self.derived.index(video)
            opened = self._chunks[key] = _OpenChunks(ChunkReader(served, index))
            while len(self._chunks) > self._limit:
                _, oldest = self._chunks.popitem(last=False)
                with oldest.lock:
                    oldest.reader.close()
            return opened

    def _identity(self, video: Path) -> str:
        """The file (device and inode: the same through any path to it, and without resolving
        the path, which costs a system call per directory) and its state."""
        stat = _stat(video)
        return f"{stat.st_dev}:{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}"


def _stat(video: Path) -> os.stat_result:
    """``video``'s state; ``NotFoundError`` (404) naming its file where the file is gone (a
    registered video deleted behind the server's back), not an internal error."""
    try:
        return video.stat()
    except FileNotFoundError:
        raise NotFoundError(f"{video.name}: no such file (the video's file is gone)") from None


def _etag(text: str) -> str:
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'
