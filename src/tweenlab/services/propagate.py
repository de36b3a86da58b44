"""In-betweening use case: keyframes of one box track in, every frame out (eval_tracks' contract).

Input JSON: ``{"frames": N, "keyframes": {"0": [x, y, w, h], "40": null, ...}}``; output JSON:
``{"boxes": {"0": [x, y, w, h] or null, ...}, "confidence": {...}, "suggested": [frames],
"cuts": [frames]}`` (the shot boundaries nothing was carried across).

``flow_job`` and ``flow_cache`` live in ``tweenlab.services.flow`` and are re-exported here, so
jobs submitted as ``tweenlab.services.propagate:flow_job`` keep running.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from tweenlab.core import AnnotationSet, Box, Shape, ShapeKind, Track
from tweenlab.core.interpolation import interpolate
from tweenlab.errors import FormatError, UsageError
from tweenlab.media import DerivedFiles
from tweenlab.media._files import write_atomic
from tweenlab.propagation import FlowCache, InBetween, fill_spans, inbetween
from tweenlab.propagation.inbetween import BoxTuple, Method, box_problem, next_cut, shot_start
from tweenlab.propagation.shapes import extend_shape, fill_shape_span
from tweenlab.propagation.tracker import track_span
from tweenlab.services.annotations import load_annotations, save_annotations
from tweenlab.services.flow import flow_cache, flow_job
from tweenlab.services.keyframes import analyse_video
from tweenlab.settings import Settings

__all__ = [
    "TrackReport",
    "fill_annotations",
    "flow_cache",
    "flow_job",
    "propagate_annotations",
    "propagate_file",
    "read_keyframes",
]


def read_keyframes(path: Path) -> tuple[int | None, dict[int, BoxTuple | None]]:
    """Read a keyframes file; ``FormatError`` names the file and key for anything malformed."""
    data = _document(path)
    if not isinstance(data, dict) or not isinstance(data.get("keyframes"), dict):
        raise FormatError(path, 'needs {"keyframes": {"frame": [x, y, w, h] or null}}')
    frames = data.get("frames")
    if frames is not None and (not _is_number(frames, whole=True) or frames < 1):
        raise FormatError(path, f"must be a positive whole number, got {frames!r}", field="frames")
    keys: dict[int, BoxTuple | None] = {}
    for key, value in data["keyframes"].items():
        if not (key.isascii() and key.isdigit()) or (len(key) > 1 and key.startswith("0")):
            raise FormatError(path, f"{key!r} is not a frame index", field=f"keyframes.{key}")
        if value is not None and (
            not isinstance(value, list) or len(value) != 4 or not all(_is_number(v) for v in value)
        ):
            raise FormatError(
                path, f"{value!r} is not [x, y, w, h] or null", field=f"keyframes.{key}"
            )
        if value is not None and (problem := box_problem(value)):
            raise FormatError(path, f"box {value!r} {problem}", field=f"keyframes.{key}")
        keys[int(key)] = None if value is None else (value[0], value[1], value[2], value[3])
    return frames, keys


def _document(path: Path) -> Any:
    """The parsed JSON of a keyframes file; ``FormatError`` for one that cannot be read."""
    try:
        return json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_unique)
    except FileNotFoundError:
        raise FormatError(path, "no such file") from None
    except OSError as error:  # a directory, no permission
        raise FormatError(path, f"cannot read ({error.strerror})") from None
    except UnicodeDecodeError as error:
        raise FormatError(path, f"not UTF-8 text (byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise FormatError(path, f"not valid JSON: {error.msg}", line=error.lineno) from None
    except RecursionError:
        raise FormatError(path, "nested too deeply to be a keyframes file") from None
    except _DuplicateKeyError as error:
        key = error.args[0]
        field = f"keyframes.{key}" if key not in ("frames", "keyframes") else key
        raise FormatError(path, f"{key!r} is given twice", field=field) from None
    except ValueError as error:  # an integer of more digits than Python converts (4300)
        raise FormatError(path, f"not readable JSON: {str(error).splitlines()[0][:120]}") from None


class _DuplicateKeyError(ValueError):
    """A JSON object names one key twice (``json`` would keep the last silently)."""


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object as a dict; ``_DuplicateKeyError`` for a key given twice (one keyframe
    box would otherwise vanish without a word)."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _DuplicateKeyError(key)
        found[key] = value
    return found


def _is_number(value: object, *, whole: bool = False) -> bool:
    """A JSON number (``true`` and ``false`` are not numbers here)."""
    kinds = (int,) if whole else (int, float)
    return isinstance(value, kinds) and not isinstance(value, bool)


def propagate_file(
    video: Path,
    keyframes: Path,
    out: Path,
    settings: Settings,
    *,
    method: Method = "flow",
    cuts: bool = True,
) -> InBetween:
    """Fill every frame of ``video`` from the keyframes in ``keyframes``; write ``out``.

    A file whose ``frames`` is less than the video's count (ground truth of the first N frames
    only) gets its first N frames, the later ones neither filled nor written; one that claims
    more frames than the video has is refused. With ``cuts`` (flow or tracker) the video's shot
    boundaries are found first (one pass at a small size, kept among the derived files) and
    nothing is carried across them."""
    frames, keys = read_keyframes(keyframes)
    derived = DerivedFiles(settings.derived_dir)
    index = derived.index(video)
    if frames is not None and frames > len(index):
        raise UsageError(f"{keyframes}: says {frames} frames, {video} has {len(index)}")
    count = len(index) if frames is None else frames
    outside = sorted(f for f in keys if not 0 <= f < count)
    if outside:
        whose = f'the {count} frames its "frames" gives' if frames is not None else str(video)
        raise UsageError(
            f"{keyframes}, keyframes.{outside[0]}: frame {outside[0]} is outside {whose} "
            f"(0..{count - 1})"
        )
    cache = None
    if method != "linear":
        cache = flow_cache(video, index, derived, settings)
    boundaries = analyse_video(video, settings).analysis.boundaries if cache and cuts else []
    boundaries = [b for b in boundaries if b < count]
    filled = inbetween(count, keys, cache, method=method, cuts=boundaries)
    document = {
        "boxes": {str(f): (list(b) if b else None) for f, b in enumerate(filled.boxes)},
        "confidence": {str(f): round(c, 4) for f, c in enumerate(filled.confidence)},
        "suggested": sorted(filled.suggested),
        "cuts": boundaries,
    }
    write_atomic(out, json.dumps(document).encode())
    return filled


@dataclass(frozen=True)
class TrackReport:
    """What in-betweening did for one track: frames filled by motion between keyframes, the
    least confident of them per span (the suggested next keyframes), spans left straight
    because a scene cut lies inside them, frames carried past the first and last keyframes,
    where the object was found to leave the picture after its last keyframe, and the keyframes
    whose box has no area (nothing to follow: their spans stay straight, they are not carried)."""

    track: int
    filled: int
    suggested: list[int]
    across_cuts: list[tuple[int, int]]
    extended: int = 0
    leaves: int | None = None
    zero_size: list[int] = field(default_factory=list)


def fill_annotations(
    annotations: AnnotationSet,
    cache: FlowCache,
    *,
    cuts: Sequence[int] = (),
    within: tuple[int, int] | None = None,
    extend: bool = True,
    method: Literal["flow", "tracker"] = "flow",
) -> tuple[AnnotationSet, list[TrackReport]]:
    """Every track's spans between two keyframes (the object in the picture) filled by motion,
    as in-between shapes with their confidence (keyframes untouched). Box spans keyed on the
    same two frames are carried together (``fill_spans``); other shapes span by span
    (``fill_shape_span``). A span with a scene cut inside keeps straight interpolation and both
    sides of the cut are suggested. ``within`` (first, last frame) fills only the spans that
    overlap it.

    With ``extend`` a track is also carried before its first keyframe and after its last (when
    the object is in the picture there) while the motion is followed, never across a cut; where
    it was lost, left the picture or met a cut after its last keyframe, the track ``leaves``.

    ``method="tracker"`` fills box spans with the single-object tracker (``track_span``)
    instead of the flow; other shapes, and extension, still follow the flow."""
    shots = sorted(cuts)
    count = annotations.video.frame_count
    low, high = within if within is not None else (0, count - 1)
    spans: dict[int, list[tuple[int, int]]] = {}
    empty: dict[int, list[int]] = {}  # keyframes whose box has no area: nothing to follow
    for track in annotations.tracks.values():
        frames = track.frames
        empty[track.id] = [f for f in frames if _no_area(track.keyframes[f].shape)]
        spans[track.id] = [
            (a, b)
            for a, b in itertools.pairwise(frames)
            if b - a > 1
            and not track.keyframes[a].outside
            and a < high
            and b > low
            and a not in empty[track.id]
            and b not in empty[track.id]
        ]
    shapes: dict[int, dict[int, Shape]] = {t: {} for t in annotations.tracks}
    scores: dict[int, dict[int, float]] = {t: {} for t in annotations.tracks}
    suggested: dict[int, list[int]] = {t: [] for t in annotations.tracks}
    across: dict[int, list[tuple[int, int]]] = {t: [] for t in annotations.tracks}
    boxes: dict[tuple[int, int], list[int]] = defaultdict(list)
    for track_id, track_spans in spans.items():
        track = annotations.tracks[track_id]
        for first, last in track_spans:
            cut = next((c for c in shots if first < c <= last), None)
            if cut is not None:
                across[track_id].append((first, last))
                suggested[track_id].extend(f for f in (cut - 1, cut) if first < f < last)
            elif track.kind is ShapeKind.BOX:
                boxes[(first, last)].append(track_id)
            else:
                a, b = track.keyframes[first].shape, track.keyframes[last].shape
                guided = fill_shape_span(cache, first, a, last, b)
                inner = range(first + 1, last)
                shapes[track_id].update(zip(inner, guided.shapes[1:-1], strict=True))
                scores[track_id].update(zip(inner, guided.confidence[1:-1].tolist(), strict=True))
                if guided.weakest is not None:
                    suggested[track_id].append(guided.weakest)
    for (first, last), members in boxes.items():
        _fill_boxes(
            annotations,
            cache,
            (first, last),
            members,
            method,
            shapes=shapes,
            scores=scores,
            suggested=suggested,
        )
    filled = {t: len(shapes[t]) for t in annotations.tracks}
    tracks = dict(annotations.tracks)
    for track_id, track in annotations.tracks.items() if extend else ():
        tracks[track_id] = _extend_track(
            track,
            cache,
            shots,
            (low, min(high, count - 1)),
            shapes=shapes[track_id],
            scores=scores[track_id],
            skip=empty[track_id],
        )
    tracks = {t: track.with_inbetween(shapes[t], scores[t]) for t, track in tracks.items()}
    reports = [
        TrackReport(
            t,
            filled[t],
            sorted(set(suggested[t])),
            across[t],
            len(shapes[t]) - filled[t],
            tracks[t].leaves,
            empty[t],
        )
        for t in annotations.tracks
    ]
    return replace(annotations, tracks=tracks), reports


def _fill_boxes(
    annotations: AnnotationSet,
    cache: FlowCache,
    span: tuple[int, int],
    members: list[int],
    method: Literal["flow", "tracker"],
    *,
    shapes: dict[int, dict[int, Shape]],
    scores: dict[int, dict[int, float]],
    suggested: dict[int, list[int]],
) -> None:
    """The box tracks ``members``, all keyed on both ends of ``span``, filled between them (by
    the flow together, or by the tracker one by one) into ``shapes``, ``scores`` and
    ``suggested``; a rotation turns as ``interpolate`` turns it."""
    first, last = span
    starts = [annotations.tracks[t].keyframes[first].shape for t in members]
    ends = [annotations.tracks[t].keyframes[last].shape for t in members]
    if method == "tracker":
        pairs = zip(_xywh(starts), _xywh(ends), strict=True)
        fills = [track_span(cache, first, a, last, b) for a, b in pairs]
    else:
        fills = fill_spans(cache, first, _xywh(starts), last, _xywh(ends))
    for track_id, a, b, fill in zip(members, starts, ends, fills, strict=True):
        for offset in range(1, last - first):
            x, y, w, h = fill.boxes[offset].tolist()
            rotation = interpolate(a, b, offset / (last - first)).rotation  # type: ignore[attr-defined]
            shapes[track_id][first + offset] = Box(x, y, max(w, 0.0), max(h, 0.0), rotation)
            scores[track_id][first + offset] = float(fill.confidence[offset])
        if fill.weakest is not None:
            suggested[track_id].append(fill.weakest)


def _extend_track(
    track: Track,
    cache: FlowCache,
    shots: Sequence[int],
    within: tuple[int, int],
    *,
    shapes: dict[int, Shape],
    scores: dict[int, float],
    skip: Sequence[int] = (),
) -> Track:
    """Carry ``track`` back from its first keyframe and on from its last (each when the object
    is in the picture there) within ``within`` (first, last frame) and its own shots, into
    ``shapes`` and ``scores``. Returns the track without what an earlier extension left in
    reach, and leaving where the object was lost, left the picture or met a cut."""
    low, high = within
    first, last = track.first_frame, track.last_frame
    kept, leaves = dict(track.inbetween), track.leaves
    if low < first <= high + 1 and not track.keyframes[first].outside and first not in skip:
        stop = max(shot_start(shots, first), low) - 1
        back = extend_shape(cache, first, track.keyframes[first].shape, stop, step=-1)
        kept = {f: shape for f, shape in kept.items() if not stop < f < first}
        for k, (shape, score) in enumerate(zip(back.shapes, back.confidence, strict=True)):
            shapes[first - 1 - k], scores[first - 1 - k] = shape, float(score)
    if low - 1 <= last < high and not track.keyframes[last].outside and last not in skip:
        cut = next_cut(shots, last)
        stop = min(high + 1, cut if cut is not None else high + 1)
        ahead = extend_shape(cache, last, track.keyframes[last].shape, stop, step=1)
        kept = {f: shape for f, shape in kept.items() if not last < f < stop}
        for k, (shape, score) in enumerate(zip(ahead.shapes, ahead.confidence, strict=True)):
            shapes[last + 1 + k], scores[last + 1 + k] = shape, float(score)
        if ahead.lost or stop == cut:
            leaves = last + 1 + len(ahead.shapes)
            kept = {f: shape for f, shape in kept.items() if f < leaves}
        elif leaves is not None and leaves <= high:
            leaves = None
    return replace(track, inbetween=kept, leaves=leaves)


def _no_area(shape: Shape) -> bool:
    """A box of zero width or height (a point or a line): no pixels whose motion to follow."""
    return isinstance(shape, Box) and (shape.w <= 0 or shape.h <= 0)


def _xywh(boxes: Sequence[Shape]) -> npt.NDArray[np.float64]:
    return np.array([[b.x, b.y, b.w, b.h] for b in boxes], dtype=np.float64)  # type: ignore[attr-defined]


def propagate_annotations(
    video: Path,
    annotations_path: Path,
    out: Path,
    settings: Settings,
    *,
    cuts: bool = True,
    method: Literal["flow", "tracker"] = "flow",
) -> list[TrackReport]:
    """Fill every track of a native annotation file by motion (box spans by the tracker with
    ``method="tracker"``); write the result to ``out`` (native, with in-between shapes:
    ``tweenlab export`` then exports them)."""
    annotations = load_annotations(annotations_path)
    derived = DerivedFiles(settings.derived_dir)
    index = derived.index(video)
    if len(index) != annotations.video.frame_count:
        raise UsageError(
            f"{annotations_path}: annotates {annotations.video.frame_count} frames, {video} "
            f"has {len(index)}"
        )
    cache = flow_cache(video, index, derived, settings)
    boundaries = analyse_video(video, settings).analysis.boundaries if cuts else []
    filled, reports = fill_annotations(annotations, cache, cuts=boundaries, method=method)
    save_annotations(filled, out)
    return reports
