"""Motion-guided thinning of predicted tracks: fewer keyframes, in-betweens that follow the flow.

Linear thinning (``autolabel.tracking.thin_detected``) keeps a keyframe wherever a straight line
between two keyframes strays from the detections, so an object on a curve, or one that speeds
up, keeps many. Here each run of a predicted track (its detections between two ``outside``
keyframes) starts from its first and last detection only; every span is filled by optical flow
(``propagation.fill_span``) and compared with the detections on every detected frame inside it.
A span whose worst IoU is below ``min_iou`` gets the detection on that worst frame as a keyframe
and only its two halves are filled again, until every span holds; then each keyframe whose two
neighbours hold the span across it is dropped (splitting top-down keeps some that later splits
made unneeded). A span with a scene cut inside is interpolated straight (flow is not carried
across a cut), and so is a span where the flow strays but a straight line holds. A run that
ends with more keyframes than linear thinning keeps is left as linear thinning made it, so
following the motion never costs keyframes. The flow-filled frames become the track's
``inbetween`` shapes: what a person sees between two keyframes follows the object.

What it buys depends on how smooth the detections are. Measured on this 2-core machine (shared,
so times vary by about a third), IoU 0.9, every frame labelled:

- a textured square going round a circle (48 frames, ``tests/services/test_autolabel_motion``):
  13 keyframes linear, 4 following the motion;
- ``vtest.avi`` (768x576), ``yolov3-tiny``, frames 0..149: 1,403 detections in 15 tracks;
  608 keyframes linear, 561 following the motion (-8%; the detector's boxes jitter from frame to
  frame by more than the motion bends, and no interpolation reproduces jitter). Labelling took
  33-55 s and linear thinning 0.4-1 s; following the motion added 58 s (the flow of 150 frame
  pairs, both ways, at full size) plus 2-6 s for the cuts, and 8-10 s once the flow is cached;
- ``bgs-traffic-topdown.avi``, the ``motion`` labeler, frames 0..299: 302 detections in 5 tracks;
  89 keyframes linear, 86 following the motion, for 47 s more (5 s with the flow cached).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tweenlab.autolabel.tracking import DetectedTrack, thin_detected
from tweenlab.core import Box, Keyframe, Track
from tweenlab.core.interpolation import interpolate_boxes
from tweenlab.core.thinning import box_iou
from tweenlab.media import DerivedFiles
from tweenlab.propagation import FlowCache, fill_span
from tweenlab.services.keyframes import analyse_video
from tweenlab.services.propagate import flow_cache
from tweenlab.settings import Settings

__all__ = ["MotionThinning", "follow_motion", "motion_thinning"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Reporter = Callable[[str, int, int], None]
_TOLERANCE = 1e-9  # float noise allowed below min_iou, as core.thinning allows


@dataclass(frozen=True)
class _Run:
    """A track's detections between two ``outside`` keyframes: ``(F,)`` frames, ``(F, 4)``
    boxes (sizes clipped at 0, as ``to_tracks`` clips them)."""

    frames: IntArray
    boxes: FloatArray


@dataclass(frozen=True)
class _Thinned:
    """A run thinned: keyframe positions into the run, and the flow-filled spans (the span's
    first position -> its boxes on every frame from its first to its last keyframe)."""

    keys: list[int]
    guided: dict[int, FloatArray]


@dataclass(frozen=True)
class MotionThinning:
    """What thinning follows the motion with: a video's flow and its scene cuts.

    Attributes:
        cache: The video's optical flow (computed lazily, kept among its derived files).
        cuts: First frames of new shots; no span is filled by flow across one.
        min_iou: The lowest IoU between a filled box and a detection, in ``(0, 1]``.
    """

    cache: FlowCache
    cuts: Sequence[int]
    min_iou: float = 0.9


def motion_thinning(video: Path, settings: Settings, *, min_iou: float = 0.9) -> MotionThinning:
    """The flow and cuts of ``video`` (cuts from the keyframe analysis, kept derived), as
    ``propagate_annotations`` uses them.

    Example:
        >>> thinning = motion_thinning(Path("clip.mp4"), Settings())  # doctest: +SKIP
    """
    derived = DerivedFiles(settings.derived_dir)
    cache = flow_cache(video, derived.index(video), derived, settings)
    cuts = analyse_video(video, settings).analysis.boundaries
    return MotionThinning(cache, tuple(cuts), min_iou)


def follow_motion(
    thinning: MotionThinning,
    detected: Sequence[DetectedTrack],
    tracks: Sequence[Track],
    *,
    report: Reporter | None = None,
) -> list[Track]:
    """``tracks`` (linearly thinned by ``to_tracks`` from ``detected``, in the same order)
    thinned again along the motion: keyframes on detections, flow-filled ``inbetween`` shapes,
    every detection within ``thinning.min_iou`` of the track on its frame.

    Example:
        >>> tracks = to_tracks(detected, classes, frame_count=n)  # doctest: +SKIP
        >>> follow_motion(motion_thinning(video, settings), detected, tracks)  # doctest: +SKIP
    """
    if len(detected) != len(tracks):
        raise ValueError(f"{len(detected)} detected tracks for {len(tracks)} tracks")
    followed = []
    for done, (found, track) in enumerate(zip(detected, tracks, strict=True)):
        followed.append(_follow_track(thinning, found, track))
        if report is not None:
            report("following motion", done + 1, len(tracks))
    return followed


def _follow_track(thinning: MotionThinning, found: DetectedTrack, track: Track) -> Track:
    """One track's runs thinned along the motion; its ``outside`` keyframes kept."""
    keyframes = {f: k for f, k in track.keyframes.items() if k.outside}
    shapes: dict[int, Box] = {}
    for run in _runs(found, track):
        thinned = _thin_run(thinning, run)
        for key in thinned.keys:
            keyframes[int(run.frames[key])] = Keyframe(Box(*run.boxes[key].tolist()))
        for start, boxes in thinned.guided.items():
            first = int(run.frames[start])
            for offset in range(1, len(boxes) - 1):
                shapes[first + offset] = Box(*boxes[offset].tolist())
    return replace(track, keyframes=keyframes, inbetween=shapes)


