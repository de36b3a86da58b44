"""Activity: the editor's heartbeats, and time on task and output per person from them.

A heartbeat is stored as it arrives, timed by the server's clock (``utc_now``). Time on task is
``workflow.activity``'s (gaps longer than ``IDLE_AFTER`` cut, per UTC day and per task); output
is counted from the journal: a track created counts one track and its keyframes, a track updated
the keyframes it added or changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tweenlab.errors import AccessDeniedError, FieldError
from tweenlab.services.projects import Access
from tweenlab.services.tasks import visible_task
from tweenlab.store import HeartbeatRow, JournalRow, Task, User, utc_now
from tweenlab.workflow import Heartbeat, Output, rates, time_per_person_per_day, time_per_task

__all__ = ["PersonActivity", "beat", "project_activity"]


def beat(db: Session, access: Access, task_id: int) -> HeartbeatRow:
    """Record that the caller is working on a task (its annotator or its reviewer)."""
    task = visible_task(db, access, task_id)
    if access.user_id not in {task.assignee_id, task.reviewer_id}:
        raise AccessDeniedError("heartbeats come from the task's annotator or reviewer")
    row = HeartbeatRow(user_id=access.user_id, task_id=task.id, at=utc_now())
    db.add(row)
    db.commit()
    return row


@dataclass
class PersonActivity:
    """One person's work in the period.

    Attributes:
        user_id: Who.
        email: Their e-mail.
        seconds: Active seconds in all.
        days: Active seconds per UTC day.
        tasks: Active seconds per task.
        keyframes: Keyframes they placed (created or changed).
        tracks: Tracks they created.
        keyframes_per_hour: ``keyframes`` per active hour (``None`` without active time).
    """

    user_id: int
    email: str
    seconds: float = 0.0
    days: dict[date, float] = field(default_factory=dict)
    tasks: dict[int, float] = field(default_factory=dict)
    keyframes: int = 0
    tracks: int = 0
    keyframes_per_hour: float | None = None


def _output(entry: JournalRow) -> Output:
    if entry.after is None:
        return Output()
    after = {k["frame"]: k for k in entry.after["keyframes"]}
    if entry.before is None:
        return Output(keyframes=len(after), tracks=1)
    before = {k["frame"]: k for k in entry.before["keyframes"]}
    return Output(keyframes=sum(1 for f, k in after.items() if before.get(f) != k))


def project_activity(
    db: Session, access: Access, start: datetime, end: datetime
) -> list[PersonActivity]:
    """Each person's active time and output in the project's tasks from ``start`` to ``end``."""
    if start.tzinfo is None or end.tzinfo is None:
        raise FieldError("from", "times need a timezone (such as Z or +00:00)")
    if end <= start:
        raise FieldError("to", f"{end.isoformat()} is not after {start.isoformat()}")
    in_project = select(Task.id).where(Task.project_id == access.project_id)
    beats = [
        Heartbeat(str(user), task, at)
        for user, task, at in db.execute(
            select(HeartbeatRow.user_id, HeartbeatRow.task_id, HeartbeatRow.at).where(
                HeartbeatRow.task_id.in_(in_project),
                HeartbeatRow.at >= start,
                HeartbeatRow.at < end,
            )
        )
    ]
    entries = db.scalars(
        select(JournalRow).where(
            JournalRow.task_id.in_(in_project), JournalRow.at >= start, JournalRow.at < end
        )
    )
    people: dict[int, PersonActivity] = {}

    def person(user_id: int) -> PersonActivity:
        if user_id not in people:
            people[user_id] = PersonActivity(user_id, "")
        return people[user_id]

    for (user, day), seconds in time_per_person_per_day(beats).items():
        who = person(int(user))
        who.days[day] = seconds
        who.seconds += seconds
    for (user, task), seconds in time_per_task(beats).items():
        person(int(user)).tasks[int(task)] = seconds
    for entry in entries:
        if entry.actor_id is not None:
            made = _output(entry)
            who = person(entry.actor_id)
            who.keyframes += made.keyframes
            who.tracks += made.tracks
    rows = db.execute(select(User.id, User.email).where(User.id.in_(list(people))))
    emails: dict[int, Any] = {user_id: email for user_id, email in rows}
    for who in people.values():
        who.email = str(emails.get(who.user_id, ""))
        who.keyframes_per_hour = rates(
            Output(who.keyframes, who.tracks), who.seconds
        ).keyframes_per_hour
    return sorted(people.values(), key=lambda p: p.email)
