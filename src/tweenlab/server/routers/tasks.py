"""``/api/projects/{project_id}/tasks``: split a video into tasks, list, assign, act, history,
and ``/queue/next``, the next task for the caller."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends
from pydantic import BaseModel, Field

from tweenlab.core.roles import Role
from tweenlab.server.deps import Auth, Db, api_router, get_settings, require
from tweenlab.services import quality, tasks
from tweenlab.services.projects import Access
from tweenlab.settings import Settings
from tweenlab.store import Task, TaskEventRow
from tweenlab.workflow import Action, TaskKind, TaskState

__all__ = ["TaskView", "router", "task_view"]

router = api_router(prefix="/projects/{project_id}", tags=["tasks"])
Member = Annotated[Auth, Depends(require(Role.ANNOTATOR))]
Manager = Annotated[Auth, Depends(require(Role.MANAGER))]
Frame = Annotated[int, Field(ge=0, le=100_000_000)]


class SplitBody(BaseModel):
    """How to cut a video into tasks: exactly one of ``size``, ``scenes`` or ``clips``.

    ``frame_count`` comes from the video's row when the video is stored in the project (give it
    only for a video the server does not hold; a value that disagrees with the row is refused).
    ``scenes: "detected"`` cuts at the shot boundaries the video's ingest found.
    """

    video_id: int = Field(ge=1)
    frame_count: int | None = Field(default=None, ge=1, le=100_000_000)
    size: int | None = Field(default=None, ge=1, le=100_000_000)
    overlap: int = Field(default=0, ge=0, le=100_000_000)
    scenes: list[Frame] | Literal["detected"] | None = Field(default=None, max_length=100_000)
    max_size: int | None = Field(default=None, ge=1, le=100_000_000)
    clips: list[tuple[Frame, Frame]] | None = Field(default=None, max_length=100_000)
    kind: TaskKind = TaskKind.NORMAL
    copies: int = Field(default=1, ge=1, le=20)
    assignees: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(
        default_factory=list, max_length=20
    )


class AssignBody(BaseModel):
    """Who annotates and who reviews; a field left out stays as it is, ``null`` clears it."""

    assignee_id: int | None = None
    reviewer_id: int | None = None


class ActionBody(BaseModel):
    """A note kept with the event (the reason for a rejection)."""

    note: str = Field(default="", max_length=10_000)


class QueueBody(BaseModel):
    """Which queue: ``annotator`` (the default for annotators) or ``reviewer`` (for others)."""

    queue: Role | None = Field(default=None, alias="as")


class TaskView(BaseModel):
    """A task, with what the caller may do to it now."""

    id: int
    project_id: int
    video_id: int
    frame_count: int
    start: int
    stop: int
    kind: TaskKind
    state: TaskState
    assignee_id: int | None
    reviewer_id: int | None
    revision: int
    open_issues: int
    actions: list[Action]
    created_at: datetime
    updated_at: datetime


class EventView(BaseModel):
    """One action taken on a task."""

    id: int
    at: datetime
    actor_id: int | None
    actor: str | None
    action: Action
    from_state: TaskState
    to_state: TaskState
    note: str


class QueueAnswer(BaseModel):
    """The next task, or ``null`` when the queue is empty."""

    task: TaskView | None


def task_view(access: Access, task: Task, open_issues: int = 0) -> TaskView:
    """The view of ``task`` for the caller of ``access``."""
    return TaskView(
        id=task.id,
        project_id=task.project_id,
        video_id=task.video_id,
        frame_count=task.frame_count,
        start=task.start,
        stop=task.stop,
        kind=TaskKind(task.kind),
        state=TaskState(task.state),
        assignee_id=task.assignee_id,
        reviewer_id=task.reviewer_id,
        revision=task.revision,
        open_issues=open_issues,
        actions=tasks.actions_for(access, task),
        created_at=task.created_at,
        updated_at=task.updated_at,
    )


def _access(auth: Auth) -> Access:
    assert auth.access is not None
    return auth.access


def _one(db: Db, auth: Auth, task: Task) -> TaskView:
    return task_view(_access(auth), task, tasks.open_issue_counts(db, [task]).get(task.id, 0))


def _event(row: TaskEventRow) -> EventView:
    return EventView(
        id=row.id,
        at=row.at,
        actor_id=row.actor_id,
        actor=row.actor.email if row.actor is not None else None,
        action=Action(row.action),
        from_state=TaskState(row.from_state),
        to_state=TaskState(row.to_state),
        note=row.note,
    )


@router.post("/tasks/split", status_code=201)
def split_video(
    project_id: int,
    body: SplitBody,
    db: Db,
    auth: Manager,
    settings: Annotated[Settings, Depends(get_settings)],
) -> list[TaskView]:
    """Create the tasks of a video (managers and owners): by ``size`` frames with ``overlap``,
    by ``scenes`` (the first frames of shots, or ``"detected"``, ``max_size`` per task) or by
    ``clips``. ``kind: "consensus"`` with ``copies: k`` makes k tasks of each range, given to
    the k ``assignees`` when named."""
    values = body.model_dump()
    values["frame_count"], values["scenes"] = tasks.video_facts(
        db, _access(auth), settings, body.video_id, frame_count=body.frame_count, scenes=body.scenes
    )
    split = tasks.Split(**values)
    return [task_view(_access(auth), t) for t in tasks.split_tasks(db, _access(auth), split)]


@router.get("/tasks")
def list_tasks(
    project_id: int,
    db: Db,
    auth: Member,
    state: TaskState | None = None,
    video_id: int | None = None,
) -> list[TaskView]:
    """The project's tasks the caller may see (an annotator: only theirs)."""
    found = tasks.visible_tasks(db, _access(auth), state=state, video_id=video_id)
    counts = tasks.open_issue_counts(db, found)
    return [task_view(_access(auth), t, counts.get(t.id, 0)) for t in found]