def _runs(found: DetectedTrack, track: Track) -> list[_Run]:
    """``found``'s detections split where ``track`` has an ``outside`` keyframe."""
    outside = np.array([f for f, k in track.keyframes.items() if k.outside], dtype=np.int64)
    boxes = np.asarray(found.boxes, dtype=np.float64).copy()
    boxes[:, 2:] = np.maximum(boxes[:, 2:], 0.0)
    frames = np.asarray(found.frames, dtype=np.int64)
    run_of = np.searchsorted(outside, frames, side="right")
    breaks = np.flatnonzero(np.diff(run_of)) + 1
    return [_Run(frames[part], boxes[part]) for part in np.split(np.arange(len(frames)), breaks)]


def _thin_run(thinning: MotionThinning, run: _Run) -> _Thinned:
    """Keyframes from the run's ends, each failing span split at its worst detection, then
    the keyframes that turned out not to be needed dropped; the linear thinning instead when
    it keeps fewer."""
    keys, guided = {0, len(run.frames) - 1}, {}
    pending = [(0, len(run.frames) - 1)]
    while pending:
        start, end = pending.pop()
        boxes, worst = _span(thinning, run, start, end)
        if worst is None:
            if boxes is not None:
                guided[start] = boxes
            continue
        keys.add(worst)
        pending += [(start, worst), (worst, end)]
    thinned = _pruned(thinning, run, _Thinned(sorted(keys), guided))
    linear = thin_detected(run.frames, run.boxes, min_iou=thinning.min_iou).tolist()
    return _Thinned(linear, {}) if len(linear) < len(thinned.keys) else thinned


def _pruned(thinning: MotionThinning, run: _Run, thinned: _Thinned) -> _Thinned:
    """``thinned`` without the keyframes whose neighbours hold the span across them (splitting
    at the worst frame top-down keeps some that a later split made unneeded)."""
    keys, guided = thinned.keys, dict(thinned.guided)
    kept = keys[:1]
    for key, following in itertools.pairwise(keys[1:]):
        boxes, worst = _span(thinning, run, kept[-1], following)
        if worst is not None:
            kept.append(key)
            continue
        guided.pop(key, None)
        guided.pop(kept[-1], None)
        if boxes is not None:
            guided[kept[-1]] = boxes
    return _Thinned([*kept, keys[-1]] if len(keys) > 1 else kept, guided)


def _span(
    thinning: MotionThinning, run: _Run, start: int, end: int
) -> tuple[FloatArray | None, int | None]:
    """The span between positions ``start`` and ``end`` filled: its flow-filled boxes (None
    when it is interpolated straight) and the position of its worst detection when that is
    below ``min_iou`` (None when the span holds)."""
    first, last = int(run.frames[start]), int(run.frames[end])
    straight = _straight(run, start, end)
    if last - first < 2 or any(first < cut <= last for cut in thinning.cuts):
        return None, _worst(run, start, end, straight, thinning.min_iou)
    fill = fill_span(thinning.cache, first, run.boxes[start], last, run.boxes[end])
    guided = fill.boxes.copy()
    guided[:, 2:] = np.maximum(guided[:, 2:], 0.0)
    worst = _worst(run, start, end, guided, thinning.min_iou)
    if worst is None:
        return guided, None
    if _worst(run, start, end, straight, thinning.min_iou) is None:
        return None, None  # the flow strays here (a blur, an occluder) where a line holds
    return None, worst


def _straight(run: _Run, start: int, end: int) -> FloatArray:
    """The span interpolated straight: boxes on every frame from its first to its last."""
    ends = np.array([start, end])
    keys = np.concatenate([run.boxes[ends], np.zeros((2, 1))], axis=1)
    frames = np.arange(run.frames[start], run.frames[end] + 1, dtype=np.int64)
    return interpolate_boxes(run.frames[ends], keys, frames)[:, :4]


def _worst(run: _Run, start: int, end: int, boxes: FloatArray, min_iou: float) -> int | None:
    """The position of the detection strictly inside the span that ``boxes`` (one per frame
    from the span's first) miss most, when it is below ``min_iou``; None when all hold."""
    if end - start < 2:
        return None
    inner = slice(start + 1, end)
    offsets = run.frames[inner] - run.frames[start]
    iou = box_iou(boxes[offsets], run.boxes[inner])
    at = int(np.argmin(iou))
    return start + 1 + at if iou[at] < min_iou - _TOLERANCE else None
