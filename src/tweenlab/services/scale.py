"""Batch jobs split into parts a worker can do alone: keyframe analysis in spans of frames, and
the ingest and analysis of several videos at once.

A job function here plans its parts, hands them to ``JobContext.map`` (the local executor runs
them one after another, a cluster executor in parallel, running a part again when its worker
dies) and merges what they return. Parts get and return JSON-able dicts; what is bulky (a
span's signals) goes into a file written atomically among the video's derived files, which
every worker reads (shared storage), under a name made of the span, so a part run twice writes
the same file twice. The merged analysis equals the single-process one (see
``tweenlab.keyframes.spans``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tweenlab.jobs import JobContext
from tweenlab.keyframes import Span, SuggestionPolicy
from tweenlab.media import DerivedFiles, needs_proxy, probe
from tweenlab.services.keyframes import (
    KeyframeResult,
    analyse_span,
    merge_span_analyses,
    plan_video_spans,
)
from tweenlab.services.media import ingest
from tweenlab.settings import Settings

__all__ = [
    "ANALYSIS_JOB",
    "DEFAULT_SPAN_FRAMES",
    "INGEST_ANALYSIS_JOB",
    "analysis_job",
    "ingest_analysis_job",
    "run_part",
]

#: The job function that analyses one video in spans (``analysis_job``).
ANALYSIS_JOB = "tweenlab.services.scale:analysis_job"
#: The job function that ingests and analyses several videos (``ingest_analysis_job``).
INGEST_ANALYSIS_JOB = "tweenlab.services.scale:ingest_analysis_job"
#: Frames per span unless a job says otherwise: about 100 s at 30 fps, a few seconds of work.
DEFAULT_SPAN_FRAMES = 3000
_PART = "tweenlab.services.scale:run_part"

Part = Callable[[JobContext, Settings, Mapping[str, Any]], dict[str, Any]]


class _CancelledError(Exception):
    """Raised from a progress callback to stop a cancelled part between two frames."""


def analysis_job(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Job function (``tweenlab.services.scale:analysis_job``): one video's keyframe analysis,
    one part per span of about ``span_frames`` frames; the merged analysis is kept where
    ``analyse_video`` finds it.

    Params: ``video``, ``data_dir``, optional ``span_frames`` and ``policy`` (the fields of a
    ``SuggestionPolicy``). Returns what ``tweenlab keyframes --json`` prints, plus ``spans``.
    """
    settings = _settings(params)
    video = Path(params["video"])
    spans = plan_video_spans(video, settings, int(params.get("span_frames", DEFAULT_SPAN_FRAMES)))
    items = [_span_item(video, span, params) for span in spans]
    results = context.map(_PART, items)
    if context.cancelled or any(r.get("cancelled") for r in results):
        return {"cancelled": True}
    found = _merge(video, settings, results, params)
    return {**found.to_json(), "spans": len(spans)}


