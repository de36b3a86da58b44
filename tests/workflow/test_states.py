"""The task state machine: every state and action, for every role, and the history helpers."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from tweenlab.errors import UsageError
from tweenlab.workflow import (
    Action,
    NotPermittedError,
    Role,
    TaskEvent,
    TaskKind,
    TaskState,
    TransitionError,
    WorkflowError,
    allowed_actions,
    current_state,
    paid_at,
    record,
    rejection_count,
    time_in_states,
    transition,
)

S, A = TaskState, Action

# The whole table written out by hand: (state, action) -> next state. Anything else is refused.
EXPECTED = {
    (S.NEW, A.START): S.IN_PROGRESS,
    (S.IN_PROGRESS, A.SUBMIT): S.SUBMITTED,
    (S.SUBMITTED, A.TAKE_REVIEW): S.IN_REVIEW,
    (S.IN_REVIEW, A.RELEASE): S.SUBMITTED,
    (S.IN_REVIEW, A.ACCEPT): S.ACCEPTED,
    (S.IN_REVIEW, A.REJECT): S.REJECTED,
    (S.REJECTED, A.START): S.REWORK,
    (S.REWORK, A.SUBMIT): S.SUBMITTED,
    (S.ACCEPTED, A.REOPEN): S.REWORK,
    (S.NEW, A.ASSIGN): S.NEW,
    (S.IN_PROGRESS, A.ASSIGN): S.IN_PROGRESS,
    (S.SUBMITTED, A.ASSIGN): S.SUBMITTED,
    (S.IN_REVIEW, A.ASSIGN): S.IN_REVIEW,
    (S.REJECTED, A.ASSIGN): S.REJECTED,
    (S.REWORK, A.ASSIGN): S.REWORK,
}

# Who may take each action: (role, is_assignee, is_reviewer) -> the actions allowed.
ANNOTATE = {A.START, A.SUBMIT}
REVIEW = {A.TAKE_REVIEW, A.RELEASE, A.ACCEPT, A.REJECT}
ACTORS = [
    ("owner", Role.OWNER, False, False, set(Action)),
    ("manager", Role.MANAGER, False, False, set(Action)),
    ("manager_assignee_reviewer", Role.MANAGER, True, True, set(Action)),
    ("annotator_assignee", Role.ANNOTATOR, True, False, ANNOTATE),
    ("annotator_other", Role.ANNOTATOR, False, False, set()),
    ("annotator_marked_reviewer", Role.ANNOTATOR, False, True, set()),
    ("reviewer_of_task", Role.REVIEWER, False, True, REVIEW),
    ("reviewer_other", Role.REVIEWER, False, False, set()),
    ("reviewer_assigned_to_annotate", Role.REVIEWER, True, False, ANNOTATE),
    ("reviewer_of_own_work", Role.REVIEWER, True, True, ANNOTATE),
]

Actor = tuple[Role, bool, bool, set[Action]]

CASES = [
    pytest.param(state, action, (role, assignee, reviewer, allowed), id=f"{name}-{state}-{action}")
    for (name, role, assignee, reviewer, allowed), state, action in itertools.product(
        ACTORS, TaskState, Action
    )
]


@pytest.mark.parametrize(("state", "action", "actor"), CASES)
def test_transition_table(state: TaskState, action: Action, actor: Actor) -> None:
    role, assignee, reviewer, allowed = actor
    target = EXPECTED.get((state, action))
    expected_error: type[Exception] | None = None
    if target is None:
        expected_error = TransitionError
    elif action not in allowed:
        expected_error = NotPermittedError
    if expected_error is None:
        assert transition(state, action, role, is_assignee=assignee, is_reviewer=reviewer) is target
        return
    with pytest.raises(expected_error) as error:
        transition(state, action, role, is_assignee=assignee, is_reviewer=reviewer)
    assert isinstance(error.value, WorkflowError)
    assert error.value.state is state
    assert error.value.action is action


def test_allowed_actions_agree_with_the_table() -> None:
    for (_, role, assignee, reviewer, allowed), state in itertools.product(ACTORS, TaskState):
        expected = {a for (s, a) in EXPECTED if s is state and a in allowed}
        got = allowed_actions(state, role, is_assignee=assignee, is_reviewer=reviewer)
        assert set(got) == expected, (role, state)


def test_errors_are_usage_errors_with_a_clear_message() -> None:
    with pytest.raises(WorkflowError, match="cannot accept a task that is new: a new task allows"):
        transition(S.NEW, A.ACCEPT, Role.OWNER, is_assignee=False, is_reviewer=False)
    with pytest.raises(UsageError, match="reopen it first"):
        transition(S.ACCEPTED, A.ASSIGN, Role.OWNER, is_assignee=False, is_reviewer=False)
    with pytest.raises(UsageError, match="nobody reviews their own work"):
        transition(S.IN_REVIEW, A.ACCEPT, Role.REVIEWER, is_assignee=True, is_reviewer=True)


def test_plain_strings_are_accepted_and_unknown_ones_refused() -> None:
    got = transition("new", "start", "annotator", is_assignee=True, is_reviewer=False)  # type: ignore[arg-type]
    assert got is S.IN_PROGRESS
    with pytest.raises(UsageError, match="'done' is not a valid TaskState"):
        transition("done", "start", "annotator", is_assignee=True, is_reviewer=False)  # type: ignore[arg-type]


def test_task_kinds() -> None:
    assert [k.value for k in TaskKind] == ["normal", "ground_truth", "training", "consensus"]


# -- history ------------------------------------------------------------------------------------

T0 = datetime(2024, 5, 1, 9, tzinfo=UTC)


def _history(*steps: tuple[Action, str, Role, bool, bool, int]) -> list[TaskEvent]:
    """Events from (action, actor, role, is_assignee, is_reviewer, minutes after T0)."""
    events: list[TaskEvent] = []
    for action, actor, role, assignee, reviewer, minutes in steps:
        state = events[-1].to_state if events else S.NEW
        at = T0 + timedelta(minutes=minutes)
        events.append(
            record(state, action, actor, role, at=at, is_assignee=assignee, is_reviewer=reviewer)
        )
    return events


ANA = ("ana", Role.ANNOTATOR, True, False)
REV = ("rob", Role.REVIEWER, False, True)
BOSS = ("mia", Role.MANAGER, False, False)

LIFE = _history(
    (A.ASSIGN, *BOSS, 0),
    (A.START, *ANA, 10),
    (A.SUBMIT, *ANA, 70),
    (A.TAKE_REVIEW, *REV, 80),
    (A.REJECT, *REV, 90),
    (A.START, *ANA, 100),
    (A.SUBMIT, *ANA, 130),
    (A.TAKE_REVIEW, *REV, 140),
    (A.ACCEPT, *REV, 150),
    (A.REOPEN, *BOSS, 200),
    (A.SUBMIT, *ANA, 210),
    (A.TAKE_REVIEW, *REV, 215),
    (A.ACCEPT, *REV, 220),
)


def test_record_makes_the_event() -> None:
    event = LIFE[4]
    assert (event.actor, event.action, event.from_state, event.to_state) == (
        "rob",
        A.REJECT,
        S.IN_REVIEW,
        S.REJECTED,
    )
    assert event.at == T0 + timedelta(minutes=90)
    with pytest.raises(NotPermittedError):
        record(S.NEW, A.START, "eve", Role.ANNOTATOR, at=T0, is_assignee=False, is_reviewer=False)


def test_current_state_replays_the_history() -> None:
    assert current_state([]) is S.NEW
    assert current_state(LIFE[:5]) is S.REJECTED
    assert current_state(LIFE[:6]) is S.REWORK
    assert current_state(LIFE) is S.ACCEPTED


def test_current_state_refuses_a_broken_history() -> None:
    with pytest.raises(UsageError, match="starts from in_review, but the task was new"):
        current_state(LIFE[4:])
    forged = TaskEvent(T0, "eve", A.START, S.NEW, S.ACCEPTED)
    with pytest.raises(UsageError, match="does not lead from new to accepted"):
        current_state([forged])
    backwards = [LIFE[0], TaskEvent(T0 - timedelta(hours=1), "ana", A.START, S.NEW, S.IN_PROGRESS)]
    with pytest.raises(UsageError, match="earlier than the one before"):
        current_state(backwards)


def test_naive_event_times_are_refused() -> None:
    with pytest.raises(UsageError, match="no timezone"):
        TaskEvent(datetime(2024, 5, 1), "ana", A.START, S.NEW, S.IN_PROGRESS)


def test_paid_at_is_the_first_acceptance() -> None:
    assert paid_at(LIFE[:8]) is None  # rejected once, not accepted yet
    assert paid_at(LIFE) == T0 + timedelta(minutes=150)  # reopening does not pay again


def test_rejection_count() -> None:
    assert rejection_count(LIFE[:4]) == 0
    assert rejection_count(LIFE) == 1


def test_time_in_states() -> None:
    spent = time_in_states(LIFE[:5], until=T0 + timedelta(minutes=95))
    assert spent == {
        S.NEW: timedelta(minutes=10),
        S.IN_PROGRESS: timedelta(minutes=60),
        S.SUBMITTED: timedelta(minutes=10),
        S.IN_REVIEW: timedelta(minutes=10),
        S.REJECTED: timedelta(minutes=5),
    }
    with pytest.raises(UsageError, match="before the event"):
        time_in_states(LIFE, until=T0)
