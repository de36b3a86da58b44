"""Media use cases: ingest a video, cut it into clips, extract frames.

Each takes ``Settings`` for where derived files live and an optional ``Reporter`` for progress,
so the CLI can draw bars and the server can publish job progress from the same call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from tweenlab.core.time import FrameSelection
from tweenlab.errors import UsageError
from tweenlab.jobs import JobContext
from tweenlab.media import (
    Clip,
    DerivedFiles,
    ExtractedFrame,
    Filmstrip,
    FrameIndex,
    VideoInfo,
    VideoReader,
    extract_frames,
    make_filmstrip,
    needs_proxy,
    probe,
    split_video,
    write_proxy,
)
from tweenlab.services.stored import job_settings, job_video, publish_derived
from tweenlab.settings import Settings

__all__ = [
    "INGEST_JOB",
    "Ingested",
    "Reporter",
    "extract",
    "ingest",
    "ingest_job",
    "resolve_cuts",
    "split",
]

#: The job function that ingests a video in the server (``ingest_job``).
INGEST_JOB = "tweenlab.services.media:ingest_job"

#: ``reporter(task, done, total)``: progress of a named step.
Reporter = Callable[[str, int, int], None]


def _quiet(task: str, done: int, total: int) -> None:
    del task, done, total


@dataclass(frozen=True)
class Ingested:
    """What ingest made of a video: its description, index and derived files."""

    info: VideoInfo
    index: FrameIndex
    folder: Path
    proxy: Path | None
    proxy_index: FrameIndex | None
    filmstrip: Filmstrip

    def reader(self, **options: Any) -> VideoReader:
        """A ``VideoReader`` that serves random access from the proxy where there is one."""
        return VideoReader(
            self.info.path,
            index=self.index,
            proxy=self.proxy,
            proxy_index=self.proxy_index,
            **options,
        )


def ingest(
    video: Path,
    settings: Settings,
    *,
    report: Reporter = _quiet,
    tap: Callable[[int, Any], None] | None = None,
) -> Ingested:
    """Index and probe ``video``, write its proxy when random access needs one, and a filmstrip.

    Everything is kept in the video's derived folder; a second ingest reuses it. ``tap(n,
    frame)`` sees every frame the proxy's pass decodes (none when no proxy is written).

    Example:
        >>> done = ingest(Path("clip.mp4"), Settings())  # doctest: +SKIP
        >>> done.info.frame_count, done.proxy  # doctest: +SKIP
        (1189, PosixPath('.../derived/clip-3f2a.../proxy.mp4'))
    """
    derived = DerivedFiles(settings.derived_dir)
    index = derived.index(video, progress=lambda d, t: report("index", d, t))
    info = probe(video, index=index)
    proxy: Path | None = None
    if needs_proxy(info, max_gop=settings.proxy_max_gop):
        proxy = derived.proxy_path(video)
        if not proxy.exists():
            write_proxy(
                video, proxy, index=index, progress=lambda d, t: report("proxy", d, t), tap=tap
            )
        derived.proxy_index(video)
    report("filmstrip", 0, 1)
    target = derived.filmstrip_path(video)
    strip = Filmstrip.read(target) or make_filmstrip(video, target, index=index)
    report("filmstrip", 1, 1)
    proxy_index = derived.proxy_index(video) if proxy else None
    return Ingested(info, index, derived.folder(video), proxy, proxy_index, strip)


class _CancelledError(Exception):
    """Raised from a progress callback to stop a cancelled ingest between two frames."""


def ingest_job(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """The server's ingest, run by the job executor: ``ingest`` (index, proxy when needed,
    filmstrip), then the keyframe analysis when ``params["keyframes"]``: fed by the proxy's
    decoding pass when a proxy is written (``AnalysisTap``), so the video is decoded once.

    Params: ``video`` (the file), ``data_dir``, ``proxy_max_gop`` and ``frame_cache_mb`` (the
    server's settings that matter here; the rest never travel in a job row). Progress counts
    frames: the proxy's (when one is written), one for the filmstrip, the analysis's. Stops
    between frames when cancelled; outputs are written atomically, so running it again after
    an interruption is safe.

    With ``storage_url`` in the params, ``video`` is a key in that storage: the job decodes
    its local copy (``services.stored``), makes the derived files among the copy's, and
    publishes them under ``derived/<video key>/`` with the manifest last, so the server, on
    any machine, fetches them instead of making them again.
    """
    settings = job_settings(
        params,
        proxy_max_gop=int(params.get("proxy_max_gop", 48)),
        frame_cache_mb=int(params.get("frame_cache_mb", 256)),
    )
    keyframes = bool(params.get("keyframes", True))
    try:
        video = job_video(settings, str(params["video"]), fetch=("index.npz",))
        result = _ingest_job(context, video.path, settings, keyframes=keyframes)
        if video.storage is not None:
            publish_derived(video, video.folder(settings))
    except _CancelledError:
        return {"cancelled": True}
    except Exception:
        if context.cancelled:  # e.g. its video was deleted under it: a cancellation, not a failure
            return {"cancelled": True}
        raise
    return result


def _ingest_job(
    context: JobContext, video: Path, settings: Settings, *, keyframes: bool
) -> dict[str, Any]:
    from tweenlab.services.keyframes import (  # noqa: PLC0415  (it imports this module)
        AnalysisTap,
        analyse_video,
    )

    derived = DerivedFiles(settings.derived_dir)
    info = probe(video, index=derived.index(video))
    frames = info.frame_count
    proxy_frames = frames if needs_proxy(info, max_gop=settings.proxy_max_gop) else 0
    # the analysis is fed by the proxy's pass when there is one to write: one decoding pass
    fed = keyframes and proxy_frames > 0 and not derived.proxy_path(video).exists()
    total = proxy_frames + 1 + (frames if keyframes and not fed else 0)
    offsets = {"proxy": 0, "filmstrip": proxy_frames, "keyframes": proxy_frames + 1}

    def report(task: str, done: int, step_total: int) -> None:
        del step_total
        if context.cancelled:
            raise _CancelledError
        if task in offsets:
            context.progress(offsets[task] + done, total)

    context.progress(0, total)
    tap = AnalysisTap(video, settings) if fed else None
    ingested = ingest(video, settings, report=report, tap=tap)
    if tap is not None:
        tap.keep()  # where analyse_video below finds it
    result: dict[str, Any] = {
        "frame_count": ingested.info.frame_count,
        "proxy": ingested.proxy is not None,
        "filmstrip_frames": len(ingested.filmstrip.frames),
    }
    if keyframes:
        analysis = analyse_video(video, settings, report=report).analysis
        result["keyframes"] = {
            "cuts": list(analysis.boundaries),
            "suggested": list(analysis.suggested),
        }
    context.progress(total, total)
    return result


def resolve_cuts(
    index: FrameIndex,
    *,
    every: Fraction | None = None,
    at: Sequence[Fraction] | None = None,
    frames: Sequence[int] | None = None,
) -> list[int]:
    """Turn one of ``--every``, ``--at`` (seconds) or ``--frames`` into cut frame indices.

    Times map to the first frame shown at or after them, by the frame index (VFR-safe).

    Raises:
        UsageError: No spec or several, ``every`` not positive, or an ``at`` time past the last
            frame's.

    Example:
        >>> resolve_cuts(index, every=Fraction(10))  # doctest: +SKIP
        [250, 500, 750]
    """
    if sum(spec is not None for spec in (every, at, frames)) != 1:
        raise UsageError("choose exactly one of --every, --at, --frames")
    if frames is not None:
        return sorted(set(frames))
    if every is not None:
        if every <= 0:
            raise UsageError("--every: must be a positive duration")
        return _every_cuts(index, every)
    assert at is not None
    last = index.seconds(len(index) - 1)
    for seconds in at:  # refused like --frames past the end, not ignored
        if seconds > last:
            raise UsageError(
                f"--at {float(seconds):g}: past the video's last frame (at {float(last):g} s)"
            )
    cuts = {index.frame_at(seconds) for seconds in at}
    return sorted(cuts - {0})


def _every_cuts(index: FrameIndex, every: Fraction) -> list[int]:
    """The frames where a multiple of ``every`` falls after the frame before and at or before
    their own time: at most one cut per frame, however short ``every`` is (building each multiple
    first took 40 million for ``--every 0.0000001s`` on 4 s, and gigabytes)."""
    ticks = index.time_base / every  # periods of ``every`` per pts tick
    first = int(index.pts[0])
    periods = [(int(p) - first) * ticks.numerator // ticks.denominator for p in index.pts.tolist()]
    return [n for n in range(1, len(periods)) if periods[n] > periods[n - 1]]


def split(
    video: Path,
    out_dir: Path,
    settings: Settings,
    *,
    every: Fraction | None = None,
    at: Sequence[Fraction] | None = None,
    frames: Sequence[int] | None = None,
    report: Reporter = _quiet,
) -> list[Clip]:
    """Cut ``video`` into clips in ``out_dir`` at the given times or frames."""
    index = DerivedFiles(settings.derived_dir).index(video)
    cuts = resolve_cuts(index, every=every, at=at, frames=frames)
    return split_video(
        video, out_dir, cuts, index=index, progress=lambda d, t: report("split", d, t)
    )


def extract(
    video: Path,
    out_dir: Path,
    selection: FrameSelection,
    settings: Settings,
    *,
    image_format: str = "jpg",
    quality: int | None = None,
    report: Reporter = _quiet,
) -> list[ExtractedFrame]:
    """Write the selected frames of ``video`` as images with a manifest."""
    index = DerivedFiles(settings.derived_dir).index(video)
    wanted = selection.indices(len(index), index.all_seconds() if selection.fps else None)
    return extract_frames(
        video,
        out_dir,
        wanted,
        index=index,
        image_format=image_format,
        quality=quality,
        progress=lambda d, t: report("frames", d, t),
    )
