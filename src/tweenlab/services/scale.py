"""Batch jobs split into parts a worker can do alone: keyframe analysis in spans of frames, and
the ingest and analysis of several videos at once.

A job function here plans its parts, hands them to ``JobContext.map`` (the local executor runs
them one after another, a cluster executor in parallel, running a part again when its worker
dies) and merges what they return. Parts get and return JSON-able dicts; what is bulky (a
span's signals) goes into a file written atomically among the video's derived files, which
every worker reads (shared storage), under a name made of the span, so a part run twice writes
the same file twice. The merged analysis equals the single-process one (see
``tweenlab.keyframes.spans``).

Two ways to reach the files. Without ``storage_url`` in the params, videos are paths and span
files go to the video's derived folder under ``data_dir``: every worker must see the same paths
(a shared mount). With ``storage_url`` (``Settings.storage_url``: a folder or an S3 store),
videos are storage keys: each part decodes ``local_path(key)`` (an S3 object is downloaded to
the worker's cache once), keeps its derived files in its own ``data_dir`` and publishes what
others need under ``derived/<video key>/`` in the storage: the span files (read back and
deleted by the merge), the merged ``keyframes.npz``, and an ingest's index, proxy and
filmstrip. Parts never touch the database: they return results through ``JobContext.map``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tweenlab.jobs import JobContext
from tweenlab.keyframes import Span, SuggestionPolicy
from tweenlab.media import DerivedFiles, LocalStorage, Storage, needs_proxy, probe
from tweenlab.services.keyframes import (
    KeyframeResult,
    analyse_span,
    merge_span_analyses,
    plan_video_spans,
)
from tweenlab.services.media import ingest
from tweenlab.services.stored import (
    JobVideo,
    job_settings,
    job_video,
    open_storage,
    publish_derived,
)
from tweenlab.settings import Settings

__all__ = [
    "ANALYSIS_JOB",
    "DEFAULT_SPAN_FRAMES",
    "INGEST_ANALYSIS_JOB",
    "analysis_job",
    "ingest_analysis_job",
    "open_storage",
    "run_part",
]

#: The job function that analyses one video in spans (``analysis_job``).
ANALYSIS_JOB = "tweenlab.services.scale:analysis_job"
#: The job function that ingests and analyses several videos (``ingest_analysis_job``).
INGEST_ANALYSIS_JOB = "tweenlab.services.scale:ingest_analysis_job"
#: Frames per span unless a job says otherwise: about 100 s at 30 fps, a few seconds of work.
DEFAULT_SPAN_FRAMES = 3000
_PART = "tweenlab.services.scale:run_part"
_SPANS = "keyframe-spans"  # the folder of span files, in the derived folder and in the storage
#: The derived files an ingest part publishes to the storage, when they were made.
_PUBLISHED = ("index.npz", "proxy.mp4", "proxy-index.npz", "filmstrip.jpg")

Part = Callable[[JobContext, Settings, Mapping[str, Any]], dict[str, Any]]


class _CancelledError(Exception):
    """Raised from a progress callback to stop a cancelled part between two frames."""


def analysis_job(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Job function (``tweenlab.services.scale:analysis_job``): one video's keyframe analysis,
    one part per span of about ``span_frames`` frames; the merged analysis is kept where
    ``analyse_video`` finds it.

    Params: ``video``, ``data_dir``, optional ``storage_url`` (then ``video`` is a key in it),
    ``span_frames`` and ``policy`` (the fields of a ``SuggestionPolicy``). Returns what
    ``tweenlab keyframes --json`` prints, plus ``spans``; with a storage, ``video`` is the key
    and ``signals`` the key of the merged analysis there.
    """
    settings = _settings(params)
    source = job_video(settings, params["video"])
    span_frames = int(params.get("span_frames", DEFAULT_SPAN_FRAMES))
    spans = plan_video_spans(source.path, settings, span_frames)
    items = [_span_item(source.name, span, params) for span in spans]
    results = context.map(_PART, items)
    if context.cancelled or any(r.get("cancelled") for r in results):
        return {"cancelled": True}
    found = _merge(source, settings, results, params)
    summary = found.to_json()
    if source.storage is not None:
        summary.update(video=source.name, signals=source.key(found.signals_path.name))
    return {**summary, "spans": len(spans)}


