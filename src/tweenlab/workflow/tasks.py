"""Tasks: splitting a video into frame ranges, and joining the tracks of those tasks again.

A task is a half-open frame range ``[start, stop)`` of one video. Neighbouring tasks may share
``overlap`` frames so that an annotator sees where the objects come from; those shared frames are
also how ``merge_task_tracks`` knows which task-local track continues which. CVAT leaks a new
identity for every object at every task boundary (cvat#9860); here a track that crosses a boundary
keeps one id in the video's annotations, so exports keep it too.

Frames are always the video's frame indices, in tasks as everywhere else: the annotation set of a
task refers to the whole video and holds keyframes only inside its task's range.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from tweenlab.core.annotations import AnnotationSet, ClipClass, Event, FrameTag
from tweenlab.core.shapes import Box, Shape
from tweenlab.core.thinning import box_iou
from tweenlab.core.track import Keyframe, Track
from tweenlab.errors import AnnotationError, UsageError

__all__ = [
    "TaskRange",
    "merge_task_tracks",
    "split_by_clips",
    "split_by_frames",
    "split_by_scenes",
]

Part = tuple["TaskRange", AnnotationSet]
_Item = TypeVar("_Item")


@dataclass(frozen=True, order=True)
class TaskRange:
    """The frames ``start .. stop - 1`` of a video, given to one task.

    Example:
        >>> task = TaskRange(100, 200)
        >>> len(task), 150 in task, task.last
        (100, True, 199)
    """

    start: int
    stop: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.stop:
            raise UsageError(
                f"a task range needs 0 <= start < stop, got [{self.start}, {self.stop})"
            )

    def __len__(self) -> int:
        return self.stop - self.start

    def __contains__(self, frame: object) -> bool:
        return isinstance(frame, int) and self.start <= frame < self.stop

    @property
    def last(self) -> int:
        """The last frame of the task."""
        return self.stop - 1

    def shared(self, other: TaskRange) -> range:
        """The frames both tasks hold (empty when they do not overlap)."""
        return range(max(self.start, other.start), min(self.stop, other.stop))

    def __str__(self) -> str:
        return f"frames {self.start}..{self.last}"


def split_by_frames(frame_count: int, size: int, overlap: int = 0) -> list[TaskRange]:
    """Tasks of ``size`` frames, each sharing ``overlap`` frames with the next; the last may be
    shorter.

    The split stops at the first task that reaches the end, so no task lies wholly inside its
    neighbour.

    Raises:
        UsageError: For a video without frames, ``size < 1`` or ``overlap`` outside
            ``0 .. size - 1`` (a task would never move forward).

    Example:
        >>> [(t.start, t.stop) for t in split_by_frames(250, 100, overlap=10)]
        [(0, 100), (90, 190), (180, 250)]
    """
    if frame_count < 1:
        raise UsageError(f"a video of {frame_count} frames has nothing to split into tasks")
    if size < 1:
        raise UsageError(f"task size must be at least 1 frame, got {size}")
    if not 0 <= overlap < size:
        raise UsageError(
            f"overlap must be in 0..{size - 1} for tasks of {size} frames, not {overlap}"
        )
    tasks = [TaskRange(0, min(size, frame_count))]
    while tasks[-1].stop < frame_count:
        start = tasks[-1].stop - overlap
        tasks.append(TaskRange(start, min(start + size, frame_count)))
    return tasks


def split_by_clips(
    ranges: Iterable[tuple[int, int]], *, frame_count: int | None = None
) -> list[TaskRange]:
    """A task per clip, from half-open ``(start, stop)`` ranges (``tweenlab.media.clip_ranges``
    gives them), in frame order.

    Clips may overlap (then their tracks are matched on the shared frames) or leave gaps (frames
    nobody annotates).

    Raises:
        UsageError: For no clips, an empty or reversed range, the same clip twice, or a clip
            past ``frame_count`` when it is given.

    Example:
        >>> [(t.start, t.stop) for t in split_by_clips([(300, 900), (0, 300)])]
        [(0, 300), (300, 900)]
    """
    tasks = sorted(TaskRange(int(start), int(stop)) for start, stop in ranges)
    if not tasks:
        raise UsageError("no clips to make tasks of")
    for first, second in pairwise(tasks):
        if first == second:
            raise UsageError(f"clip {first} is given twice")
    if frame_count is not None and tasks[-1].stop > frame_count:
        late = max(tasks, key=lambda task: task.stop)
        raise UsageError(f"clip {late} ends past the video's {frame_count} frames")
    return tasks


def split_by_scenes(
    frame_count: int, cuts: Iterable[int], max_size: int | None = None
) -> list[TaskRange]:
    """A task per shot, the shots starting at ``cuts``; shots longer than ``max_size`` are cut
    into pieces of ``max_size`` frames (the last piece shorter).

    Shots never share frames: a cut is a change of scene, so no object crosses it.

    Raises:
        UsageError: For a video without frames, a cut outside ``0 .. frame_count`` (cuts at 0 and
            at ``frame_count`` are ignored) or ``max_size < 1``.

    Example:
        >>> [(t.start, t.stop) for t in split_by_scenes(100, [40, 0, 100], max_size=30)]
        [(0, 30), (30, 40), (40, 70), (70, 100)]
    """
    if frame_count < 1:
        raise UsageError(f"a video of {frame_count} frames has nothing to split into tasks")
    if max_size is not None and max_size < 1:
        raise UsageError(f"max_size must be at least 1 frame, got {max_size}")
    cuts = list(cuts)
    for cut in cuts:
        if not 0 <= cut <= frame_count:
            raise UsageError(f"cut at frame {cut} is outside the video (0..{frame_count})")
    tasks: list[TaskRange] = []
    for start, stop in pairwise(sorted({0, *cuts, frame_count})):
        pieces = split_by_frames(stop - start, max_size or stop - start)
        tasks += [TaskRange(start + p.start, start + p.stop) for p in pieces]
    return tasks


# -- joining task-local tracks into video tracks ---------------------------------------------


def merge_task_tracks(parts: Sequence[Part], *, iou_threshold: float = 0.5) -> AnnotationSet:
    """The annotations of a whole video from those of its tasks, one identity per object.

    Consecutive tasks (in frame order) are matched two by two. When they share frames, a track of
    the earlier task and one of the later continue each other when they have the same label and
    kind and their mean IoU over the shared frames (frames where either is in the picture; 0
    where only one is) is at least ``iou_threshold``. When the later task starts right after the
    earlier one, a track in the picture on the earlier task's last frame continues one that is in
    the picture on the later task's first frame with IoU at least ``iou_threshold`` there. Pairs
    are taken greedily, best IoU first, each track at most once, so two objects that come close
    are not swapped unless their own boxes say so.

    Matched tracks become one track with the keyframes of both (on a frame where both have one,
    the earlier task's wins); in-between shapes are kept only where their span is unchanged. A
    track that does not continue into the next task is marked outside on the frame after its
    task, since nobody annotated it beyond. Ids are new: 1, 2, ... in the order tracks first
    appear. IoU is of boxes (rotated exactly) or, for other shapes, of their bounding boxes.

    Tags, events and classes are joined; an event continued across a boundary (same label and
    attributes, overlapping or touching) becomes one.

    Args:
        parts: Each task's range and annotation set; every set is of the same video, in video
            frames, with keyframes only inside its range.
        iou_threshold: The least IoU for two tracks to be one object, in ``(0, 1]``.

    Raises:
        UsageError: For no parts, sets of different videos, a range past the video's end or a
            threshold outside ``(0, 1]``.
        AnnotationError: For a keyframe outside its task's range (names task and track).

    Example:
        >>> from tweenlab.core import Schema, VideoRef
        >>> video = VideoRef("v.mp4", frame_count=20, width=64, height=64)
        >>> def part(start, stop, x):
        ...     keys = {start: Keyframe(Box(x, 0, 10, 10)), stop - 1: Keyframe(Box(x, 0, 10, 10))}
        ...     return TaskRange(start, stop), AnnotationSet(
        ...         video, Schema.of("car"), {7: Track(7, "car", keys)})
        >>> merged = merge_task_tracks([part(0, 12, 5), part(10, 20, 6)])
        >>> sorted(merged.tracks), merged.tracks[1].frames
        ([1], (0, 10, 11, 19))
    """
    ordered = _checked_parts(parts, iou_threshold)
    chains: list[list[tuple[TaskRange, Track]]] = []
    chain_of: dict[int, list[tuple[TaskRange, Track]]] = {}  # previous part's track id -> chain
    for index, (task, labelled) in enumerate(ordered):
        matches: dict[int, int] = {}  # this part's track id -> previous part's track id
        if index > 0:
            previous, before = ordered[index - 1]
            matches = _match(previous, before, task, labelled, iou_threshold)
        current: dict[int, list[tuple[TaskRange, Track]]] = {}
        for track in labelled.tracks.values():
            chain = chain_of[matches[track.id]] if track.id in matches else []
            if not chain:
                chains.append(chain)
            chain.append((task, track))
            current[track.id] = chain
        chain_of = current
    first = ordered[0][1]
    tracks = [_joined(chain, number + 1, first) for number, chain in enumerate(chains)]
    return AnnotationSet(
        first.video,
        first.schema,
        {track.id: track for track in tracks},
        tags=_unique([tag for _, part in ordered for tag in part.tags], _tag_key),
        events=_joined_events([event for _, part in ordered for event in part.events]),
        classes=_unique([clip for _, part in ordered for clip in part.classes], _class_key),
    )


def _checked_parts(parts: Sequence[Part], iou_threshold: float) -> list[Part]:
    """``parts`` in frame order, after checking what ``merge_task_tracks`` promises to refuse."""
    if not parts:
        raise UsageError("no tasks to merge")
    if not 0 < iou_threshold <= 1:
        raise UsageError(f"iou_threshold must be in (0, 1], got {iou_threshold}")
    video = parts[0][1].video
    for task, labelled in parts:
        if labelled.video != video:
            raise UsageError(f"task {task} annotates {labelled.video.name}, not {video.name}")
        if task.stop > video.frame_count:
            raise UsageError(f"task {task} ends past the video's {video.frame_count} frames")
        for track in labelled.tracks.values():
            if track.first_frame < task.start or track.last_frame >= task.stop:
                raise AnnotationError(
                    f"has keyframes outside {task}", field=f"task {task} track {track.id}"
                )
    return sorted(parts, key=lambda part: (part[0].start, part[0].stop))


def _match(
    earlier: TaskRange,
    before: AnnotationSet,
    later: TaskRange,
    after: AnnotationSet,
    iou_threshold: float,
) -> dict[int, int]:
    """Later track id -> earlier track id, for the tracks that continue each other."""
    shared = earlier.shared(later)
    if shared:
        frames = np.arange(shared.start, shared.stop, dtype=np.int64)
        frames_before = frames_after = frames
    elif later.start == earlier.stop:
        frames_before = np.array([earlier.last], dtype=np.int64)
        frames_after = np.array([later.start], dtype=np.int64)
    else:
        return {}  # a gap: nobody saw the objects in between
    boxes_before = {t.id: _boxes(t, frames_before) for t in before.tracks.values()}
    boxes_after = {t.id: _boxes(t, frames_after) for t in after.tracks.values()}
    scored: list[tuple[float, int, int]] = []
    for a in before.tracks.values():
        for b in after.tracks.values():
            if a.label == b.label and a.kind is b.kind:
                score = _mean_iou(boxes_before[a.id], boxes_after[b.id])
                if score >= iou_threshold:
                    scored.append((-score, a.id, b.id))
    matches: dict[int, int] = {}
    for _, a_id, b_id in sorted(scored):
        if b_id not in matches and a_id not in matches.values():
            matches[b_id] = a_id
    return matches


def _boxes(track: Track, frames: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """``(F, 5)`` boxes of ``track`` on ``frames``, NaN where it is not in the picture."""
    boxes = np.full((len(frames), 5), np.nan)
    for row, frame in enumerate(frames.tolist()):
        state = track.at(frame)
        if state is not None and state.visible:
            boxes[row] = _box_of(state.shape)
    return boxes


def _box_of(shape: Shape) -> npt.NDArray[np.float64]:
    # A box keeps its rotation for an exact IoU; every other kind is compared by its bbox.
    if isinstance(shape, Box):
        return shape.array
    return np.array([*shape.bbox(), 0.0])


def _mean_iou(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> float:
    """Mean IoU over the frames where either track is in the picture (0 where only one is)."""
    here_a, here_b = ~np.isnan(a[:, 0]), ~np.isnan(b[:, 0])
    either = here_a | here_b
    if not either.any():
        return 0.0
    both = here_a & here_b
    ious = np.zeros(len(a))
    if both.any():
        ious[both] = box_iou(a[both], b[both])
    return float(ious[either].mean())


def _joined(chain: list[tuple[TaskRange, Track]], track_id: int, video: AnnotationSet) -> Track:
    """One video track from the task tracks of ``chain`` (in task order)."""
    keyframes: dict[int, Keyframe] = {}
    for _, track in chain:
        for frame, keyframe in track.keyframes.items():
            keyframes.setdefault(frame, keyframe)  # the earlier task's keyframe wins
    frames = sorted(keyframes)
    inbetween = {
        frame: shape
        for _, track in chain
        for low, high in pairwise(frames)
        if _same_span(track, keyframes, low, high)
        for frame, shape in track.inbetween.items()
        if low < frame < high
    }
    first, final = chain[0][1], chain[-1][1]
    confidence = {f: c for _, track in chain for f, c in track.confidence.items()}
    if first.first_frame == frames[0]:  # extended before its first keyframe
        inbetween.update((f, s) for f, s in first.inbetween.items() if f < frames[0])
    leaves = None
    end_key = final.keyframes.get(frames[-1])
    if final.last_frame == frames[-1] and end_key == keyframes[frames[-1]]:  # its tail holds
        inbetween.update((f, s) for f, s in final.inbetween.items() if f > frames[-1])
        leaves = final.leaves
    end = chain[-1][0].stop
    last = keyframes[frames[-1]]
    if end < video.video.frame_count and not last.outside and frames[-1] < end and leaves is None:
        keyframes[end] = replace(last, outside=True)
    return replace(
        first,
        id=track_id,
        keyframes=keyframes,
        inbetween=inbetween,
        confidence=confidence,
        leaves=leaves,
    )


def _same_span(track: Track, merged: dict[int, Keyframe], low: int, high: int) -> bool:
    """Whether ``low .. high`` is a span of ``track`` too, with its own keyframes at both ends."""
    own = track.keyframes
    if own.get(low) is not merged[low] or own.get(high) is not merged[high]:
        return False
    return not any(low < frame < high for frame in own)


def _tag_key(tag: FrameTag) -> tuple[object, ...]:
    return (tag.frame, tag.label, tuple(sorted(tag.attributes.items())))


def _class_key(clip: ClipClass) -> tuple[object, ...]:
    return (clip.label, clip.start, clip.end, tuple(sorted(clip.attributes.items())))


def _unique(items: list[_Item], key: Callable[[_Item], Hashable]) -> tuple[_Item, ...]:
    """``items`` without repeats (the frames two tasks share carry the same tags twice)."""
    seen: dict[Hashable, _Item] = {}
    for item in items:
        seen.setdefault(key(item), item)
    return tuple(seen.values())


def _joined_events(events: list[Event]) -> tuple[Event, ...]:
    """Events with those of the same label and attributes that overlap or touch made one: an
    action annotated on both sides of a task boundary is one action."""
    joined: list[Event] = []
    for event in sorted(events, key=lambda e: (_event_key(e), e.start, e.end)):
        last = joined[-1] if joined else None
        if (
            last is not None
            and _event_key(last) == _event_key(event)
            and event.start <= last.end + 1
        ):
            joined[-1] = replace(last, end=max(last.end, event.end))
        else:
            joined.append(event)
    return tuple(sorted(joined, key=lambda e: (e.start, e.end, e.label)))


def _event_key(event: Event) -> tuple[str, tuple[object, ...]]:
    return event.label, tuple(sorted(event.attributes.items()))
