"""Tasks: split a video into tasks, see them, assign them, move them through their states.

Who sees a task: an annotator (by project role) only the tasks assigned to them, everyone above
every task of the project; a task someone may not see answers 404 like a missing one. Actions go
through ``workflow.transition`` with the actor's project role, so the state machine alone decides
what is allowed (``TransitionError`` -> 409, ``NotPermittedError`` -> 403), and each is recorded
as a ``task_events`` row in the same transaction as the state change.

Every change locks the task row first (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` already serialises writers), so two actions on one task never both see the
old state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import EllipsisType

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from tweenlab.core.roles import Role
from tweenlab.errors import AccessDeniedError, ConflictError, FieldError, NotFoundError
from tweenlab.services.keyframes import analyse_video
from tweenlab.services.projects import Access
from tweenlab.services.videos import video_path
from tweenlab.settings import Settings
from tweenlab.store import Membership, ReviewIssue, Task, TaskEventRow, Video, utc_now
from tweenlab.workflow import (
    Action,
    TaskKind,
    TaskRange,
    TaskState,
    allowed_actions,
    record,
    split_by_clips,
    split_by_frames,
    split_by_scenes,
)

__all__ = [
    "Split",
    "act",
    "actions_for",
    "assign",
    "check_visible",
    "history",
    "locked_task",
    "next_task",
    "open_issue_counts",
    "split_tasks",
    "visible_task",
    "visible_tasks",
]

_ANNOTATOR_QUEUE = (TaskState.IN_PROGRESS, TaskState.REWORK, TaskState.REJECTED, TaskState.NEW)


#: Tasks one split may make: one split of 10**8 frames by 50 made two million, held every
#: writer of the server for minutes, and left the task list past SQLite's query limits.
MAX_TASKS = 10_000


@dataclass(frozen=True)
class Split:
    """How to cut a video into tasks: exactly one of ``size``, ``scenes`` or ``clips``.

    Attributes:
        video_id: The video.
        frame_count: Its frames. Temporary: the request carries it until the videos table
            exists, then it comes from the video's row.
        size: Frames per task (``workflow.split_by_frames``), with ``overlap`` shared frames.
        overlap: Frames each task shares with the next.
        scenes: First frames of shots (``workflow.split_by_scenes``), ``max_size`` per piece.
        max_size: The longest task when splitting by scenes.
        clips: Half-open ``(start, stop)`` ranges, one task each.
        kind: What the tasks are for.
        copies: Tasks made of each range: k > 1 only for ``consensus`` (the same clip for k
            annotators, whose agreement ``quality.task_consensus`` then scores).
        assignees: One annotator per copy (copy i of every range goes to ``assignees[i]``;
            distinct people), or empty to assign later.
    """

    video_id: int
    frame_count: int
    size: int | None = None
    overlap: int = 0
    scenes: Sequence[int] | None = None
    max_size: int | None = None
    clips: Sequence[tuple[int, int]] | None = None
    kind: TaskKind = TaskKind.NORMAL
    copies: int = 1
    assignees: Sequence[int] = ()

    def ranges(self) -> list[TaskRange]:
        """The task ranges this split makes."""
        given = [name for name in ("size", "scenes", "clips") if getattr(self, name) is not None]
        if len(given) != 1:
            raise FieldError("size", "give exactly one of size, scenes or clips")
        if self.frame_count < 1:
            raise FieldError("frame_count", f"must be at least 1, got {self.frame_count}")
        step = (self.size or 0) - self.overlap  # counted before a single range is made
        if self.size is not None and step > 0 and self.frame_count / step > MAX_TASKS:
            raise FieldError("size", f"{self.size} frames a task would make over {MAX_TASKS} tasks")
        if self.clips is not None and len(self.clips) > MAX_TASKS:
            raise FieldError("clips", f"{len(self.clips)} clips: at most {MAX_TASKS} a split")
        if self.size is not None:
            return split_by_frames(self.frame_count, self.size, self.overlap)
        if self.scenes is not None:
            return split_by_scenes(self.frame_count, self.scenes, self.max_size)
        assert self.clips is not None
        return split_by_clips(self.clips, frame_count=self.frame_count)


def video_facts(
    db: Session,
    access: Access,
    settings: Settings,
    video_id: int,
    *,
    frame_count: int | None,
    scenes: Sequence[int] | str | None,
) -> tuple[int, Sequence[int] | None]:
    """The frame count of a split, from the project's video row when it holds the video, and
    its scenes, the shot boundaries the video's ingest found for ``scenes="detected"``.

    Raises:
        FieldError: No frame count for a video the server does not hold, one that disagrees with
            the video's row, or ``"detected"`` scenes of a video the server does not hold.
    """
    video = db.scalar(
        select(Video).where(Video.project_id == access.project_id, Video.id == video_id)
    )
    if video is None:
        if db.get(Video, video_id) is not None:  # another project's: not this one's to split
            raise FieldError("video_id", f"no video {video_id} in this project")
        if frame_count is None:
            raise FieldError("frame_count", f"video {video_id} is not stored here: give its length")
        if scenes == "detected":
            raise FieldError("scenes", f"video {video_id} is not stored here: nothing was detected")
        return frame_count, scenes  # type: ignore[return-value]
    if frame_count is not None and frame_count != video.frame_count:
        raise FieldError(
            "frame_count", f"video {video_id} has {video.frame_count} frames, not {frame_count}"
        )
    if scenes == "detected":
        db.commit()  # nothing held while the analysis runs (it is kept from ingest, normally)
        path = video_path(settings, video)
        scenes = analyse_video(path, settings).analysis.boundaries
    return video.frame_count, scenes  # type: ignore[return-value]


def split_tasks(db: Session, access: Access, split: Split) -> list[Task]:
    """Create the tasks of ``split`` in the project (unassigned, ``new``), in frame order.

    A video is split into normal tasks once: a second split answers 409 (other kinds, such as
    consensus copies of a clip, may be added any time). A consensus split makes ``copies``
    tasks of each range, copy i assigned to ``assignees[i]`` when they are given.
    """
    ranges = split.ranges()
    if len(ranges) * split.copies > MAX_TASKS:
        raise FieldError(
            "size", f"{len(ranges)} ranges x {split.copies} copies: at most {MAX_TASKS} tasks"
        )
    if split.copies != 1 and split.kind is not TaskKind.CONSENSUS:
        raise FieldError("copies", f"only consensus tasks come in copies, not {split.kind}")
    if split.assignees:
        if len(split.assignees) != split.copies:
            raise FieldError("assignees", f"give one annotator per copy ({split.copies}), or none")
        if len(set(split.assignees)) != len(split.assignees):
            raise FieldError("assignees", "each copy goes to a different annotator")
        for person in split.assignees:
            _member_role(db, access, person, "assignees")
    if split.kind is TaskKind.NORMAL:
        taken = db.scalar(
            select(func.count()).where(
                Task.project_id == access.project_id,
                Task.video_id == split.video_id,
                Task.kind == TaskKind.NORMAL.value,
            )
        )
        if taken:
            raise ConflictError(
                f"video {split.video_id} already has {taken} tasks", field="video_id"
            )
    tasks = [
        Task(
            project_id=access.project_id,
            video_id=split.video_id,
            frame_count=split.frame_count,
            start=part.start,
            stop=part.stop,
            kind=split.kind.value,
            state=TaskState.NEW.value,
        )
        for part in ranges
        for _ in range(split.copies)
    ]
    db.add_all(tasks)
    if split.assignees:
        db.flush()
        for index, task in enumerate(tasks):
            person = split.assignees[index % split.copies]
            _record(db, access, task, Action.ASSIGN, note=f"assignee {person}, reviewer None")
            task.assignee_id = person
    db.commit()
    return tasks


def _sees_all(access: Access) -> bool:
    return access.role.at_least(Role.REVIEWER)


def visible_tasks(
    db: Session,
    access: Access,
    *,
    state: TaskState | None = None,
    video_id: int | None = None,
) -> list[Task]:
    """The project's tasks the caller may see, in creation order."""
    query = select(Task).where(Task.project_id == access.project_id).order_by(Task.id)
    if not _sees_all(access):
        query = query.where(Task.assignee_id == access.user_id)
    if state is not None:
        query = query.where(Task.state == state.value)
    if video_id is not None:
        query = query.where(Task.video_id == video_id)
    return list(db.scalars(query))


