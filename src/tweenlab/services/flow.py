"""A video's optical-flow cache, and computing it ahead of time in parts a worker can do alone.

``flow_job`` cuts the frame pairs to compute into spans of about ``span_pairs`` pairs that start
at keyframes of the video's index when one lies near where a span is due (else where it is due:
flow costs far more than decoding), hands one part per span to ``JobContext.map`` (``flow_part``)
and merges only the counts: the flow itself goes straight into the video's ``FlowCache`` among
its derived files, which every worker reads (shared storage).

Why it is exact: span ``[a, b)`` owns the pairs ``(a, a + 1) .. (b - 1, b)``, so each pair
belongs to one span, and its last pair reaches frame ``b``, the next span's first frame, which
the part decodes by carrying on past its span (a keyframe when the span was planned on one).
Each pair's flow depends on its two frames alone, and decoding from a keyframe gives the same
pixels as decoding from the video's start, so every pair file equals the single pass's.

A part run twice (a retry after its worker died) is harmless: a pair already on disk is kept,
a missing one is written under a temporary name and renamed, so a reader never sees half a
file. Cancellation is checked between two pairs.

With ``storage_url`` in the params, ``video`` is a key in that storage (``services.stored``):
each part decodes its worker's copy of the video (and of its published index and proxy, so it
decodes what the server's cache decodes), computes its span in a private folder and publishes
the span's files under ``derived/<video key>/<cache folder>/``; a span whose files are all
published already is not computed again. ``fetch_flow`` copies the published files of a
range into a cache where it is needed (the server's fill).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tweenlab.errors import UsageError
from tweenlab.jobs import JobContext
from tweenlab.keyframes import plan_spans_near_keyframes
from tweenlab.media import DerivedFiles, FrameIndex
from tweenlab.propagation import FlowCache
from tweenlab.services.stored import DECODING, JobVideo, job_settings, job_video
from tweenlab.settings import Settings

__all__ = [
    "DEFAULT_SPAN_PAIRS",
    "FLOW_JOB",
    "FLOW_PART",
    "FlowComputed",
    "compute_flow",
    "fetch_flow",
    "flow_cache",
    "flow_job",
    "flow_part",
]

#: The job function (``flow_job``); ``tweenlab.services.propagate:flow_job`` is the same one.
FLOW_JOB = "tweenlab.services.flow:flow_job"
#: The part function: computes one span's pairs (``flow_part``).
FLOW_PART = "tweenlab.services.flow:flow_part"
#: Frame pairs per part unless a job says otherwise: 20 s at 30 fps, a minute or two of work.
DEFAULT_SPAN_PAIRS = 600
_REPORT_EVERY = 32  # pairs between two progress reports (each is a message to the job row)


class _CancelledError(Exception):
    """Raised from the progress callback to stop a cancelled part between two pairs."""


def flow_cache(
    video: Path,
    index: FrameIndex,
    derived: DerivedFiles,
    settings: Settings,
    *,
    folder: Path | None = None,
) -> FlowCache:
    """The video's optical-flow cache among its derived files (or in ``folder``: the same
    frames decoded, so the same file names), by the settings' method and bounded by them."""
    proxy = derived.proxy_path(video)
    return FlowCache(
        video,
        index,
        derived.folder(video) if folder is None else folder,
        method=settings.flow_method,
        proxy=proxy if proxy.exists() else None,
        budget_mb=settings.flow_cache_mb,
    )


@dataclass(frozen=True)
class FlowComputed:
    """What ``compute_flow`` did: the pairs ``first .. last - 1`` (pair n is frames n and
    n + 1) are in ``folder``; ``computed`` of them were made now, the rest were cached.
    ``asked_last``: the last frame asked for, when the cache's budget held only up to ``last``
    (computing further would have evicted what was computed first)."""

    folder: Path
    first: int
    last: int
    computed: int
    asked_last: int | None = None

    @property
    def pairs(self) -> int:
        return self.last - self.first


def compute_flow(
    video: Path,
    settings: Settings,
    *,
    first: int = 0,
    last: int | None = None,
    report: Callable[[int, int], None] | None = None,
) -> FlowComputed:
    """Compute and cache the flow of ``video``'s frames ``first .. last`` (inclusive; the last
    frame by default) ahead of time, in this process: what ``flow_job`` does across workers.

    Raises:
        UsageError: A range outside the video, or of fewer than 2 frames.
    """
    derived = DerivedFiles(settings.derived_dir)
    index = derived.index(video)
    end = len(index) - 1 if last is None else last
    if not 0 <= first < end <= len(index) - 1:
        raise UsageError(
            f"frames {first}..{end}: not a range of 2 or more of {video}'s frames "
            f"0..{len(index) - 1}"
        )
    cache = flow_cache(video, index, derived, settings)
    held = min(end, first + cache.budget_pairs)
    computed = cache.compute(first, held, report=report)
    return FlowComputed(cache.folder, first, held, computed, end if held < end else None)


