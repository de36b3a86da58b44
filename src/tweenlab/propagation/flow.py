"""Dense optical flow between consecutive frames, computed once per video and cached.

Estimators are registered by name in the ``flow_estimators`` registry (``seeded``, the default:
``dis`` with a second candidate for large motion, seeded by tracked corners, from the synthesis
package's ``_seeds``; ``dis``; ``farneback``); each maps two grey frames to a ``(H, W, 2)`` float32
flow in pixels. The cache keeps forward (n -> n+1) and backward (n+1 -> n) flow of every pair at a
reduced size as one float16 ``.npy`` file per pair (memory-mapped when read: a fill touches only
the pages its boxes' samples fall on), and each frame in grey at that size (``grey-n.npy``, an
eighth of a pair: small objects are checked by matching pixels), among the video's derived files,
computed lazily for the spans that need them, so every track, every re-run and frame synthesis
reuse them. Two pairs are estimated at once, in worker threads, while the next frames decode
(the built-in estimators; a plugin's estimator runs one pair at a time). The cache is bounded:
past ``budget_mb`` on disk the least recently used pairs are deleted (a pair read or written
counts as used), and computed again if a later span needs them.

Several processes may fill one cache at once (the parts of a flow job on a cluster, over shared
storage): every file is written under a temporary name and renamed, so a reader never sees half
a pair and two writers of one pair leave one whole file; the budget is kept from what the folder
holds (sizes and modification times read at each eviction), not from what one process wrote,
and a file another process deleted in the meantime is simply skipped (a pair or grey frame
evicted just before it is read is computed again). Two processes evicting at
once may free a little more than needed, never less; what one process computes may be evicted
by another when the cache is too small for both spans.
"""

from __future__ import annotations

import collections
import importlib
import io
import mmap
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tweenlab.errors import UsageError
from tweenlab.media import FrameIndex, VideoReader
from tweenlab.media._files import write_atomic
from tweenlab.plugins import BUILTINS, registry


def _cv2() -> Any:
    """OpenCV, imported on first use (so ``tweenlab --help`` and the server start without it);
    untyped, since its stubs type every array as UMat."""
    return importlib.import_module("cv2")


__all__ = ["DEFAULT_METHOD", "FlowCache", "FlowEstimator", "FlowPair", "dis_flow", "farneback_flow"]

DEFAULT_METHOD = "seeded"  # the flow_estimators name a cache uses unless told (Settings' too)

_OPEN_PAIRS = 512  # memory maps kept open (cheap: the OS page cache holds the data)
_LAZY_SPAN = 32  # pairs computed at once when a missing one is read (the budget allowing)
_TRIES = 3  # computings of a pair other processes keep evicting before it is kept in memory
_WORKERS = 2  # threads estimating pairs at once (the machines this is built for have 2 cores)
#: Estimators that may run in several threads at once: tweenlab's own (each call makes its own
#: OpenCV objects); any other, a plugin's, is run in one worker thread, one pair at a time.
_THREAD_SAFE = frozenset(BUILTINS["flow_estimators"])
_NPY_V1 = b"\x93NUMPY\x01\x00"
_HEADER_READ = 256  # np.save pads a header to 64 bytes: ours take 128
#: A temporary file this old was left by a writer that died (a killed worker): no live write
#: of one pair lasts an hour.
_STALE_TEMPORARY_S = 3600
# the smallest frames followed, at the flow's size: DIS needs 12 px on one side; a side under
# 8 px would have to be stretched, and one scale no longer maps both axes
MIN_FLOW_SIDE, MIN_FLOW_LONGER = 8, 12


class _Workers(ThreadPoolExecutor):
    """A thread pool that, when left early (a report raised to stop), drops the pairs not yet
    started instead of estimating them for nothing."""

    def __exit__(self, *exc: object) -> None:
        self.shutdown(wait=True, cancel_futures=True)


Gray = npt.NDArray[np.uint8]
Flow = npt.NDArray[np.float32]
FlowEstimator = Callable[[Gray, Gray], Flow]


def dis_flow(previous: Gray, following: Gray) -> Flow:
    """OpenCV's DIS optical flow (medium preset): fast and good on real footage."""
    cv2 = _cv2()
    estimator = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return np.asarray(estimator.calc(previous, following, None), dtype=np.float32)


