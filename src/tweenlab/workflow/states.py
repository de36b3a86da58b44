"""The life of a task: its states, who may move it from one to the next, and its history.

```
new --start--> in_progress --submit--> submitted --take_review--> in_review
                                           ^                        |  |  \\--release--> submitted
                                           |                  accept  reject
                                         submit                     |  |
                                           |                        v  v
                                        rework <--start-- rejected   accepted --reopen--> rework
```

An annotator moves the tasks assigned to them (``start``, ``submit``); a reviewer the tasks they
review (``take_review``, ``accept``, ``reject``, ``release``), never one they annotate; a manager
or owner may do anything, and only they ``assign`` and ``reopen``. ``assign`` leaves the state
as it is: it is in the table so that every change of hands is an event in the history.

The server answers an action not allowed from the task's state with 409 (``TransitionError``)
and an actor not allowed to take it with 403 (``NotPermittedError``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise

from tweenlab.core.roles import Role  # one Role for projects, the store and task states
from tweenlab.errors import UsageError

__all__ = [
    "Action",
    "NotPermittedError",
    "Role",
    "TaskEvent",
    "TaskKind",
    "TaskState",
    "TransitionError",
    "WorkflowError",
    "allowed_actions",
    "current_state",
    "paid_at",
    "record",
    "rejection_count",
    "time_in_states",
    "transition",
]


class TaskState(StrEnum):
    """Where a task is; the values are what the store keeps and the API shows."""

    NEW = "new"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    REWORK = "rework"


class Action(StrEnum):
    """What someone does to a task."""

    ASSIGN = "assign"
    START = "start"
    SUBMIT = "submit"
    TAKE_REVIEW = "take_review"
    RELEASE = "release"
    ACCEPT = "accept"
    REJECT = "reject"
    REOPEN = "reopen"


class TaskKind(StrEnum):
    """What a task is for.

    ``normal`` is real work. ``ground_truth`` is a manager's reference annotation of a clip that
    others' work is scored against. ``training`` gives such a clip to a new annotator, scored
    the moment it is submitted (it is never reviewed or accepted, so never paid). ``consensus``
    is one of k copies of the same clip given to k annotators to measure their agreement.
    """

    NORMAL = "normal"
    GROUND_TRUTH = "ground_truth"
    TRAINING = "training"
    CONSENSUS = "consensus"


class WorkflowError(UsageError):
    """A task action that cannot be taken.

    Args:
        detail: Why.
        state: The task's state.
        action: The action tried.
    """

    def __init__(self, detail: str, *, state: TaskState, action: Action) -> None:
        self.detail = detail
        self.state = state
        self.action = action
        super().__init__(f"cannot {action.value} a task that is {state.value}: {detail}")


class TransitionError(WorkflowError):
    """The action does not apply to a task in this state (HTTP 409)."""


class NotPermittedError(WorkflowError):
    """The actor may not take this action on this task (HTTP 403)."""


_WORKING = (TaskState.NEW, TaskState.IN_PROGRESS, TaskState.REJECTED, TaskState.REWORK)
_REVIEWING = (TaskState.SUBMITTED, TaskState.IN_REVIEW)

_TABLE: dict[tuple[TaskState, Action], TaskState] = {
    (TaskState.NEW, Action.START): TaskState.IN_PROGRESS,
    (TaskState.IN_PROGRESS, Action.SUBMIT): TaskState.SUBMITTED,
    (TaskState.SUBMITTED, Action.TAKE_REVIEW): TaskState.IN_REVIEW,
    (TaskState.IN_REVIEW, Action.RELEASE): TaskState.SUBMITTED,
    (TaskState.IN_REVIEW, Action.ACCEPT): TaskState.ACCEPTED,
    (TaskState.IN_REVIEW, Action.REJECT): TaskState.REJECTED,
    (TaskState.REJECTED, Action.START): TaskState.REWORK,
    (TaskState.REWORK, Action.SUBMIT): TaskState.SUBMITTED,
    (TaskState.ACCEPTED, Action.REOPEN): TaskState.REWORK,
    **{(state, Action.ASSIGN): state for state in (*_WORKING, *_REVIEWING)},
}

_ANNOTATING = frozenset({Action.START, Action.SUBMIT})
_REVIEW = frozenset({Action.TAKE_REVIEW, Action.RELEASE, Action.ACCEPT, Action.REJECT})
_LEADS = frozenset({Role.OWNER, Role.MANAGER})


def transition(
    state: TaskState,
    action: Action,
    role: Role,
    *,
    is_assignee: bool,
    is_reviewer: bool,
) -> TaskState:
    """The state a task moves to when someone takes ``action`` on it.

    Args:
        state: The task's state now.
        action: What the actor does.
        role: The actor's role in the task's project.
        is_assignee: The actor is the annotator the task is assigned to.
        is_reviewer: The actor is the task's reviewer, or the task has none yet and the actor
            takes it from the review queue.

    Raises:
        TransitionError: When ``action`` does not apply to ``state`` (checked first, so a
            manager learns the same thing an annotator would).
        NotPermittedError: When the actor may not take ``action`` on this task.

    Example:
        >>> transition(TaskState.NEW, Action.START, Role.ANNOTATOR, is_assignee=True,
        ...            is_reviewer=False)
        <TaskState.IN_PROGRESS: 'in_progress'>
    """
    state, action, role = _parsed(state, action, role)
    target = _TABLE.get((state, action))
    if target is None:
        raise TransitionError(_why_not(state, action), state=state, action=action)
    refusal = _refusal(action, role, is_assignee=is_assignee, is_reviewer=is_reviewer)
    if refusal is not None:
        raise NotPermittedError(refusal, state=state, action=action)
    return target


def _parsed(state: str, action: str, role: str) -> tuple[TaskState, Action, Role]:
    """The enums for values that may come as plain strings (from the store or a request)."""
    try:
        return TaskState(state), Action(action), Role(role)
    except ValueError as error:
        raise UsageError(str(error)) from None


def _why_not(state: TaskState, action: Action) -> str:
    possible = sorted(a.value for (s, a) in _TABLE if s is state)
    if action is Action.ASSIGN:
        return "reopen it first"
    return f"a {state.value} task allows {', '.join(possible) or 'nothing'}"


def _refusal(action: Action, role: Role, *, is_assignee: bool, is_reviewer: bool) -> str | None:
    """Why the actor may not take ``action``, or ``None`` when they may."""
    if role in _LEADS:
        return None
    if action in _ANNOTATING:
        return None if is_assignee else "only its annotator or a manager may"
    if action in _REVIEW:
        if role is not Role.REVIEWER or not is_reviewer:
            return "only its reviewer or a manager may"
        return "nobody reviews their own work" if is_assignee else None
    return "only a manager or owner may"


def allowed_actions(
    state: TaskState, role: Role, *, is_assignee: bool, is_reviewer: bool
) -> list[Action]:
    """The actions this actor may take on a task in ``state`` (the buttons the editor shows).

    Example:
        >>> allowed_actions(TaskState.IN_REVIEW, Role.REVIEWER, is_assignee=False,
        ...                 is_reviewer=True)
        [<Action.RELEASE: 'release'>, <Action.ACCEPT: 'accept'>, <Action.REJECT: 'reject'>]
    """
    state, _, role = _parsed(state, Action.START, role)
    return [
        action
        for (from_state, action) in _TABLE
        if from_state is state
        and _refusal(action, role, is_assignee=is_assignee, is_reviewer=is_reviewer) is None
    ]


# -- history ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskEvent:
    """One action taken on a task: who, when, and the states before and after.

    Attributes:
        at: When (timezone-aware).
        actor: Who (a user id or name, as the store keys users).
        action: What they did.
        from_state: The state before.
        to_state: The state after (the same for ``assign``).
        note: Free text: the reason for a rejection, whom a task was assigned to.
    """

    at: datetime
    actor: str
    action: Action
    from_state: TaskState
    to_state: TaskState
    note: str = ""

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise UsageError(f"task event time {self.at.isoformat()} has no timezone")


def record(
    state: TaskState,
    action: Action,
    actor: str,
    role: Role,
    *,
    at: datetime,
    is_assignee: bool,
    is_reviewer: bool,
    note: str = "",
) -> TaskEvent:
    """The event of ``actor`` taking ``action``, after ``transition`` has allowed it.

    Raises:
        WorkflowError: As ``transition``.
    """
    target = transition(state, action, role, is_assignee=is_assignee, is_reviewer=is_reviewer)
    return TaskEvent(at, actor, Action(action), TaskState(state), target, note)


def current_state(history: Sequence[TaskEvent]) -> TaskState:
    """The state a task's history leaves it in (``new`` when it has none).

    Raises:
        UsageError: When the events do not follow each other (one starts from a state the
            previous did not lead to, or goes back in time): a history that was tampered with
            or stored out of order.
    """
    state = TaskState.NEW
    for number, event in enumerate(history):
        if event.from_state is not state:
            raise UsageError(
                f"task event {number} ({event.action.value}) starts from {event.from_state.value}"
                f", but the task was {state.value}"
            )
        if _TABLE.get((event.from_state, event.action)) is not event.to_state:
            raise UsageError(
                f"task event {number}: {event.action.value} does not lead from "
                f"{event.from_state.value} to {event.to_state.value}"
            )
        state = event.to_state
    for number, (first, second) in enumerate(pairwise(history), start=1):
        if second.at < first.at:
            raise UsageError(f"task event {number} is earlier than the one before it")
    return state


def paid_at(history: Sequence[TaskEvent]) -> datetime | None:
    """When the task became payable: its first acceptance, ``None`` before one.

    A task is paid once, in the period of its first acceptance: reopening an accepted task
    neither takes the payment back nor pays it a second time.
    """
    return next((e.at for e in history if e.action is Action.ACCEPT), None)


def rejection_count(history: Sequence[TaskEvent]) -> int:
    """How many times the task was rejected (a quality signal per annotator)."""
    return sum(1 for event in history if event.action is Action.REJECT)


def time_in_states(history: Sequence[TaskEvent], *, until: datetime) -> dict[TaskState, timedelta]:
    """How long the task spent in each state from its first event up to ``until``.

    The time before the first event is not counted (the task's creation is not an event); the
    last state runs until ``until``.

    Example:
        >>> from datetime import UTC
        >>> t0 = datetime(2024, 5, 1, 9, tzinfo=UTC)
        >>> start = TaskEvent(t0, "ana", Action.START, TaskState.NEW, TaskState.IN_PROGRESS)
        >>> time_in_states([start], until=t0 + timedelta(hours=2))
        {<TaskState.IN_PROGRESS: 'in_progress'>: datetime.timedelta(seconds=7200)}
    """
    spent: dict[TaskState, timedelta] = {}
    ends = [event.at for event in history[1:]] + [until]
    for event, end in zip(history, ends, strict=True):
        if end < event.at:
            raise UsageError(f"{end.isoformat()} is before the event at {event.at.isoformat()}")
        spent[event.to_state] = spent.get(event.to_state, timedelta()) + (end - event.at)
    return spent
