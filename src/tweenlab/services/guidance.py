"""Where an annotator should look next in a task: the editor's timeline marks.

Two views, both read from what is already stored, never computed in the request (no decoding,
no optical flow):

- a track's confidence (``track_confidence``): for each span between two keyframes of the
  object in the picture, the confidence that motion-guided in-betweening gave every frame it
  filled (``Track.confidence``) and the frame where the next keyframe is most needed, the
  lowest of them, as ``fill`` suggested it; a span left straight because a scene cut lies
  inside suggests both sides of the cut, as ``fill`` does;
- the task's scene cuts and suggested keyframes (``task_keyframes``): the keyframe analysis the
  video's ingest made, clipped to the task's frames.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from tweenlab.core import Track
from tweenlab.keyframes import Analysis
from tweenlab.services import task_annotations
from tweenlab.services.keyframes import stored_analysis
from tweenlab.services.projects import Access
from tweenlab.services.stored import StoredVideos
from tweenlab.services.tasks import visible_task
from tweenlab.services.videos import get_video, video_path
from tweenlab.settings import Settings
from tweenlab.store import Task, TrackRow

__all__ = [
    "SpanConfidence",
    "TaskKeyframes",
    "TrackConfidence",
    "span_confidence",
    "task_keyframes",
    "track_confidence",
]


@dataclass(frozen=True)
class SpanConfidence:
    """One span of a track between keyframes ``first`` and ``last``.

    Attributes:
        first: The keyframe it starts on (the object in the picture there).
        last: The keyframe it ends on.
        confidence: One value per frame ``first + 1 .. last - 1``: in-betweening's confidence,
            ``None`` on a frame it did not fill; ``None`` for the whole span when none was.
        suggested: Where the next keyframe is most needed in it: the first frame of lowest
            confidence, or both sides of a scene cut the span was left straight across.
        across_cut: A scene cut lies inside the span.
    """

    first: int
    last: int
    confidence: list[float | None] | None
    suggested: list[int]
    across_cut: bool


@dataclass(frozen=True)
class TrackConfidence:
    """A track's spans with their confidence, and every span's suggestions together."""

    row: TrackRow
    spans: list[SpanConfidence]

    @property
    def suggested(self) -> list[int]:
        """Every span's suggested frames, ascending."""
        return sorted({f for span in self.spans for f in span.suggested})


@dataclass(frozen=True)
class TaskKeyframes:
    """The keyframe analysis of the task's video within the task's frames.

    Attributes:
        analysed: Whether the video has been analysed (else the lists are empty).
        cuts: Every shot's first frame (hard cuts and the middle of transitions).
        transitions: ``(start, end)`` of each fade or dissolve overlapping the task.
        suggested: The frames worth labelling.
    """

    analysed: bool
    cuts: list[int]
    transitions: list[tuple[int, int]]
    suggested: list[int]


def span_confidence(track: Track, first: int, last: int, cuts: list[int]) -> SpanConfidence:
    """The span of ``track`` from keyframe ``first`` to ``last`` (see ``SpanConfidence``)."""
    inner = range(first + 1, last)
    values = [track.confidence.get(f) for f in inner]
    known = [(v, f) for f, v in zip(inner, values, strict=True) if v is not None]
    cut = next((c for c in cuts if first < c <= last), None)
    suggested: list[int] = []
    if known:
        suggested = [min(known)[1]]  # the lowest; the earliest of equals, as fill picks it
    elif cut is not None:
        suggested = [f for f in (cut - 1, cut) if first < f < last]
    return SpanConfidence(
        first, last, values if known else None, suggested, across_cut=cut is not None
    )


def track_confidence(
    db: Session,
    access: Access,
    settings: Settings,
    task_id: int,
    number: int,
    *,
    stored: StoredVideos | None = None,
) -> TrackConfidence:
    """Track ``number`` of task ``task_id``: its spans' confidence and suggested keyframes
    (``stored``: the server's way to videos in the storage, whose analysis is published).

    Raises:
        NotFoundError: No such task (for the caller) or track.
    """
    task = visible_task(db, access, task_id)
    row = task_annotations.read_track(db, access, task_id, number)
    track = task_annotations.parse_track(task, access.label_schema, number, row.data)
    analysis = _analysis(db, access, settings, task, stored)
    cuts = analysis.boundaries if analysis is not None else []
    spans = [
        span_confidence(track, a, b, cuts)
        for a, b in itertools.pairwise(track.frames)
        if b - a > 1 and not track.keyframes[a].outside
    ]
    return TrackConfidence(row, spans)


def task_keyframes(
    db: Session,
    access: Access,
    settings: Settings,
    task_id: int,
    *,
    stored: StoredVideos | None = None,
) -> TaskKeyframes:
    """The scene cuts and suggested keyframes of task ``task_id``'s frames.

    Raises:
        NotFoundError: No such task (for the caller).
    """
    task = visible_task(db, access, task_id)
    analysis = _analysis(db, access, settings, task, stored)
    if analysis is None:
        return TaskKeyframes(False, [], [], [])

    def inside(frame: int) -> bool:
        return task.start <= frame < task.stop

    return TaskKeyframes(
        True,
        [f for f in analysis.boundaries if inside(f)],
        [(a, b) for a, b in analysis.transitions if a < task.stop and b >= task.start],
        [f for f in analysis.suggested if inside(f)],
    )


def _analysis(
    db: Session, access: Access, settings: Settings, task: Task, stored: StoredVideos | None
) -> Analysis | None:
    video = get_video(db, access.project, task.video_id)
    path: Path = video_path(settings, video, stored=stored)
    return stored_analysis(path, settings)