def flow_job(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Job function (``FLOW_JOB``): compute and cache a video's optical flow ahead of time,
    one part per span of about ``span_pairs`` frame pairs; progress is the pairs computed,
    summed over the parts.

    Params: ``video`` (path, or key with ``storage_url``), ``data_dir``, optional ``first`` and
    ``last`` frames and ``span_pairs`` (``DEFAULT_SPAN_PAIRS``). Returns ``pairs``, ``folder``
    (with a storage: the key prefix the files are published under) and ``spans``; or
    ``cancelled`` and the ``pairs`` computed by then. In a local cache no more pairs are
    computed than its budget (``flow_cache_mb``) holds, from ``first`` on, since later parts
    would evict what earlier ones kept: the result then also gives the ``last`` frame reached
    and the ``asked_last``.
    """
    settings = job_settings(params)
    video = job_video(settings, str(params["video"]), fetch=DECODING)
    derived = DerivedFiles(settings.derived_dir)
    index = derived.index(video.path)
    first = int(params.get("first", 0))
    asked = min(int(params.get("last", len(index) - 1)), len(index) - 1)
    last = asked
    if video.storage is None:  # the workers share one cache: no more than its budget holds
        last = min(asked, first + flow_cache(video.path, index, derived, settings).budget_pairs)
    span_pairs = int(params.get("span_pairs") or DEFAULT_SPAN_PAIRS)
    keyframes = index.keyframe_indices().tolist()
    spans = plan_spans_near_keyframes(keyframes, first, last, span_pairs)
    item = {"video": video.name, "data_dir": str(params["data_dir"])}
    if video.storage is not None:
        item["storage_url"] = str(params["storage_url"])
    results = context.map(FLOW_PART, [{**item, "start": s.start, "stop": s.stop} for s in spans])
    pairs = sum(int(result["pairs"]) for result in results)
    if context.cancelled or any(result.get("cancelled") for result in results):
        return {"pairs": pairs, "cancelled": True}
    folder = flow_cache(video.path, index, derived, settings).folder
    where = str(folder) if video.storage is None else video.key(folder.name) + "/"
    done = {"pairs": pairs, "folder": where, "spans": len(spans)}
    if last < asked:  # what the budget could not hold is computed when a fill needs it
        done |= {"last": last, "asked_last": asked}
    return done


def flow_part(context: JobContext, item: dict[str, Any]) -> dict[str, Any]:
    """One part (``FLOW_PART``): the flow of pairs ``item["start"] .. item["stop"] - 1`` into
    the cache (with a storage: published there). Returns ``pairs`` (stored by the end), and
    ``cancelled`` when it stopped early.
    """
    settings = job_settings(item)
    video = job_video(settings, str(item["video"]), fetch=DECODING)
    derived = DerivedFiles(settings.derived_dir)
    index = derived.index(video.path)
    start, stop = int(item["start"]), int(item["stop"])
    done, reported = 0, -_REPORT_EVERY

    def report(pairs: int, total: int) -> None:
        nonlocal done, reported
        done = pairs
        if context.cancelled:
            raise _CancelledError
        if pairs == total or pairs - reported >= _REPORT_EVERY:
            reported = pairs
            context.progress(pairs, total)

    try:
        if video.storage is None:
            flow_cache(video.path, index, derived, settings).compute(start, stop, report=report)
            return {"pairs": done}
        scratch = settings.data_dir / "flow-parts"
        scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=scratch) as private:  # no other part evicts here
            cache = flow_cache(video.path, index, derived, settings, folder=Path(private))
            _compute_and_publish(video, cache, start, stop, report)
    except _CancelledError:
        return {"pairs": done, "cancelled": True}
    return {"pairs": done}


def _compute_and_publish(
    video: JobVideo, cache: FlowCache, start: int, stop: int, report: Callable[[int, int], None]
) -> None:
    """Compute a span's flow in ``cache`` and publish its files; a span whose pairs are all
    published already is only counted."""
    storage = video.storage
    assert storage is not None
    prefix = video.key(cache.folder.name)
    published = {key.rsplit("/", 1)[-1] for key in storage.list(prefix + "/")}
    pairs = cache.file_names(start, stop)[: stop - start]
    if all(name in published for name in pairs):
        report(len(pairs), len(pairs))
        return
    cache.compute(start, stop, report=report)
    for name in cache.file_names(start, stop):
        if (cache.folder / name).is_file():
            storage.put_file(f"{prefix}/{name}", cache.folder / name)


def fetch_flow(video: JobVideo, cache: FlowCache, first: int, last: int) -> int:
    """Copy the published flow files of pairs ``first .. last - 1`` (and their grey frames)
    that ``cache`` lacks into it, each atomically; returns how many were copied."""
    storage = video.storage
    assert storage is not None, "fetch_flow is for a video in the storage"
    prefix = video.key(cache.folder.name)
    published = {key.rsplit("/", 1)[-1] for key in storage.list(prefix + "/")}
    copied = 0
    for name in cache.file_names(first, last):
        target = cache.folder / name
        if name in published and not target.exists():
            storage.download(f"{prefix}/{name}", target)
            copied += 1
    return copied