def ingest_analysis_job(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Job function (``tweenlab.services.scale:ingest_analysis_job``): ingest several videos
    (one part each: proxy when needed, filmstrip) and analyse them (one part per span), all
    parts in one ``map`` so a cluster runs them side by side.

    Params: ``videos`` (paths), ``data_dir``, optional ``span_frames``, ``policy``,
    ``proxy_max_gop``, ``frame_cache_mb``. Returns ``videos``: per video what ``ingest_job``
    returns (``frame_count``, ``proxy``, ``filmstrip_frames``, ``keyframes``).
    """
    settings = _settings(params)
    videos = [Path(v) for v in params["videos"]]
    span_frames = int(params.get("span_frames", DEFAULT_SPAN_FRAMES))
    items: list[dict[str, Any]] = []
    for video in videos:  # indexing (demuxing only) here, so that spans can be planned
        items.append({**_common(params), "task": "ingest", "video": str(video)})
        planned = plan_video_spans(video, settings, span_frames)
        items += [_span_item(video, span, params) for span in planned]
    results = context.map(_PART, items)
    if context.cancelled or any(r.get("cancelled") for r in results):
        return {"cancelled": True}
    summaries = []
    for video in videos:
        mine = [r for r in results if r["video"] == str(video)]
        ingested = next(r for r in mine if r["task"] == "ingest")
        parts = [r for r in mine if r["task"] == "keyframes"]
        analysis = _merge(video, settings, parts, params).analysis
        keyframes = {"cuts": analysis.boundaries, "suggested": analysis.suggested}
        summaries.append({**ingested["ingested"], "video": str(video), "keyframes": keyframes})
    return {"videos": summaries}


def run_part(context: JobContext, item: dict[str, Any]) -> dict[str, Any]:
    """One part of a job of this module, as ``item["task"]`` says: ``keyframes`` (the signals
    of one span) or ``ingest`` (one video). Returns ``{"cancelled": True}`` when cancelled."""
    try:
        result = _PARTS[item["task"]](context, _settings(item), item)
    except _CancelledError:
        return {"cancelled": True}
    return {"task": item["task"], "video": item["video"], **result}


def _span_part(context: JobContext, settings: Settings, item: Mapping[str, Any]) -> dict[str, Any]:
    span = Span(int(item["start"]), int(item["stop"]))
    path, errors = analyse_span(Path(item["video"]), span, settings, report=_reporter(context))
    return {"path": str(path), "start": span.start, "stop": span.stop, "errors": list(errors)}


def _ingest_part(
    context: JobContext, settings: Settings, item: Mapping[str, Any]
) -> dict[str, Any]:
    video = Path(item["video"])
    info = probe(video, index=DerivedFiles(settings.derived_dir).index(video))
    proxy_frames = info.frame_count if needs_proxy(info, max_gop=settings.proxy_max_gop) else 0
    offsets = {"proxy": 0, "filmstrip": proxy_frames}
    report = _reporter(context, total=proxy_frames + 1, offsets=offsets)
    ingested = ingest(video, settings, report=report)
    context.progress(proxy_frames + 1, proxy_frames + 1)
    summary = {
        "frame_count": ingested.info.frame_count,
        "proxy": ingested.proxy is not None,
        "filmstrip_frames": len(ingested.filmstrip.frames),
    }
    return {"ingested": summary}


_PARTS: dict[str, Part] = {"keyframes": _span_part, "ingest": _ingest_part}


def _reporter(
    context: JobContext, *, total: int | None = None, offsets: Mapping[str, int] | None = None
) -> Callable[[str, int, int], None]:
    """A progress callback for a part: stops it when cancelled, counts only its own tasks."""
    counted = offsets or {"keyframes": 0}

    def report(task: str, done: int, task_total: int) -> None:
        if context.cancelled:
            raise _CancelledError
        if task in counted:
            context.progress(counted[task] + done, total if total is not None else task_total)

    return report


def _merge(
    video: Path, settings: Settings, parts: list[dict[str, Any]], params: Mapping[str, Any]
) -> KeyframeResult:
    ordered = sorted(parts, key=lambda r: int(r["start"]))
    return merge_span_analyses(
        video,
        settings,
        [Path(r["path"]) for r in ordered],
        policy=_policy(params.get("policy")),
    )


def _span_item(video: Path, span: Span, params: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **_common(params),
        "task": "keyframes",
        "video": str(video),
        "start": span.start,
        "stop": span.stop,
    }


def _common(params: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a part needs (the rest never travel in a job)."""
    names = ("data_dir", "proxy_max_gop", "frame_cache_mb")
    return {name: params[name] for name in names if name in params}


def _settings(params: Mapping[str, Any]) -> Settings:
    names = ("proxy_max_gop", "frame_cache_mb")
    given: dict[str, Any] = {name: int(params[name]) for name in names if name in params}
    return Settings(data_dir=Path(params["data_dir"]), **given)


def _policy(fields: Mapping[str, Any] | None) -> SuggestionPolicy:
    if not fields:
        return SuggestionPolicy()
    chosen = dict(fields)
    if chosen.get("frames") is not None:
        chosen["frames"] = tuple(int(f) for f in chosen["frames"])
    return SuggestionPolicy(**chosen)