def farneback_flow(previous: Gray, following: Gray) -> Flow:
    """OpenCV's Farneback flow: smoother, slower, weaker on fast motion."""
    flow = _cv2().calcOpticalFlowFarneback(previous, following, None, 0.5, 4, 21, 3, 5, 1.1, 0)
    return np.asarray(flow, dtype=np.float32)


Layout = tuple[tuple[int, ...], np.dtype[Any], int]  # shape, dtype, data offset


def _mapped(path: Path, layouts: dict[bytes, Layout]) -> npt.NDArray[Any]:
    """A ``.npy`` file memory-mapped read-only, as a plain array (slicing stays cheap).

    Every file of a cache has one of a few headers: each is parsed once (``layouts``, keyed by
    the header's bytes), so opening a pair costs a read of its header and a map, a fifth of
    ``np.load(mmap_mode="r")``'s header parsing and ``np.memmap`` set-up."""
    with open(path, "rb") as file:
        head = file.read(_HEADER_READ)
        if head[:8] != _NPY_V1 or len(head) < 10:
            return np.asarray(np.load(path, mmap_mode="r"))  # another version: numpy's way
        header = head[: 10 + int.from_bytes(head[8:10], "little")]
        layout = layouts.get(header)
        if layout is None:
            reading = io.BytesIO(header)
            np.lib.format.read_magic(reading)
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(reading)
            if fortran:
                return np.asarray(np.load(path, mmap_mode="r"))
            layout = layouts[header] = (shape, dtype, len(header))
        mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    shape, dtype, offset = layout
    count = int(np.prod(shape))
    return np.frombuffer(mapped, dtype=dtype, count=count, offset=offset).reshape(shape)


def _grey(image: npt.NDArray[np.uint8]) -> Gray:
    cv2 = _cv2()
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), dtype=np.uint8)


@dataclass(frozen=True)
class FlowPair:
    """Flow between frames ``n`` and ``n + 1`` at the cache's size, in the cache's pixels.

    The arrays are float16 views of a memory-mapped file: slicing a box's region reads only
    that region from disk.
    """

    forward: npt.NDArray[np.float16]
    backward: npt.NDArray[np.float16]