@router.get("/tasks/{task_id}")
def get_task(project_id: int, task_id: int, db: Db, auth: Member) -> TaskView:
    """One task."""
    return _one(db, auth, tasks.visible_task(db, _access(auth), task_id))


@router.post("/tasks/{task_id}/assign")
def assign_task(project_id: int, task_id: int, body: AssignBody, db: Db, auth: Manager) -> TaskView:
    """Give the task to an annotator and a reviewer (managers and owners)."""
    given: dict[str, Any] = {name: getattr(body, name) for name in body.model_fields_set}
    return _one(db, auth, tasks.assign(db, _access(auth), task_id, **given))


@router.post("/tasks/{task_id}/actions/{action}")
def act_on_task(
    *,
    project_id: int,
    task_id: int,
    action: Action,
    db: Db,
    auth: Member,
    body: ActionBody | None = None,
) -> TaskView:
    """Take an action (start, submit, take_review, release, accept, reject, reopen): 409 when the
    task's state does not allow it, 403 when the caller may not. A rejected task goes back with
    its open review issues (``open_issues``)."""
    note = body.note if body is not None else ""
    task = tasks.act(db, _access(auth), task_id, action, note)
    if action is Action.SUBMIT and task.kind == TaskKind.TRAINING.value:
        quality.score_training_submission(db, _access(auth), task)  # scored at once
    return _one(db, auth, task)


@router.get("/tasks/{task_id}/history")
def task_history(project_id: int, task_id: int, db: Db, auth: Member) -> list[EventView]:
    """Who did what to the task, and when, oldest first."""
    return [_event(row) for row in tasks.history(db, _access(auth), task_id)]


@router.post("/queue/next")
def next_task(project_id: int, db: Db, auth: Member, body: QueueBody | None = None) -> QueueAnswer:
    """The caller's next task. Annotators: their own to do, under way first, then oldest.
    Reviewers: the oldest submitted task, taken for review at once (so nobody else gets it)."""
    queue = body.queue if body is not None else None
    task = tasks.next_task(db, _access(auth), as_role=queue)
    return QueueAnswer(task=_one(db, auth, task) if task is not None else None)
