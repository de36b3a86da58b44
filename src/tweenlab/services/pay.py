"""Pay: a project's rate table and each person's statement (``workflow.pay``).

The rate table is stored on the project row as JSON: ``currency``, the project's ``default``
rate and per-person rates (``people``: user id -> rate), each ``{"basis": "task"|"hour",
"amount": "12.50"}`` with the amount as a decimal string. A statement pays the tasks assigned to
the person that were first accepted in the period (``workflow.paid_at`` over the task's events),
per task or per hour of their active time on the task (``workflow.time_per_task`` over all their
heartbeats on it: rework is paid with the acceptance).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tweenlab.core.roles import Role
from tweenlab.errors import AccessDeniedError, FieldError, NotFoundError, UsageError
from tweenlab.services.projects import Access
from tweenlab.store import HeartbeatRow, Membership, Task, TaskEventRow
from tweenlab.workflow import (
    Action,
    Heartbeat,
    PaidTask,
    Period,
    Rate,
    RateTable,
    Statement,
    TaskEvent,
    TaskState,
    paid_at,
    statement,
    time_per_task,
)

__all__ = ["get_rates", "person_statement", "rate_table", "set_rates"]


def _rate(data: Any, field: str) -> Rate:
    if not isinstance(data, dict):
        raise FieldError(field, "must be {basis, amount}")
    try:
        return Rate(data.get("basis", ""), Decimal(str(data.get("amount", ""))))
    except (ValueError, UsageError, ArithmeticError) as error:
        raise FieldError(field, str(error)) from None


def rate_table(project_id: int, stored: dict[str, Any] | None) -> RateTable:
    """The ``RateTable`` of a project's stored rates (an empty one in EUR when none are set)."""
    stored = stored or {}
    default = stored.get("default")
    people: dict[tuple[int | str, int | str], Rate] = {
        (int(uid), project_id): _rate(rate, f"people.{uid}")
        for uid, rate in (stored.get("people") or {}).items()
    }
    return RateTable(
        str(stored.get("currency", "EUR")),
        projects={} if default is None else {project_id: _rate(default, "default")},
        people_in_projects=people,
    )


def get_rates(access: Access) -> dict[str, Any]:
    """The stored rates: all of them for managers and owners; the currency, the default and
    their own rate for everyone else (one person's rate is not another's business)."""
    rates = dict(access.project.pay_rates or {"currency": "EUR", "default": None, "people": {}})
    if not access.role.at_least(Role.MANAGER):
        mine = str(access.user_id)
        rates["people"] = {k: v for k, v in (rates.get("people") or {}).items() if k == mine}
    return rates


def set_rates(db: Session, access: Access, rates: dict[str, Any]) -> dict[str, Any]:
    """Replace the project's rate table (managers and owners); people must be members."""
    if not access.role.at_least(Role.MANAGER):
        raise AccessDeniedError("only managers and owners set pay rates")
    rate_table(access.project_id, rates)  # every rate checked
    members = set(
        db.scalars(select(Membership.user_id).where(Membership.project_id == access.project_id))
    )
    for uid in rates.get("people") or {}:
        if int(uid) not in members:
            raise FieldError(f"people.{uid}", f"user {uid} is not a member of this project")
    access.project.pay_rates = rates
    db.commit()
    return get_rates(access)


def person_statement(
    db: Session, access: Access, person: int, start: datetime, stop: datetime
) -> Statement:
    """What ``person`` is paid in this project for ``start .. stop`` (managers and owners, or the
    person themself; anyone else gets 403)."""
    if person != access.user_id and not access.role.at_least(Role.MANAGER):
        raise AccessDeniedError("only managers see other people's pay statements")
    is_member = db.scalar(
        select(Membership.id).where(
            Membership.project_id == access.project_id, Membership.user_id == person
        )
    )
    if is_member is None:
        raise NotFoundError(f"user {person} is not a member of this project")
    try:
        period = Period(start, stop)
    except UsageError as error:
        raise FieldError("from", str(error)) from None
    tasks = list(
        db.scalars(
            select(Task).where(Task.project_id == access.project_id, Task.assignee_id == person)
        )
    )
    ids = [t.id for t in tasks]
    events: dict[int, list[TaskEvent]] = defaultdict(list)
    for row in db.scalars(
        select(TaskEventRow).where(TaskEventRow.task_id.in_(ids)).order_by(TaskEventRow.id)
    ):
        events[row.task_id].append(
            TaskEvent(
                row.at,
                str(row.actor_id),
                Action(row.action),
                TaskState(row.from_state),
                TaskState(row.to_state),
                row.note,
            )
        )
    beats = [
        Heartbeat(str(person), task, at)
        for task, at in db.execute(
            select(HeartbeatRow.task_id, HeartbeatRow.at).where(
                HeartbeatRow.task_id.in_(ids), HeartbeatRow.user_id == person
            )
        )
    ]
    seconds = {int(task): s for (_, task), s in time_per_task(beats).items()}
    paid = [
        PaidTask(t.id, access.project_id, person, paid_at(events[t.id]), seconds.get(t.id, 0.0))
        for t in tasks
    ]
    return statement(person, period, paid, rate_table(access.project_id, access.project.pay_rates))