class FlowCache:
    """Forward and backward flow of a video's consecutive frames, computed once, kept on disk.

    Args:
        video: The video.
        index: Its frame index.
        folder: Where to keep the flow files (the video's derived folder).
        max_side: Frames are scaled so their longer side is at most this many pixels.
        method: A name in the ``flow_estimators`` registry.
        proxy: The video's annotation proxy, decoded instead of the video where it exists.
        budget_mb: Disk the cache may use; the least recently used pairs go past it.

    Raises:
        UsageError: Frames too small to follow motion in at the flow's size (under
            ``MIN_FLOW_SIDE`` px on a side or ``MIN_FLOW_LONGER`` on the longer).

    Example:
        >>> cache = FlowCache(Path("clip.mp4"), index, Path("derived/clip"))  # doctest: +SKIP
        >>> pair = cache.pair(10)         # flow 10 -> 11 and 11 -> 10
        >>> cache.scale                   # cache pixels per video pixel
        0.5
    """

    def __init__(
        self,
        video: Path,
        index: FrameIndex,
        folder: Path,
        *,
        max_side: int = 1280,
        method: str = DEFAULT_METHOD,
        proxy: Path | None = None,
        budget_mb: float = 8192,
    ) -> None:
        self.video, self.index, self.method, self.proxy = video, index, method, proxy
        self.budget = int(budget_mb * 2**20)
        self._estimator: Any = registry("flow_estimators").get(method)
        with VideoReader(video, index=index, proxy=proxy, cache_mb=0) as reader:
            height, width = reader[0].shape[:2]
        self.scale = min(1.0, max_side / max(width, height))
        self.size = (round(width * self.scale), round(height * self.scale))
        if min(self.size) < MIN_FLOW_SIDE or max(self.size) < MIN_FLOW_LONGER:
            raise UsageError(
                f"{video}: frames of {width}x{height} are too small to follow motion in (the "
                f"flow, at {self.size[0]}x{self.size[1]}, needs {MIN_FLOW_SIDE} px or more on "
                f"each side and {MIN_FLOW_LONGER} on the longer)"
            )
        self.folder = Path(folder) / f"flow-{method}-{self.size[0]}x{self.size[1]}"
        self.video_size = (width, height)
        self._open: dict[int, FlowPair] = {}
        self._layouts: dict[bytes, Layout] = {}

    def __len__(self) -> int:
        return len(self.index)

    @property
    def budget_pairs(self) -> int:
        """How many frame pairs the budget holds: each is two float16 fields (forward and
        back) and a grey frame at the cache's size, 9 bytes a pixel."""
        return max(1, self.budget // (9 * int(self.size[0]) * int(self.size[1])))

    def pair(self, n: int) -> FlowPair:
        """Flow from ``n`` to ``n + 1`` and back, computing the span around it when missing.

        The span computed is at most what the budget holds (so a fill keeps the cache within
        it). A pair another process evicts between its computing and its reading is computed
        again; should that keep happening (a cache too small for the processes sharing it), the
        pair is computed here and returned without being kept. A pair that cannot be marked as
        used (a read-only cache, another user's files) is still read.

        Raises:
            IndexError: ``n`` is not a pair of the video (``0 .. len(self) - 2``).
        """
        opened = self._open.get(n)
        if opened is not None:
            return opened
        if not 0 <= n < len(self.index) - 1:
            raise IndexError(f"no frame pair {n} in a video of {len(self.index)} frames")
        path = self._path(n)
        both: npt.NDArray[Any] | None = None
        for _ in range(_TRIES):
            try:
                os.utime(path)  # used now: the last to be evicted
            except FileNotFoundError:  # never computed, or evicted (maybe by another process)
                span = min(_LAZY_SPAN, self.budget_pairs)
                self.compute(n, min(n + span, len(self.index) - 1))
            except OSError:  # readable but not ours to touch: not marked used
                pass
            try:
                both = _mapped(path, self._layouts)
                break
            except FileNotFoundError:  # evicted by another process since
                continue
        if both is None:
            both = self._flow_of(n)
        pair = FlowPair(both[0], both[1])
        if len(self._open) >= _OPEN_PAIRS:
            self._open.pop(next(iter(self._open)))
        self._open[n] = pair
        return pair

    def compute(
        self, first: int, last: int, *, report: Callable[[int, int], None] | None = None
    ) -> int:
        """Make sure the flow of every pair in ``first .. last`` is on disk (one decoding pass);
        returns how many pairs were missing (computed now).

        ``report(done, total)`` is called once the pairs already on disk are counted and after
        each pair stored (``total`` is ``last - first``); it may raise to stop between two
        pairs, leaving every pair stored so far whole."""
        missing = [n for n in range(first, last) if not self._path(n).exists()]
        done = max(0, last - first) - len(missing)
        if report is not None:
            report(done, max(0, last - first))
        if not missing:
            return 0
        # pairs are estimated in worker threads while the next frames decode, and stored in
        # order as they finish; OpenCV releases the GIL, and the seeded estimator's Python half
        # overlaps the other pair's OpenCV half
        workers = _WORKERS if self.method in _THREAD_SAFE else 1
        pending: collections.deque[tuple[int, Gray, Gray, Future[Any]]] = collections.deque()
        with (
            VideoReader(
                self.video, index=self.index, proxy=self.proxy, size=self.size, cache_mb=0
            ) as reader,
            _Workers(workers) as pool,
        ):

            def store_finished(waiting: int) -> None:
                nonlocal done
                while len(pending) > waiting:
                    n, previous_grey, grey, estimated = pending.popleft()
                    self._store(n, previous_grey, grey, estimated.result())
                    done += 1
                    if report is not None:
                        report(done, last - first)

            previous: tuple[int, Gray] | None = None
            for frame in reader.read_range(missing[0], missing[-1] + 2):
                grey = _grey(frame.image)
                if (
                    previous is not None
                    and previous[0] + 1 == frame.index
                    and (previous[0] in missing)
                ):
                    estimated = pool.submit(self._both, previous[1], grey)
                    pending.append((previous[0], previous[1], grey, estimated))
                    store_finished(workers)
                previous = (frame.index, grey)
            store_finished(0)
        keep = {self._path(n).name for n in range(first, last)}
        self._evict(keep | {self._grey_path(n).name for n in range(first, last + 1)})
        return len(missing)

    def cached(self, first: int, last: int) -> bool:
        """Whether the flow of every pair ``first .. last - 1`` and the grey frames ``first ..
        last`` are on disk: a fill of those frames decodes nothing."""
        return all((self.folder / name).exists() for name in self.file_names(first, last))

    def file_names(self, first: int, last: int) -> list[str]:
        """The names, in ``folder``, of the files ``compute(first, last)`` keeps: the flow of
        pairs ``first .. last - 1`` and the grey frames ``first .. last`` (for copying a cache's
        span elsewhere and back, as a job's parts on an object store do)."""
        pairs = [self._path(n).name for n in range(first, last)]
        return pairs + [self._grey_path(n).name for n in range(first, last + 1)]

    def greys(self, first: int, last: int) -> dict[int, Gray]:
        """Frames ``first .. last`` in grey at the cache's size (for checking the motion of
        small objects by matching their pixels): kept beside the flow when it was computed,
        decoded (and kept) in one pass otherwise."""
        found: dict[int, Gray] = {}
        for n in range(first, last + 1):
            try:
                found[n] = _mapped(self._grey_path(n), self._layouts)
            except FileNotFoundError:  # never kept, or evicted (maybe by another process)
                continue
        missing = [n for n in range(first, last + 1) if n not in found]
        if missing:
            with VideoReader(
                self.video, index=self.index, proxy=self.proxy, size=self.size, cache_mb=0
            ) as reader:
                for frame in reader.read_range(missing[0], missing[-1] + 1):
                    if frame.index not in found:
                        found[frame.index] = grey = _grey(frame.image)
                        self._store_grey(frame.index, grey)
            self._evict({self._grey_path(n).name for n in range(first, last + 1)})
        return found

    def frame(self, n: int) -> Gray:
        """Frame ``n`` in grey at the cache's size (for appearance checks)."""
        with VideoReader(
            self.video, index=self.index, proxy=self.proxy, size=self.size, cache_mb=0
        ) as reader:
            return _grey(reader[n])

    def _both(self, previous: Gray, following: Gray) -> npt.NDArray[np.float16]:
        """The forward and backward flow of two frames, stacked, as the cache keeps them."""
        forward = self._estimator(previous, following)
        backward = self._estimator(following, previous)
        return np.stack([forward, backward]).astype(np.float16)

    def _flow_of(self, n: int) -> npt.NDArray[np.float16]:
        """Pair ``n``'s flow computed here and not kept (what ``pair`` falls back on)."""
        with VideoReader(
            self.video, index=self.index, proxy=self.proxy, size=self.size, cache_mb=0
        ) as reader:
            return self._both(_grey(reader[n]), _grey(reader[n + 1]))

    def _store(
        self, n: int, previous: Gray, following: Gray, both: npt.NDArray[np.float16]
    ) -> None:
        buffer = io.BytesIO()
        np.save(buffer, both)
        write_atomic(self._path(n), buffer.getvalue())
        for frame, grey in ((n, previous), (n + 1, following)):
            if not self._grey_path(frame).exists():
                self._store_grey(frame, grey)

    def _store_grey(self, n: int, grey: Gray) -> None:
        buffer = io.BytesIO()
        np.save(buffer, grey)
        write_atomic(self._grey_path(n), buffer.getvalue())

    def _grey_path(self, n: int) -> Path:
        return self.folder / f"grey-{n:07d}.npy"

    def _evict(self, keep: set[str]) -> None:
        """Delete the least recently used pairs (not those in ``keep``) until the cache fits its
        budget, counted from the folder (other processes' files included), and temporaries a
        dead writer left. Pairs already memory-mapped stay readable: the OS keeps a deleted
        file's data until its last map closes."""
        files = []
        stale = time.time() - _STALE_TEMPORARY_S
        with os.scandir(self.folder) as entries:
            for entry in entries:
                if not entry.name.endswith(".npy"):
                    continue
                try:
                    stat = entry.stat()
                except FileNotFoundError:  # evicted or renamed by another process just now
                    continue
                if not entry.name.startswith("."):
                    files.append((stat.st_mtime_ns, entry.name, stat.st_size))
                elif stat.st_mtime < stale:
                    Path(entry.path).unlink(missing_ok=True)
        total = sum(size for _, _, size in files)
        for _, name, size in sorted(files):
            if total <= self.budget:
                return
            if name not in keep:
                Path(self.folder, name).unlink(missing_ok=True)
                total -= size

    def _path(self, n: int) -> Path:
        return self.folder / f"{n:07d}.npy"
