"""Auto-labelling use case: a labeler pre-labels a video, detections become thinned tracks
marked as predictions, the video gets classes.

``autolabel_file`` is what ``tweenlab autolabel`` runs: label every Nth frame (or given
frames), track by detection, thin each track to the fewest keyframes that reproduce its
detections, and write a native annotation file. When the file exists already (a person has
worked on it), only its unaccepted predictions (``source == "auto"``) are replaced; every other
track stays as it is. Nothing is written unless the whole run succeeds.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from tweenlab.autolabel import Labeler, LabelerOptions, factory_needs, read_class_names
from tweenlab.autolabel.classes import events_from_frames, labels_present, video_classes
from tweenlab.autolabel.run import FrameDetections, every_nth, label_frames
from tweenlab.autolabel.tracking import (
    MIN_LENGTH,
    DetectedTrack,
    TrackerParams,
    to_tracks,
    track_detections,
)
from tweenlab.core.annotations import AnnotationSet, ClipClass, Event, VideoRef
from tweenlab.core.schema import Schema
from tweenlab.core.track import Track
from tweenlab.errors import LabelerError, PluginError, UsageError
from tweenlab.media import VideoReader
from tweenlab.plugins import registry
from tweenlab.services.annotations import load_annotations, save_annotations, video_ref
from tweenlab.settings import Settings

__all__ = [
    "AUTO",
    "DEFAULT_LABELER",
    "AutolabelReport",
    "LabelerInfo",
    "Prelabels",
    "accept_predictions",
    "autolabel_file",
    "describe_labelers",
    "labeler_options",
    "make_labeler",
    "prelabel",
    "with_predictions",
]

Reporter = Callable[[str, int, int], None]
#: Thins tracks again given the detected tracks they came from (``follow_motion``).
Refiner = Callable[[Sequence[DetectedTrack], list[Track]], list[Track]]
AUTO = "auto"
#: What ``tweenlab autolabel``, the server and the demo use unless told otherwise (80 COCO
#: classes).
DEFAULT_LABELER = "yolov3-tiny"


def _quiet(task: str, done: int, total: int) -> None:
    del task, done, total


def labeler_options(
    *,
    model: Path | None = None,
    classes: Path | Sequence[str] | None = None,
    url: str | None = None,
    min_score: float = 0.25,
    extra: Sequence[str] | Mapping[str, str | float | int] = (),
) -> LabelerOptions:
    """``LabelerOptions`` from what a person types: a class-names file or a list, and
    ``KEY=VALUE`` settings (numbers become numbers).

    Example:
        >>> labeler_options(classes=["car"], extra=["input_size=640"]).extra
        {'input_size': 640}
    """
    if not 0.0 <= min_score <= 1.0:
        raise UsageError(f"--min-score must be in 0..1, got {min_score}")
    if isinstance(classes, Path):
        names: tuple[str, ...] | None = read_class_names(classes)
    else:
        names = tuple(classes) if classes is not None else None
    if isinstance(extra, Mapping):
        return LabelerOptions(model, names, min_score, url, extra=dict(extra))
    settings: dict[str, str | float | int] = {}
    for item in extra:
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            raise UsageError(f"--option: {item!r} is not KEY=VALUE")
        settings[key.strip()] = _number_or_text(value.strip())
    return LabelerOptions(model=model, classes=names, min_score=min_score, url=url, extra=settings)


def _number_or_text(value: str) -> str | float | int:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            continue
    return value


def make_labeler(name: str, options: LabelerOptions) -> Labeler:
    """The registered labeler ``name`` built from ``options``.

    Raises:
        UsageError: No labeler has that name (the message lists the known ones).
        LabelerError: It cannot be built from these options.
    """
    try:
        factory = registry("labelers").get(name)
    except PluginError as error:
        raise UsageError(f"--labeler: {error}") from None
    labeler = factory(options)  # type: ignore[operator]
    if not isinstance(labeler, Labeler):
        raise LabelerError(name, "its factory did not return a Labeler")
    return labeler


@dataclass(frozen=True)
class LabelerInfo:
    """A registered labeler as a form offers it.

    Attributes:
        name: Its registered name.
        description: The first paragraph of its module's docstring (one labeler per module),
            else of its factory's; empty when neither has one.
        needs: ``LabelerOptions`` fields it cannot be built without (``autolabel.needs``).
        error: Why its factory cannot be loaded (a missing dependency), or None.
        default: Whether it is ``DEFAULT_LABELER``.
    """

    name: str
    description: str
    needs: tuple[str, ...] = ()
    error: str | None = None
    default: bool = False


def describe_labelers() -> list[LabelerInfo]:
    """Every registered labeler, by name; a factory that fails to import is listed with why.

    Loading a factory imports its module (OpenCV, numpy) but builds no model.
    """
    labelers = registry("labelers")
    found = []
    for name in labelers.names():
        try:
            factory = labelers.get(name)
        except PluginError as error:
            found.append(LabelerInfo(name, "", error=str(error), default=name == DEFAULT_LABELER))
            continue
        info = LabelerInfo(name, _summary(factory), factory_needs(factory))
        found.append(replace(info, default=name == DEFAULT_LABELER))
    return found


def _summary(factory: object) -> str:
    module = inspect.getmodule(factory)
    for text in (module.__doc__ if module else None, inspect.getdoc(factory)):
        paragraph = (text or "").strip().split("\n\n")[0]
        if paragraph:
            return " ".join(paragraph.replace("``", "").split())
    return ""


@dataclass(frozen=True)
class Prelabels:
    """What a labeler's detections became.

    Attributes:
        tracks: Thinned box tracks, ``source="auto"``, each with its mean score.
        classes: Video classes from the aggregated frame predictions (``attributes["source"]``
            is ``"auto"``).
        events: Where each class is present, as temporal events (gaps of up to two samples
            filled, runs shorter than two samples dropped; ``attributes["source"]`` ``"auto"``).
        detections: Boxes found over all labelled frames.
        frames_with_detections: Labelled frames on which anything was found.
    """

    tracks: tuple[Track, ...]
    classes: tuple[ClipClass, ...]
    events: tuple[Event, ...]
    detections: int
    frames_with_detections: int

    @property
    def keyframes(self) -> int:
        """Keyframes over all tracks (outside keyframes included)."""
        return sum(len(track.keyframes) for track in self.tracks)


def prelabel(
    found: FrameDetections,
    frame_count: int,
    *,
    first_id: int = 1,
    min_iou: float = 0.9,
    params: TrackerParams | None = None,
    refine: Refiner | None = None,
) -> Prelabels:
    """Track ``found`` by detection, thin the tracks, and classify the video.

    ``refine`` is given the detected tracks and the linearly thinned tracks made of them (in
    the same order) and returns the tracks kept (``autolabel_motion.follow_motion`` thins them
    along the motion)."""
    frames = found.frames.tolist()
    tracked = track_detections(frames, found.detections, params or TrackerParams())
    detected = [d for d in tracked if len(d) >= MIN_LENGTH]  # as to_tracks keeps them
    step = int(np.median(np.diff(found.frames))) if len(frames) > 1 else 1
    tracks = to_tracks(
        detected,
        found.classes,
        frame_count=frame_count,
        first_id=first_id,
        min_iou=min_iou,
        sample_step=step,
    )
    if refine is not None:
        tracks = refine(detected, tracks)
    marks = {"source": AUTO, "labeler": found.labeler}
    classes = [
        replace(clip, attributes={**clip.attributes, **marks})
        for clip in video_classes(frames, found.detections, found.classes)
    ]
    present = labels_present(found.detections, found.classes)
    events = [
        replace(event, attributes=marks)
        for event in events_from_frames(
            frames, present, min_duration=2 * step, max_gap=2 * step, frame_count=frame_count
        )
    ]
    return Prelabels(
        tuple(tracks),
        tuple(classes),
        tuple(events),
        found.count(),
        sum(1 for d in found.detections if len(d)),
    )


def with_predictions(annotations: AnnotationSet, prelabels: Prelabels) -> AnnotationSet:
    """``annotations`` with its unaccepted predictions (tracks and classes) replaced by
    ``prelabels``; accepted and manual work is kept as it is. New labels join the schema."""
    kept = {k: t for k, t in annotations.tracks.items() if t.source != AUTO}
    start = max(kept, default=0) + 1
    shift = start - min((t.id for t in prelabels.tracks), default=start)
    tracks = {t.id + shift: replace(t, id=t.id + shift) for t in prelabels.tracks}
    labels = {t.label for t in tracks.values()} | {c.label for c in prelabels.classes}
    labels |= {e.label for e in prelabels.events}
    schema = annotations.schema.merged(sorted(labels - set(annotations.schema.names)))
    classes = [c for c in annotations.classes if c.attributes.get("source") != AUTO]
    events = [e for e in annotations.events if e.attributes.get("source") != AUTO]
    return replace(
        annotations,
        schema=schema,
        tracks={**kept, **tracks},
        classes=(*classes, *prelabels.classes),
        events=(*events, *prelabels.events),
    )


def accept_predictions(
    annotations: AnnotationSet, track_ids: Sequence[int] | None = None
) -> AnnotationSet:
    """Predictions turned into ordinary tracks (``source="manual"``, no score): all of them,
    with the predicted classes and events, or the tracks in ``track_ids``."""
    chosen = set(annotations.tracks) if track_ids is None else set(track_ids)
    missing = chosen - set(annotations.tracks)
    if missing:
        raise UsageError(f"no track {sorted(missing)[0]} in the annotations")
    accepted = [
        replace(t, source="manual", score=None)
        for k, t in annotations.tracks.items()
        if k in chosen and t.source == AUTO
    ]
    updated = annotations.with_tracks(accepted)
    if track_ids is not None:
        return updated
    return replace(
        updated,
        classes=tuple(replace(c, attributes=_unmarked(c.attributes)) for c in updated.classes),
        events=tuple(replace(e, attributes=_unmarked(e.attributes)) for e in updated.events),
    )


def _unmarked(attributes: Mapping[str, Any]) -> dict[str, Any]:
    if attributes.get("source") != AUTO:
        return dict(attributes)
    return {k: v for k, v in attributes.items() if k not in ("source", "labeler")}


@dataclass(frozen=True)
class AutolabelReport:
    """What ``autolabel_file`` did.

    Attributes:
        out: The annotation file written.
        labeler: The labeler's name.
        frames_labelled: Frames the labeler saw.
        prelabels: The predictions made.
        kept_tracks: Tracks of an earlier file that were kept (not unaccepted predictions).
    """

    out: Path
    labeler: str
    frames_labelled: int
    prelabels: Prelabels
    kept_tracks: int


def autolabel_file(
    video: Path,
    out: Path,
    settings: Settings,
    *,
    labeler: str,
    options: LabelerOptions,
    every: int = 5,
    frames: Sequence[int] | str | None = None,
    min_iou: float = 0.9,
    follow_motion: bool = False,
    report: Reporter = _quiet,
) -> AutolabelReport:
    """Pre-label ``video`` with ``labeler`` and write (or update) the annotation file ``out``.

    The labeler sees every ``every``-th frame (and the last), or ``frames``: a list, or
    ``"suggested"`` for the frames keyframe suggestion picks (few and far apart: tracks across
    them hold only where objects move little between two of them).

    With ``follow_motion`` the tracks are thinned along the optical flow
    (``autolabel_motion``): fewer keyframes where objects move on curves, and in-between shapes
    that follow them, for the cost of computing the video's flow.

    Example:
        >>> autolabel_file(Path("clip.mp4"), Path("clip.json"), Settings(),
        ...                labeler="yolov3-tiny", options=LabelerOptions())  # doctest: +SKIP
    """
    if every < 1:
        raise UsageError(f"--every must be at least 1, got {every}")
    if not 0 < min_iou <= 1:  # NaN too
        raise UsageError(f"--min-iou must be above 0 and at most 1, got {min_iou}")
    ref, index = video_ref(video, settings)
    existing = _existing(out, ref)
    model = make_labeler(labeler, options)
    chosen = _frames_to_label(
        video, settings, ref.frame_count, every=every, frames=frames, report=report
    )
    with VideoReader(video, index=index) as reader:
        found = label_frames(reader, model, chosen, report=report)
    refine = _motion_refiner(video, settings, min_iou, report) if follow_motion else None
    prelabels = prelabel(found, ref.frame_count, min_iou=min_iou, refine=refine)
    updated = with_predictions(existing, prelabels)
    save_annotations(updated, out)
    kept = sum(1 for t in existing.tracks.values() if t.source != AUTO)
    return AutolabelReport(out, model.name, len(found), prelabels, kept)


def _motion_refiner(video: Path, settings: Settings, min_iou: float, report: Reporter) -> Refiner:
    from tweenlab.services.autolabel_motion import follow_motion, motion_thinning  # noqa: PLC0415 (flow: OpenCV)

    thinning = motion_thinning(video, settings, min_iou=min_iou)
    return lambda detected, tracks: follow_motion(thinning, detected, tracks, report=report)


def _frames_to_label(
    video: Path,
    settings: Settings,
    frame_count: int,
    *,
    every: int,
    frames: Sequence[int] | str | None,
    report: Reporter,
) -> list[int]:
    if frames is None:
        return every_nth(frame_count, every)
    if isinstance(frames, str):
        if frames != "suggested":
            raise UsageError(f"--frames: a list of frames or 'suggested', got {frames!r}")
        from tweenlab.services.keyframes import analyse_video  # noqa: PLC0415 (heavy)

        return list(analyse_video(video, settings, report=report).analysis.suggested)
    return list(frames)


def _existing(out: Path, ref: VideoRef) -> AnnotationSet:
    """The annotations ``out`` holds, to merge the predictions with: only a regular file is
    read (a device or a pipe is written into, never read), and only one of this video."""
    if out.is_dir():
        raise UsageError(f"--out {out}: is a folder; give a file name")
    if not out.is_file():
        return AnnotationSet(ref, Schema(()))
    existing = load_annotations(out)
    if _identity(existing.video) != _identity(ref):
        raise UsageError(
            f"--out {out} holds annotations of {_described(existing.video)}, not of "
            f"{_described(ref)}: give another --out"
        )
    return existing


def _identity(video: VideoRef) -> tuple[str, int, int, int, Fraction]:
    return video.name, video.frame_count, video.width, video.height, Fraction(video.fps)


def _described(video: VideoRef) -> str:
    return (
        f"{video.name} ({video.width}x{video.height}, {video.frame_count} frames at "
        f"{video.fps} fps)"
    )
