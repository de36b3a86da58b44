"""Video and clip classes and temporal events, aggregated from per-frame predictions.

This module owns how frame-level output of a labeler becomes annotation-level facts: a class
for the whole video (``video_classes``) or for fixed-length clips (``clip_classes``) when a
class is present on enough sampled frames, and ``Event``s (``events_from_frames``) where a
label is present over a run of frames. The class names become labels as they are: a caller
adds them to the schema (``Schema.of``) before it adds the classes or events to an
``AnnotationSet``.

Frames may be sampled (every Nth, or any increasing frames). A sample stands for the frames
from itself up to the one before the next sample, as a frame extracted every Nth frame does;
the last sample stands for itself only unless ``frame_count`` says where the video ends.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import numpy.typing as npt

from tweenlab.autolabel.base import Detections
from tweenlab.core.annotations import ClipClass, Event
from tweenlab.core.schema import AttributeValue

__all__ = ["clip_classes", "events_from_frames", "labels_present", "video_classes"]

IntArray = npt.NDArray[np.int64]


def _checked_frames(frames: Sequence[int] | IntArray, count: int) -> IntArray:
    array = np.asarray(frames, dtype=np.int64).reshape(-1)
    if len(array) != count:
        raise ValueError(f"{len(array)} frames but {count} predictions")
    if (np.diff(array) <= 0).any() or (array < 0).any():
        raise ValueError("frames must be non-negative and strictly increasing")
    return array


def _counts(detections: Sequence[Detections], classes: int, min_score: float) -> IntArray:
    """``(F, C)`` objects of each class with a score of at least ``min_score`` per frame."""
    counts = np.zeros((len(detections), classes), dtype=np.int64)
    for row, found in enumerate(detections):
        sure = found.class_ids[found.scores >= min_score]
        if len(sure) and (sure.min() < 0 or sure.max() >= classes):
            raise ValueError(f"class id {int(sure.max())} is not one of {classes} classes")
        counts[row] = np.bincount(sure, minlength=classes)
    return counts


def _classes_of(
    counts: IntArray, classes: Sequence[str], min_fraction: float
) -> list[tuple[str, dict[str, AttributeValue]]]:
    """Labels present on at least ``min_fraction`` of the frames of ``counts``, with how."""
    present = counts > 0
    found = []
    for column, name in enumerate(classes):
        frames = int(present[:, column].sum())
        fraction = frames / len(counts) if len(counts) else 0.0
        if frames == 0 or fraction < min_fraction:
            continue
        attributes: dict[str, AttributeValue] = {
            "frames": frames,
            "fraction": round(fraction, 4),
            "max_count": int(counts[:, column].max()),
            "mean_count": round(float(counts[present[:, column], column].mean()), 4),
        }
        found.append((name, attributes))
    return found


def video_classes(
    frames: Sequence[int] | IntArray,
    detections: Sequence[Detections],
    classes: Sequence[str],
    *,
    min_fraction: float = 0.1,
    min_score: float = 0.5,
) -> list[ClipClass]:
    """Whole-video classes: one ``ClipClass`` (``start = end = None``) per class found with a
    score of at least ``min_score`` on at least ``min_fraction`` of the sampled frames.

    The class name is the label (add it to the schema). Attributes say how it was found:
    ``frames`` (sampled frames with the class), ``fraction`` (of the sampled frames),
    ``max_count`` (most objects of it on one frame) and ``mean_count`` (objects per frame
    where present).

    Args:
        frames: The sampled frames, strictly increasing.
        detections: One ``Detections`` per sampled frame.
        classes: The labeler's class names.
        min_fraction: Share of sampled frames a class needs, in ``[0, 1]``.
        min_score: Detections below this score are not counted.

    Example:
        >>> car = Detections(np.array([[0, 0, 9, 9]]), np.array([0.9]), np.array([1]))
        >>> [(c.label, c.attributes["frames"]) for c in video_classes(
        ...     [0, 5, 10], [car, Detections.empty(), car], ["person", "car"])]
        [('car', 2)]
    """
    _checked_frames(frames, len(detections))
    counts = _counts(detections, len(classes), min_score)
    return [ClipClass(name, attributes=a) for name, a in _classes_of(counts, classes, min_fraction)]


def clip_classes(
    frames: Sequence[int] | IntArray,
    detections: Sequence[Detections],
    classes: Sequence[str],
    *,
    clip_frames: int,
    frame_count: int,
    min_fraction: float = 0.1,
    min_score: float = 0.5,
) -> list[ClipClass]:
    """Classes of fixed-length clips: frames ``k * clip_frames`` up to the next clip (the last
    one ends with the video), aggregated as ``video_classes`` does over the samples in each.

    Clips with no sample get no class. Returned in clip order, then class order.

    Example:
        >>> car = Detections(np.array([[0, 0, 9, 9]]), np.array([0.9]), np.array([0]))
        >>> none = Detections.empty()
        >>> found = clip_classes(
        ...     [0, 10, 20, 30], [car, car, none, none], ["car"], clip_frames=20, frame_count=35
        ... )
        >>> [(c.label, c.start, c.end) for c in found]
        [('car', 0, 19)]
    """
    if clip_frames < 1 or frame_count < 1:
        raise ValueError(
            f"needs clip_frames and frame_count >= 1, got {clip_frames}, {frame_count}"
        )
    array = _checked_frames(frames, len(detections))
    if len(array) and array[-1] >= frame_count:
        raise ValueError(f"frame {int(array[-1])} is past the video's {frame_count} frames")
    counts = _counts(detections, len(classes), min_score)
    clip_of = array // clip_frames
    result = []
    for clip in np.unique(clip_of).tolist():
        start, end = clip * clip_frames, min((clip + 1) * clip_frames, frame_count) - 1
        for name, attributes in _classes_of(counts[clip_of == clip], classes, min_fraction):
            result.append(ClipClass(name, start, end, attributes))
    return result


def labels_present(
    detections: Sequence[Detections], classes: Sequence[str], *, min_score: float = 0.5
) -> list[frozenset[str]]:
    """The labels found on each frame (score at least ``min_score``), for ``events_from_frames``.

    Example:
        >>> car = Detections(np.array([[0, 0, 9, 9]]), np.array([0.9]), np.array([1]))
        >>> labels_present([car, Detections.empty()], ["person", "car"])
        [frozenset({'car'}), frozenset()]
    """
    counts = _counts(detections, len(classes), min_score)
    return [frozenset(classes[c] for c in np.flatnonzero(row).tolist()) for row in counts]


def _runs(starts: IntArray, stops: IntArray, present: npt.NDArray[np.bool_]) -> list[list[int]]:
    """``[start, end]`` (inclusive) of the runs of consecutive present samples, in frames."""
    edges = np.diff(present.astype(np.int8), prepend=0, append=0)
    first, after = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [[int(starts[a]), int(stops[b - 1]) - 1] for a, b in zip(first, after, strict=True)]


def events_from_frames(
    frames: Sequence[int] | IntArray,
    labels: Sequence[Collection[str]],
    *,
    min_duration: int = 1,
    max_gap: int = 0,
    frame_count: int | None = None,
) -> list[Event]:
    """Temporal events: for each label, the runs of frames where it is present.

    All lengths are in frames, whatever the sampling: a sample covers the frames up to the
    next sample (the last one covers itself, or up to ``frame_count - 1`` when given). Runs
    of one label separated by at most ``max_gap`` frames are joined; runs shorter than
    ``min_duration`` frames (after joining) are dropped.

    Args:
        frames: The sampled frames, strictly increasing.
        labels: The labels present on each sampled frame (``labels_present`` gives them).
        min_duration: The fewest frames an event lasts.
        max_gap: The most frames without the label inside one event.
        frame_count: Frames in the video, to let the last sample cover up to its end.

    Returns:
        ``Event(start, end, label)`` with ``end`` inclusive, ordered by start then label.

    Example:
        >>> seen = [{"run"}, {"run"}, set(), {"run"}, set(), set(), set()]
        >>> [(e.start, e.end) for e in events_from_frames(range(0, 70, 10), seen, max_gap=10)]
        [(0, 39)]
    """
    array = _checked_frames(frames, len(labels))
    if min_duration < 1 or max_gap < 0:
        raise ValueError(f"needs min_duration >= 1 and max_gap >= 0, got {min_duration}, {max_gap}")
    if not len(array):
        return []
    last = array[-1] + 1 if frame_count is None else frame_count
    if last <= array[-1]:
        raise ValueError(f"frame {int(array[-1])} is past the video's {frame_count} frames")
    stops = np.append(array[1:], last)  # each sample covers [frame, stop)
    events = []
    for name in sorted({name for present in labels for name in present}):
        present = np.array([name in row for row in labels])
        joined: list[list[int]] = []
        for start, end in _runs(array, stops, present):
            if joined and start - joined[-1][1] - 1 <= max_gap:
                joined[-1][1] = end
            else:
                joined.append([start, end])
        events += [Event(s, e, name) for s, e in joined if e - s + 1 >= min_duration]
    return sorted(events, key=lambda e: (e.start, e.label))
