"""Quality of a task's annotations: compared with a ground-truth task or another task of the same
frames (``workflow.compare``), and the consensus of several annotators of one clip.

A task's annotations are its live tracks (native JSON rows) as an ``AnnotationSet`` of its
video; two tasks are compared on the frames both cover. Who may ask: managers and owners, and
the reviewer of the task being scored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tweenlab.core.annotations import AnnotationSet, VideoRef
from tweenlab.core.roles import Role
from tweenlab.core.schema import Schema
from tweenlab.errors import AccessDeniedError, FieldError
from tweenlab.formats.native import track_from_json
from tweenlab.services.projects import Access
from tweenlab.services.tasks import visible_task
from tweenlab.store import Task, TaskEventRow, TrackRow, User
from tweenlab.workflow import Agreement, TaskKind, compare, consensus

__all__ = ["ConsensusEntry", "task_agreement", "task_annotation_set", "task_consensus"]


def task_annotation_set(
    db: Session, task: Task, schema: Schema, video: VideoRef | None = None
) -> AnnotationSet:
    """The live tracks of ``task`` as an annotation set of its video (``video``, or a stand-in
    of the task's ``frame_count`` frames when the video's size does not matter)."""
    ref = video or VideoRef(
        f"video {task.video_id}", frame_count=task.frame_count, width=1, height=1
    )
    rows = db.scalars(
        select(TrackRow)
        .where(TrackRow.task_id == task.id, TrackRow.deleted.is_(False))
        .order_by(TrackRow.number)
    )
    tracks = {
        row.number: track_from_json(
            row.data, ref, schema, source=f"task {task.id}", where=f"tracks[{row.number}]"
        )
        for row in rows
    }
    return AnnotationSet(ref, schema, tracks)


def _shared_frames(tasks: Sequence[Task], field: str) -> range:
    if len({t.video_id for t in tasks}) != 1:
        raise FieldError(field, "the tasks are of different videos")
    shared = range(max(t.start for t in tasks), min(t.stop for t in tasks))
    if not shared:
        raise FieldError(field, "the tasks share no frames")
    return shared


def _ground_truth_for(db: Session, task: Task) -> Task:
    candidate = db.scalar(
        select(Task)
        .where(
            Task.project_id == task.project_id,
            Task.video_id == task.video_id,
            Task.kind == TaskKind.GROUND_TRUTH.value,
            Task.start <= task.start,
            Task.stop >= task.stop,
            Task.id != task.id,
        )
        .order_by(Task.id)
        .limit(1)
    )
    if candidate is None:
        raise FieldError("against", "no ground-truth task covers this task's frames: name one")
    return candidate


def task_agreement(
    db: Session,
    access: Access,
    task_id: int,
    against: int | None = None,
    *,
    iou_threshold: float = 0.5,
) -> tuple[Task, Agreement]:
    """How task ``task_id`` agrees with task ``against`` (the reference) on the frames both
    cover; without ``against``, with a ground-truth task of its video covering its frames.

    Returns the reference task and the agreement.
    """
    task = visible_task(db, access, task_id)
    if not access.role.at_least(Role.MANAGER) and task.reviewer_id != access.user_id:
        raise AccessDeniedError("only managers and the task's reviewer see its quality")
    if against == task.id:
        raise FieldError("against", "a task is not compared with itself")
    reference = visible_task(db, access, against) if against else _ground_truth_for(db, task)
    frames = _shared_frames([task, reference], "against")
    schema = Schema.from_json(access.label_schema)
    agreement = compare(
        task_annotation_set(db, reference, schema),
        task_annotation_set(db, task, schema),
        iou_threshold=iou_threshold,
        frames=frames,
    )
    return reference, agreement


@dataclass(frozen=True)
class ConsensusEntry:
    """One annotated task's score in a consensus: its task, annotator and ``AnnotatorScore``."""

    task_id: int
    annotator_id: int | None
    email: str | None
    score: dict[str, Any]