def ingest_analysis_job(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Job function (``tweenlab.services.scale:ingest_analysis_job``): ingest several videos
    (one part each: proxy when needed, filmstrip) and analyse them (one part per span), all
    parts in one ``map`` so a cluster runs them side by side.

    Params: ``videos`` (paths, or keys when ``storage_url`` is given), ``data_dir``, optional
    ``storage_url``, ``span_frames``, ``policy``, ``proxy_max_gop``, ``frame_cache_mb``.
    Returns ``videos``: per video what ``ingest_job`` returns (``frame_count``, ``proxy``,
    ``filmstrip_frames``, ``keyframes``).
    """
    settings = _settings(params)
    sources = [job_video(settings, str(v)) for v in params["videos"]]
    span_frames = int(params.get("span_frames", DEFAULT_SPAN_FRAMES))
    items: list[dict[str, Any]] = []
    for source in sources:  # indexing (demuxing only) here, so that spans can be planned
        items.append({**_common(params), "task": "ingest", "video": source.name})
        planned = plan_video_spans(source.path, settings, span_frames)
        items += [_span_item(source.name, span, params) for span in planned]
    results = context.map(_PART, items)
    if context.cancelled or any(r.get("cancelled") for r in results):
        return {"cancelled": True}
    summaries = []
    for source in sources:
        mine = [r for r in results if r["video"] == source.name]
        ingested = next(r for r in mine if r["task"] == "ingest")
        parts = [r for r in mine if r["task"] == "keyframes"]
        analysis = _merge(source, settings, parts, params).analysis
        keyframes = {"cuts": analysis.boundaries, "suggested": analysis.suggested}
        summaries.append({**ingested["ingested"], "video": source.name, "keyframes": keyframes})
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
    """Analyse one span; with a storage, publish its file there (``path`` is then its key)."""
    span = Span(int(item["start"]), int(item["stop"]))
    source = job_video(settings, item["video"])
    path, errors = analyse_span(source.path, span, settings, report=_reporter(context))
    where = str(path)
    if source.storage is not None:
        where = source.key(_SPANS, path.name)
        source.storage.put_file(where, path)
        path.unlink(missing_ok=True)  # the storage's copy is the one the merge reads
    return {"path": where, "start": span.start, "stop": span.stop, "errors": list(errors)}


def _ingest_part(
    context: JobContext, settings: Settings, item: Mapping[str, Any]
) -> dict[str, Any]:
    source = job_video(settings, item["video"])
    info = probe(source.path, index=DerivedFiles(settings.derived_dir).index(source.path))
    proxy_frames = info.frame_count if needs_proxy(info, max_gop=settings.proxy_max_gop) else 0
    offsets = {"proxy": 0, "filmstrip": proxy_frames}
    report = _reporter(context, total=proxy_frames + 1, offsets=offsets)
    ingested = ingest(source.path, settings, report=report)
    if source.storage is not None:
        publish_derived(source, ingested.folder, _PUBLISHED, manifest=False)
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
    source: JobVideo, settings: Settings, parts: list[dict[str, Any]], params: Mapping[str, Any]
) -> KeyframeResult:
    """Merge the spans' files; with a storage, fetched from it first, and the merged analysis
    published there (``derived/<video key>/keyframes.npz``) and the span objects deleted."""
    where = [str(r["path"]) for r in sorted(parts, key=lambda r: int(r["start"]))]
    storage = source.storage
    paths = (
        [Path(p) for p in where] if storage is None else _fetch(storage, source, settings, where)
    )
    found = merge_span_analyses(source.path, settings, paths, policy=_policy(params.get("policy")))
    if storage is not None:
        storage.put_file(source.key(found.signals_path.name), found.signals_path)
        for key in where:
            storage.delete(key)
    return found


def _fetch(storage: Storage, source: JobVideo, settings: Settings, keys: list[str]) -> list[Path]:
    """Copy the span files from the storage into the video's local derived folder."""
    folder = LocalStorage(DerivedFiles(settings.derived_dir).folder(source.path) / _SPANS)
    names = [key.rsplit("/", 1)[-1] for key in keys]
    for key, name in zip(keys, names, strict=True):
        folder.write_bytes(name, storage.read_bytes(key))
    return [folder.path(name) for name in names]


def _span_item(video: str, span: Span, params: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **_common(params),
        "task": "keyframes",
        "video": video,
        "start": span.start,
        "stop": span.stop,
    }


def _common(params: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a part needs (the rest never travel in a job)."""
    names = ("data_dir", "storage_url", "proxy_max_gop", "frame_cache_mb")
    return {name: params[name] for name in names if name in params}


def _settings(params: Mapping[str, Any]) -> Settings:
    names = ("proxy_max_gop", "frame_cache_mb")
    given: dict[str, Any] = {name: int(params[name]) for name in names if name in params}
    return job_settings(params, **given)


def _policy(fields: Mapping[str, Any] | None) -> SuggestionPolicy:
    if not fields:
        return SuggestionPolicy()
    chosen = dict(fields)
    if chosen.get("frames") is not None:
        chosen["frames"] = tuple(int(f) for f in chosen["frames"])
    return SuggestionPolicy(**chosen)
