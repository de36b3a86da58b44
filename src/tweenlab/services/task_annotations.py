"""The annotations of a task: tracks with revisions, written by compare and swap, and a journal.

Each track of a task is a row holding its native JSON (``Track.to_json``) and a revision that
starts at 1 and grows by one with every change. A write names the revision it was based on
(0 for a track that does not exist yet); when the row is no longer at that revision nothing is
written and ``StaleRevisionError`` (409) carries the stored revision and track, so no write is
ever silently lost. The row's change is a compare and swap (``UPDATE ... WHERE revision =
:base``), and it, the journal row that records it and the task's revision (one more per change)
are one transaction. The task row is locked first (``FOR UPDATE`` on PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` already serialises writers), so concurrent writes to a task queue instead of
interleaving, and the compare and swap decides between two writes from the same base.

Who may write: the task's annotator while it is ``in_progress`` or ``rework``, its reviewer
while it is ``in_review``, a manager or owner any time. The journal keeps who changed which
track when, with the track before and after; undo reverts the caller's own latest change as a
new change (journaled too), refused with 409 when someone else changed that track since.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from tweenlab.core.annotations import VideoRef
from tweenlab.core.roles import Role
from tweenlab.core.schema import Schema
from tweenlab.core.track import Track
from tweenlab.errors import (
    AccessDeniedError,
    ConflictError,
    FieldError,
    FormatError,
    NotFoundError,
    StaleRevisionError,
)
from tweenlab.formats.native import track_from_json
from tweenlab.services.projects import Access
from tweenlab.services.tasks import locked_task, visible_task
from tweenlab.services.track_rows import (
    change_track,
    insert_track,
    journal_change,
    locked_with_track,
    stale,
    swap,
)
from tweenlab.store import JournalRow, Task, TrackRow
from tweenlab.workflow import TaskState

__all__ = [
    "Annotations",
    "change_track",
    "check_may_edit",
    "current_track",
    "delete_track",
    "in_spans",
    "insert_track",
    "journal",
    "parse_track",
    "read_annotations",
    "read_track",
    "track_states",
    "undo",
    "write_track",
]

_EDITING = {TaskState.IN_PROGRESS, TaskState.REWORK}


@dataclass(frozen=True)
class Annotations:
    """A task's tracks as stored now.

    Attributes:
        task: The task (its ``revision`` counts every change).
        tracks: The live tracks, by number.
        deleted: The deleted tracks (tombstones: their revision is the base to re-create one).
    """

    task: Task
    tracks: list[TrackRow]
    deleted: list[TrackRow]


def read_annotations(db: Session, access: Access, task_id: int) -> Annotations:
    """Every track of a task with its revision, and the task's revision."""
    task = visible_task(db, access, task_id)
    rows = list(
        db.scalars(select(TrackRow).where(TrackRow.task_id == task.id).order_by(TrackRow.number))
    )
    return Annotations(task, [r for r in rows if not r.deleted], [r for r in rows if r.deleted])


def read_track(db: Session, access: Access, task_id: int, number: int) -> TrackRow:
    """One live track of a task."""
    task = visible_task(db, access, task_id)
    row = current_track(db, task, number)
    if row is None or row.deleted:
        raise NotFoundError(f"task {task.id} has no track {number}")
    return row


MAX_STATES = 10_000


def track_states(
    db: Session, access: Access, task_id: int, number: int, *, first: int, last: int
) -> tuple[TrackRow, list[dict[str, Any]]]:
    """Track ``number`` on every frame of ``first..last`` (clipped to the task), as the exports
    see it: keyframes, in-between shapes and interpolation, one code path (``Track.at``). Each
    state is ``{frame, shape, outside, occluded, keyframe, inbetween}``; frames before the track
    starts (its first keyframe, or the first shape carried before it) are left out. The editor
    draws these, so it never interpolates on its own.

    Raises:
        FieldError: ``last`` before ``first``, or more than ``MAX_STATES`` frames.
    """
    task = visible_task(db, access, task_id)
    row = current_track(db, task, number)
    if row is None or row.deleted:
        raise NotFoundError(f"task {task.id} has no track {number}")
    first, last = max(first, task.start), min(last, task.stop - 1)
    if last < first:
        raise FieldError("last", f"frames {first}..{last}: last is before first")
    if last - first + 1 > MAX_STATES:
        raise FieldError("last", f"at most {MAX_STATES} frames at a time")
    track = parse_track(task, access.label_schema, number, row.data)
    states = []
    for frame in range(first, last + 1):
        state = track.at(frame)
        if state is None:
            continue
        states.append(
            {
                "frame": frame,
                "shape": state.shape.to_json(),
                "outside": state.outside,
                "occluded": state.occluded,
                "keyframe": state.keyframe,
                "inbetween": frame in track.inbetween,
            }
        )
    return row, states