def task_consensus(
    db: Session, access: Access, task_ids: Sequence[int], *, iou_threshold: float = 0.5
) -> tuple[int | None, list[ConsensusEntry]]:
    """Score the annotators of tasks of one clip (managers and owners), on the frames every task
    covers. A ground-truth task among them is the reference; otherwise each task is scored
    against the others. Best first (HOTA, then IDF1).

    Returns the reference task's id (or ``None``) and the entries.
    """
    if not access.role.at_least(Role.MANAGER):
        raise AccessDeniedError("only managers see the consensus of annotators")
    ids = list(dict.fromkeys(task_ids))
    if len(ids) < 2:
        raise FieldError("tasks", "name at least two tasks")
    tasks = [visible_task(db, access, task_id) for task_id in ids]
    frames = _shared_frames(tasks, "tasks")
    truths = [t for t in tasks if t.kind == TaskKind.GROUND_TRUTH.value]
    if len(truths) > 1:
        raise FieldError("tasks", "name at most one ground-truth task")
    reference = truths[0] if truths else None
    schema = Schema.from_json(access.label_schema)
    candidates = {
        str(t.id): task_annotation_set(db, t, schema) for t in tasks if t is not reference
    }
    scores = consensus(
        candidates,
        reference=None if reference is None else task_annotation_set(db, reference, schema),
        iou_threshold=iou_threshold,
        frames=frames,
    )
    people = {t.assignee_id for t in tasks if t.assignee_id is not None}
    rows = db.execute(select(User.id, User.email).where(User.id.in_(people)))
    emails: dict[int, str] = {uid: email for uid, email in rows}
    by_id = {t.id: t for t in tasks}
    entries = [
        ConsensusEntry(
            task_id=int(name),
            annotator_id=by_id[int(name)].assignee_id,
            email=emails.get(by_id[int(name)].assignee_id or -1),
            score=score.to_json(),
        )
        for name, score in scores.items()
    ]
    entries.sort(key=lambda e: (-e.score["hota"], -e.score["idf1"], e.task_id))
    return (None if reference is None else reference.id), entries


def training_result(db: Session, access: Access, task_id: int) -> tuple[Task, Agreement]:
    """How a training task agrees with the ground truth of its clip: what a new annotator is
    shown the moment they submit (their own task; its reviewer and managers too).

    Raises:
        FieldError: Not a training task, or no ground-truth task covers its frames.
        AccessDeniedError: Someone else's training task, for an annotator or another reviewer.
    """
    task = visible_task(db, access, task_id)
    if task.kind != TaskKind.TRAINING.value:
        raise FieldError("task_id", f"task {task.id} is a {task.kind} task, not a training task")
    user = access.user_id
    if not (access.role.at_least(Role.MANAGER) or user in (task.assignee_id, task.reviewer_id)):
        raise AccessDeniedError("a training result is for its trainee, reviewer and managers")
    reference = _ground_truth_for(db, task)
    frames = _shared_frames([task, reference], "task_id")
    schema = Schema.from_json(access.label_schema)
    agreement = compare(
        task_annotation_set(db, reference, schema),
        task_annotation_set(db, task, schema),
        frames=frames,
    )
    return reference, agreement


def score_training_submission(db: Session, access: Access, task: Task) -> str:
    """Write a just-submitted training task's score into its submit event's note (the history
    keeps it) and return that note; empty when it has no ground truth to be scored against."""
    try:
        _, agreement = training_result(db, access, task.id)
    except FieldError:
        return ""
    iou = "-" if agreement.mean_iou is None else f"{agreement.mean_iou:.3f}"
    note = (
        f"training score: HOTA {agreement.hota:.3f}, IDF1 {agreement.idf1:.3f}, mean IoU {iou}, "
        f"missing {agreement.missing}, extra {agreement.extra}"
    )
    event = db.scalar(
        select(TaskEventRow)
        .where(TaskEventRow.task_id == task.id, TaskEventRow.action == "submit")
        .order_by(TaskEventRow.id.desc())
        .limit(1)
    )
    if event is not None:
        event.note = (event.note + "\n" if event.note else "") + note
        db.commit()
    return note
