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
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tweenlab.jobs import JobContext
from tweenlab.keyframes import plan_spans_near_keyframes
from tweenlab.media import DerivedFiles, FrameIndex
from tweenlab.propagation import FlowCache
from tweenlab.settings import Settings

__all__ = ["DEFAULT_SPAN_PAIRS", "FLOW_JOB", "FLOW_PART", "flow_cache", "flow_job", "flow_part"]

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
    video: Path, index: FrameIndex, derived: DerivedFiles, settings: Settings
) -> FlowCache:
    """The video's optical-flow cache among its derived files, bounded by the settings."""
    proxy = derived.proxy_path(video)
    return FlowCache(
        video,
        index,
        derived.folder(video),
        proxy=proxy if proxy.exists() else None,
        budget_mb=settings.flow_cache_mb,
    )


def flow_job(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Job function (``FLOW_JOB``): compute and cache a video's optical flow ahead of time,
    one part per span of about ``span_pairs`` frame pairs; progress is the pairs computed,
    summed over the parts.

    Params: ``video`` (path), ``data_dir``, optional ``first`` and ``last`` frames and
    ``span_pairs`` (``DEFAULT_SPAN_PAIRS``). Returns ``pairs``, ``folder`` and ``spans``; or
    ``cancelled`` and the ``pairs`` computed by then.
    """
    settings = Settings(data_dir=Path(params["data_dir"]))
    video = Path(params["video"])
    derived = DerivedFiles(settings.derived_dir)
    index = derived.index(video)
    first = int(params.get("first", 0))
    last = min(int(params.get("last", len(index) - 1)), len(index) - 1)
    span_pairs = int(params.get("span_pairs") or DEFAULT_SPAN_PAIRS)
    keyframes = index.keyframe_indices().tolist()
    spans = plan_spans_near_keyframes(keyframes, first, last, span_pairs)
    item = {"video": str(video), "data_dir": str(params["data_dir"])}
    results = context.map(FLOW_PART, [{**item, "start": s.start, "stop": s.stop} for s in spans])
    pairs = sum(int(result["pairs"]) for result in results)
    if context.cancelled or any(result.get("cancelled") for result in results):
        return {"pairs": pairs, "cancelled": True}
    folder = flow_cache(video, index, derived, settings).folder
    return {"pairs": pairs, "folder": str(folder), "spans": len(spans)}


def flow_part(context: JobContext, item: dict[str, Any]) -> dict[str, Any]:
    """One part (``FLOW_PART``): the flow of pairs ``item["start"] .. item["stop"] - 1`` into
    the cache. Returns ``pairs`` (on disk by the end), and ``cancelled`` when it stopped early.
    """
    settings = Settings(data_dir=Path(item["data_dir"]))
    video = Path(item["video"])
    derived = DerivedFiles(settings.derived_dir)
    cache = flow_cache(video, derived.index(video), derived, settings)
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
        cache.compute(int(item["start"]), int(item["stop"]), report=report)
    except _CancelledError:
        return {"pairs": done, "cancelled": True}
    return {"pairs": done}