def check_visible(access: Access, task: Task | None, task_id: int) -> Task:
    """``task`` if the caller may see it (a task of the project, theirs unless they see all);
    ``NotFoundError`` otherwise, as for a task that does not exist."""
    if (
        task is None
        or task.project_id != access.project_id
        or not (_sees_all(access) or task.assignee_id == access.user_id)
    ):
        raise NotFoundError(f"no task {task_id}")
    return task


def visible_task(db: Session, access: Access, task_id: int) -> Task:
    """One task of the project; ``NotFoundError`` when it is missing or not the caller's to see."""
    return check_visible(access, db.get(Task, task_id), task_id)


def locked_task(db: Session, access: Access, task_id: int) -> Task:
    """``visible_task``, its row locked for this transaction and read afresh."""
    query = (
        select(Task)
        .where(Task.id == task_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return check_visible(access, db.scalar(query), task_id)


def actions_for(access: Access, task: Task) -> list[Action]:
    """The actions the caller may take on ``task`` now (the editor's buttons)."""
    is_reviewer = task.reviewer_id == access.user_id or (
        task.reviewer_id is None and task.assignee_id != access.user_id
    )
    return allowed_actions(
        TaskState(task.state),
        access.role,
        is_assignee=task.assignee_id == access.user_id,
        is_reviewer=is_reviewer,
    )


def _record(
    db: Session, access: Access, task: Task, action: Action, note: str = ""
) -> TaskEventRow:
    """Check ``action`` against the state machine, apply it to ``task`` and add its event row."""
    user = access.user_id
    takes_from_queue = action is Action.TAKE_REVIEW and task.reviewer_id is None
    event = record(
        TaskState(task.state),
        action,
        str(user),
        access.role,
        at=utc_now(),
        is_assignee=task.assignee_id == user,
        is_reviewer=task.reviewer_id == user or takes_from_queue,
        note=note,
    )
    if takes_from_queue:
        task.reviewer_id = user
    task.state = event.to_state.value
    task.updated_at = event.at
    row = TaskEventRow(
        task_id=task.id,
        at=event.at,
        actor_id=user,
        action=event.action.value,
        from_state=event.from_state.value,
        to_state=event.to_state.value,
        note=note,
    )
    db.add(row)
    return row


def act(db: Session, access: Access, task_id: int, action: Action, note: str = "") -> Task:
    """Take ``action`` on a task (everything but ``assign``, which has its own use case)."""
    if action is Action.ASSIGN:
        raise FieldError("action", "assign a task with its assign route (assignee, reviewer)")
    task = locked_task(db, access, task_id)
    _record(db, access, task, action, note)
    db.commit()
    return task


def _member_role(db: Session, access: Access, user_id: int, field: str) -> Role:
    role = db.scalar(
        select(Membership.role).where(
            Membership.project_id == access.project_id, Membership.user_id == user_id
        )
    )
    if role is None:
        raise FieldError(field, f"user {user_id} is not a member of this project")
    return Role(role)


def assign(
    db: Session,
    access: Access,
    task_id: int,
    *,
    assignee_id: int | EllipsisType | None = ...,
    reviewer_id: int | EllipsisType | None = ...,
) -> Task:
    """Give a task to an annotator and/or a reviewer (``None`` takes it away; ``...`` keeps it).

    Managers and owners only (the state machine's ``assign``, recorded in the history). The
    assignee must be a member; the reviewer a member with the reviewer's role or above, and not
    the assignee.
    """
    task = locked_task(db, access, task_id)
    assignee = task.assignee_id if isinstance(assignee_id, EllipsisType) else assignee_id
    reviewer = task.reviewer_id if isinstance(reviewer_id, EllipsisType) else reviewer_id
    if assignee is not None:
        _member_role(db, access, assignee, "assignee_id")
    if reviewer is not None:
        role = _member_role(db, access, reviewer, "reviewer_id")
        if not role.at_least(Role.REVIEWER):
            raise FieldError("reviewer_id", f"user {reviewer} is a {role}, not a reviewer")
    if assignee is not None and assignee == reviewer:
        raise FieldError("reviewer_id", "nobody reviews their own work")
    _record(db, access, task, Action.ASSIGN, note=f"assignee {assignee}, reviewer {reviewer}")
    task.assignee_id, task.reviewer_id = assignee, reviewer
    db.commit()
    return task


def history(db: Session, access: Access, task_id: int) -> list[TaskEventRow]:
    """The task's events, oldest first."""
    task = visible_task(db, access, task_id)
    query = select(TaskEventRow).where(TaskEventRow.task_id == task.id).order_by(TaskEventRow.id)
    return list(db.scalars(query))


def open_issue_counts(db: Session, tasks: Sequence[Task]) -> dict[int, int]:
    """Task id -> its unresolved review issues (only tasks that have some)."""
    if not tasks:
        return {}
    rows = db.execute(
        select(ReviewIssue.task_id, func.count())
        .where(ReviewIssue.task_id.in_([t.id for t in tasks]), ReviewIssue.resolved.is_(False))
        .group_by(ReviewIssue.task_id)
    )
    return {task_id: count for task_id, count in rows}


def next_task(db: Session, access: Access, *, as_role: Role | None = None) -> Task | None:
    """The next task for the caller, or ``None`` when their queue is empty.

    As an annotator (the default for that role): their own tasks still to do, training tasks
    first (a new annotator trains before real work), then those under way (``in_progress``,
    ``rework``), then ``rejected`` and ``new`` ones, oldest first;
    nothing changes. As a reviewer (the default above it): a task they already review, else the
    oldest submitted task that is theirs or nobody's to review (never one they annotated), which
    they take for review at once (``take_review``), so two reviewers never get the same task.
    """
    role = as_role or (Role.ANNOTATOR if access.role is Role.ANNOTATOR else Role.REVIEWER)
    user = access.user_id
    project = Task.project_id == access.project_id
    if role is Role.ANNOTATOR:
        under_way = case(
            (Task.state.in_([TaskState.IN_PROGRESS.value, TaskState.REWORK.value]), 0), else_=1
        )
        training_first = case((Task.kind == TaskKind.TRAINING.value, 0), else_=1)
        query = (
            select(Task)
            .where(
                project,
                Task.assignee_id == user,
                Task.state.in_([s.value for s in _ANNOTATOR_QUEUE]),
            )
            .order_by(training_first, under_way, Task.id)
            .limit(1)
        )
        return db.scalar(query)
    if not access.role.at_least(Role.REVIEWER):
        raise AccessDeniedError(f"a {access.role} has no review queue")
    mine = db.scalar(
        select(Task)
        .where(project, Task.reviewer_id == user, Task.state == TaskState.IN_REVIEW.value)
        .order_by(Task.id)
        .limit(1)
    )
    if mine is not None:
        return mine
    candidate = db.scalar(
        select(Task)
        .where(
            project,
            Task.state == TaskState.SUBMITTED.value,
            (Task.reviewer_id == user) | Task.reviewer_id.is_(None),
            (Task.assignee_id != user) | Task.assignee_id.is_(None),
        )
        .order_by(case((Task.reviewer_id == user, 0), else_=1), Task.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    if candidate is None:
        return None
    _record(db, access, candidate, Action.TAKE_REVIEW)
    db.commit()
    return candidate
