"""Auto-labelling split into parts a worker can do alone: the frames to label, in spans.

``label_in_parts`` (what ``predictions.autolabel_job`` runs) groups the frames to label into
spans of about ``span_frames`` frames of video, hands one part per span to ``JobContext.map``
(``label_part``: it builds the labeler, labels its frames and returns their detections as
JSON-able lists) and merges what the parts return, in frame order, into one ``FrameDetections``
equal to ``label_frames`` over all the frames at once: a labeler that is not ``sequential``
answers each frame on its own, so which part labelled a frame does not change its detections,
and float64 boxes and scores survive the trip as Python floats exactly. A span starts at a
keyframe of the video's index when one lies near where it is due (its part then decodes no
frame it does not label), else where it is due: labelling costs far more than decoding, so a
video with far-apart keyframes is still split.

A ``sequential`` labeler (motion proposals: a background model that learns from every frame
since the first) is not split: a part starting in the middle would start with an empty
background model and propose other boxes than the single pass, so it gets one part for the
whole range.

With ``storage_url`` in the params, ``video`` is a key in that storage: each part decodes its
worker's copy (fetched once per worker, with the published frame index; ``services.stored``).

Masks do not travel back (``points`` do): ``prelabel`` makes tracks from boxes, scores and
class ids alone, and a frame's masks are ``N x H x W`` booleans, megabytes per frame in a job
result that the database keeps.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tweenlab.autolabel import Detections, Labeler
from tweenlab.autolabel.run import FrameDetections, label_frames
from tweenlab.jobs import JobContext
from tweenlab.keyframes import plan_spans_near_keyframes
from tweenlab.media import DerivedFiles, VideoReader
from tweenlab.services.autolabel import labeler_options, make_labeler
from tweenlab.services.stored import job_settings, job_video

__all__ = [
    "AUTOLABEL_PART",
    "DEFAULT_SPAN_FRAMES",
    "job_labeler",
    "label_in_parts",
    "label_part",
    "plan_parts",
]

#: The part function: labels one span's frames (``label_part``).
AUTOLABEL_PART = "tweenlab.services.autolabel_parts:label_part"
#: Frames of video per part unless a job says otherwise: about 50 s at 30 fps, 300 labelled
#: frames at the server's default of every 5th (tens of seconds for a small detector).
DEFAULT_SPAN_FRAMES = 1500
#: The params that build the labeler; each part gets them.
_LABELER_PARAMS = ("labeler", "model", "classes", "url", "min_score", "extra")


def job_labeler(params: Mapping[str, Any]) -> Labeler:
    """The labeler an auto-labelling job's params name (as ``start_autolabel`` writes them)."""
    options = labeler_options(
        model=Path(params["model"]) if params.get("model") else None,
        classes=params.get("classes"),
        url=params.get("url"),
        min_score=float(params["min_score"]),
        extra=params.get("extra") or {},
    )
    return make_labeler(params["labeler"], options)


def plan_parts(
    frames: Sequence[int], keyframes: Sequence[int], span_frames: int
) -> list[list[int]]:
    """``frames`` in groups, one per span of about ``span_frames`` frames of video from the
    first frame; a span starts at the keyframe nearest where it is due when one lies within
    half a span of it, else where it is due. Spans that hold no frame give no group.

    Raises:
        UsageError: ``span_frames`` is not positive.

    Example:
        >>> plan_parts(range(0, 60, 10), [0, 18], 30)  # the second span starts at 18
        [[0, 10], [20, 30, 40], [50]]
        >>> plan_parts(range(0, 60, 10), [0], 30)
        [[0, 10, 20], [30, 40, 50]]
    """
    chosen = sorted({int(f) for f in frames})
    first, stop = (chosen[0], chosen[-1] + 1) if chosen else (0, 0)
    spans = plan_spans_near_keyframes(keyframes, first, stop, span_frames)
    starts = [span.start for span in spans]
    groups: list[list[int]] = [[] for _ in starts]
    for frame in chosen:
        groups[bisect.bisect_right(starts, frame) - 1].append(frame)
    return [group for group in groups if group]


def label_in_parts(
    context: JobContext,
    params: Mapping[str, Any],
    labeler: Labeler,
    frames: Sequence[int],
    keyframes: Sequence[int],
) -> FrameDetections:
    """Label ``frames`` of ``params["video"]`` in parts of about ``params["span_frames"]``
    frames of video (``DEFAULT_SPAN_FRAMES``; a sequential labeler: one part), merged.

    ``labeler`` is the job's own (``job_labeler(params)``): it names the result and says
    whether it is sequential; the parts build their own from the same params. Progress is
    the labelled frames, summed over the parts.
    """
    span_frames = int(params.get("span_frames") or DEFAULT_SPAN_FRAMES)
    if labeler.sequential:
        groups = [sorted(set(frames))] if frames else []
    else:
        groups = plan_parts(frames, keyframes, span_frames)
    shared = {name: params.get(name) for name in _LABELER_PARAMS}
    shared.update(video=str(params["video"]), data_dir=str(params["data_dir"]))
    if params.get("storage_url"):
        shared["storage_url"] = str(params["storage_url"])
    results = context.map(AUTOLABEL_PART, [{**shared, "frames": group} for group in groups])
    pairs = sorted(
        ((int(frame), found) for r in results for frame, found in zip(*_pairs(r), strict=True)),
        key=lambda pair: pair[0],
    )
    return FrameDetections(
        labeler.name,
        tuple(labeler.classes),
        np.asarray([frame for frame, _ in pairs], dtype=np.int64),
        tuple(_detections(found) for _, found in pairs),
    )


def _pairs(result: Mapping[str, Any]) -> tuple[list[int], list[dict[str, Any]]]:
    return list(result["frames"]), list(result["detections"])


def label_part(context: JobContext, item: dict[str, Any]) -> dict[str, Any]:
    """One part (``AUTOLABEL_PART``): label ``item["frames"]`` of ``item["video"]``.

    Returns ``frames`` and, per frame, its detections as lists (``xyxy``, ``scores``,
    ``class_ids``, ``points`` or ``None``; masks are left out). Progress: frames labelled.
    """
    settings = job_settings(item)
    video = job_video(settings, str(item["video"]), fetch=("index.npz",)).path
    labeler = job_labeler(item)
    index = DerivedFiles(settings.derived_dir).index(video)

    def report(task: str, done: int, total: int) -> None:
        del task
        context.progress(done, total)

    with VideoReader(video, index=index) as reader:
        found = label_frames(reader, labeler, item["frames"], report=report)
    return {
        "frames": found.frames.tolist(),
        "detections": [_json(detections) for detections in found.detections],
    }


def _json(found: Detections) -> dict[str, Any]:
    points = found.points.tolist() if found.points is not None and len(found) else None
    return {
        "xyxy": found.xyxy.tolist(),
        "scores": found.scores.tolist(),
        "class_ids": found.class_ids.tolist(),
        "points": points,
    }


def _detections(data: Mapping[str, Any]) -> Detections:
    points = data.get("points")
    return Detections(
        np.asarray(data["xyxy"], dtype=np.float64).reshape(-1, 4),
        np.asarray(data["scores"], dtype=np.float64),
        np.asarray(data["class_ids"], dtype=np.int64),
        points=None if points is None else np.asarray(points, dtype=np.float64),
    )