def current_track(db: Session, task: Task, number: int) -> TrackRow | None:
    """Track ``number`` of ``task`` as stored now (a tombstone too), or ``None``."""
    query = (
        select(TrackRow)
        .where(TrackRow.task_id == task.id, TrackRow.number == number)
        .execution_options(populate_existing=True)
    )
    return db.scalar(query)


def check_may_edit(access: Access, task: Task) -> None:
    if access.role.at_least(Role.MANAGER):
        return
    state, user = TaskState(task.state), access.user_id
    if task.assignee_id == user:
        if state in _EDITING:
            return
        raise ConflictError(
            f"the task is {state.value}: its annotator edits it while in_progress or rework"
            " (start it first)"
        )
    if task.reviewer_id == user:
        if state is TaskState.IN_REVIEW:
            return
        raise ConflictError(f"the task is {state.value}: its reviewer edits it while in_review")
    raise AccessDeniedError("only the task's annotator, its reviewer or a manager may edit it")


def parse_track(task: Task, project_schema: list[dict[str, Any]], number: int, data: Any) -> Track:
    """The track of a request body, checked against the project's labels and the task's frames
    (keyframes and in-between shapes within them; ``leaves`` at most the frame after them)."""
    if not isinstance(data, dict):
        raise FieldError("track", "must be an object (a track in the native format)")
    if data.get("id", number) != number:
        raise FieldError("track.id", f"is {data.get('id')!r}, but the path names track {number}")
    video = VideoRef(f"video {task.video_id}", frame_count=task.frame_count, width=1, height=1)
    try:
        track = track_from_json({**data, "id": number}, video, Schema.from_json(project_schema))
    except FormatError as error:
        where = f"{error.line}.{error.field}" if error.field else str(error.line)
        raise FieldError(where, error.detail) from None
    for index, frame in enumerate(k.get("frame") for k in data["keyframes"]):
        if not task.start <= frame < task.stop:
            raise FieldError(
                f"track.keyframes[{index}].frame",
                f"frame {frame} is outside the task (frames {task.start}..{task.stop - 1})",
            )
    for frame in track.inbetween:
        if not task.start <= frame < task.stop:
            raise FieldError(
                "track.inbetween",
                f"frame {frame} is outside the task (frames {task.start}..{task.stop - 1})",
            )
    if track.leaves is not None and track.leaves > task.stop:
        raise FieldError("track.leaves", f"frame {track.leaves} is past the task's end")
    return track


def in_spans(data: Any) -> Any:
    """A track body without the in-between shapes (and ``leaves``) no place holds any more: a
    frame that became a keyframe, or lies after an outside keyframe or on or after ``leaves``;
    ``leaves`` no longer after the last keyframe of the object in the picture. An editor sends
    back what it was given and need not know what an edit made impossible."""
    if not isinstance(data, dict):
        return data
    keys = data.get("keyframes")
    if not isinstance(keys, list) or not all(isinstance(k, dict) for k in keys):
        return data
    spans = sorted(
        (k["frame"], bool(k.get("outside"))) for k in keys if isinstance(k.get("frame"), int)
    )
    body = dict(data)
    leaves = body.get("leaves")
    if isinstance(leaves, int) and spans and (leaves <= spans[-1][0] or spans[-1][1]):
        del body["leaves"]
        leaves = None
    if not isinstance(body.get("inbetween"), list):
        return body
    kept = []
    for item in body["inbetween"]:
        frame = item.get("frame") if isinstance(item, dict) else None
        if not isinstance(frame, int):
            kept.append(item)  # malformed: left for the parser to name
            continue
        before = [(f, out) for f, out in spans if f <= frame]
        held = bool(before) and (before[-1][0] == frame or before[-1][1])
        if not held and not (isinstance(leaves, int) and frame >= leaves):
            kept.append(item)
    return {**body, "inbetween": kept}


def write_track(
    db: Session,
    access: Access,
    task_id: int,
    number: int,
    data: Any,
    *,
    base: int,
    computed: bool = False,
) -> TrackRow:
    """Create (``base`` 0, or the revision of a deleted track) or replace track ``number``.

    The in-between shapes of spans whose keyframes changed since ``base`` are dropped, unless
    ``computed`` (the server computed them for these keyframes: ``track_fill``).

    Raises:
        StaleRevisionError: The track is no longer at ``base`` (nothing is written).
        FieldError: The track is malformed, or has a keyframe outside the task's frames.
    """
    task, row = locked_with_track(db, access, task_id, number)
    check_may_edit(access, task)
    if number < 1:
        raise FieldError("number", f"track numbers start at 1, got {number}")
    after = parse_track(task, access.label_schema, number, in_spans(data)).to_json()
    current = row.revision if row is not None else 0
    if base != current:
        error = stale(number, row, base)
        db.rollback()  # the lock goes now, not when the request ends
        raise error
    if row is None:
        row = insert_track(db, access, task, number, after)
        db.commit()
        return row
    before = None if row.deleted else row.data
    if before is not None and not computed and (after.get("inbetween") or "leaves" in after):
        previous = parse_track(task, access.label_schema, number, before)
        track = parse_track(task, access.label_schema, number, after)
        after = track.keeping_inbetween_of(previous).to_json()
    swap(db, access, task, row, base, data=after)
    journal_change(db, access, task, row, before=before, after=after)
    db.commit()
    return row


def delete_track(db: Session, access: Access, task_id: int, number: int, *, base: int) -> TrackRow:
    """Delete track ``number`` if it is still at ``base`` (it stays as a tombstone)."""
    task, row = locked_with_track(db, access, task_id, number)
    check_may_edit(access, task)
    if row is None or row.deleted:
        raise NotFoundError(f"task {task.id} has no track {number}")
    if row.revision != base:
        raise stale(number, row, base)
    before = row.data
    swap(db, access, task, row, base, data=None)
    journal_change(db, access, task, row, before=before, after=None)
    db.commit()
    return row


def journal(
    db: Session, access: Access, task_id: int, number: int | None = None
) -> list[JournalRow]:
    """The task's changes, oldest first (only those of track ``number``, if given)."""
    task = visible_task(db, access, task_id)
    query = select(JournalRow).where(JournalRow.task_id == task.id).order_by(JournalRow.id)
    if number is not None:
        query = query.where(JournalRow.number == number)
    return list(db.scalars(query))


def undo(db: Session, access: Access, task_id: int) -> JournalRow:
    """Revert the caller's latest change in the task that is not undone yet, as a new change.

    Repeated, it walks back through the caller's changes. Refused with 409 when there is
    nothing to undo, or when someone else has changed that track since (their work is never
    reverted by another's undo).
    """
    task = locked_task(db, access, task_id)
    check_may_edit(access, task)
    # who did what, without the tracks before and after (a long journal of big shapes made
    # each undo read all of them: over a second): the target's own row is read whole below
    entries = db.execute(
        select(JournalRow.id, JournalRow.actor_id, JournalRow.undoes, JournalRow.track_id)
        .where(JournalRow.task_id == task.id)
        .order_by(JournalRow.id)
    ).all()
    undone = {e.undoes for e in entries if e.undoes is not None}
    me = access.user_id
    chosen = next(
        (
            e.id
            for e in reversed(entries)
            if e.actor_id == me and e.undoes is None and e.id not in undone
        ),
        None,
    )
    if chosen is None:
        raise ConflictError("you have no change in this task left to undo")
    target = db.get(JournalRow, chosen)
    assert target is not None, "the journal row was just listed"
    row = current_track(db, task, target.number)
    assert row is not None, "a journal row always has its track"
    for later in entries:
        if later.track_id == target.track_id and later.id > target.id:
            settled = later.actor_id == me and (later.undoes is not None or later.id in undone)
            if not settled:
                raise _stale_undo(target, row)
    before = None if row.deleted else row.data
    if before != target.after:
        raise _stale_undo(target, row)
    swap(db, access, task, row, row.revision, data=target.before)
    made = journal_change(
        db, access, task, row, before=before, after=target.before, undoes=target.id
    )
    entry = db.get(JournalRow, made, options=[joinedload(JournalRow.actor)])
    assert entry is not None, "the journal row was just written"
    db.commit()
    return entry


def _stale_undo(target: JournalRow, row: TrackRow) -> StaleRevisionError:
    return StaleRevisionError(
        f"track {target.number} was changed by someone else after your change (revision "
        f"{target.revision}); it is at revision {row.revision}",
        current={
            "current_revision": row.revision,
            "track": None if row.deleted else row.data,
        },
        field="undo",
    )
