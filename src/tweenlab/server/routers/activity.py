"""Heartbeats from the editor (``POST .../tasks/{task_id}/heartbeat``) and the project's activity
(``GET .../activity?from=&to=``, managers and owners): active time per person, day and task,
and keyframes and tracks made."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Query, Response
from pydantic import BaseModel

from tweenlab.core.roles import Role
from tweenlab.server.deps import Auth, Db, api_router, require
from tweenlab.services import activity
from tweenlab.services.projects import Access
from tweenlab.store import utc_now

__all__ = ["router"]

router = api_router(prefix="/projects/{project_id}", tags=["activity"])
Member = Annotated[Auth, Depends(require(Role.ANNOTATOR))]
Manager = Annotated[Auth, Depends(require(Role.MANAGER))]


class PersonView(BaseModel):
    """One person's work in the period."""

    user_id: int
    email: str
    seconds: float
    days: dict[date, float]
    tasks: dict[int, float]
    keyframes: int
    tracks: int
    keyframes_per_hour: float | None


class ActivityView(BaseModel):
    """Everyone's work in the project from ``from`` to ``to``."""

    start: datetime
    end: datetime
    people: list[PersonView]


def _access(auth: Auth) -> Access:
    assert auth.access is not None
    return auth.access


@router.post("/tasks/{task_id}/heartbeat", status_code=204)
def heartbeat(project_id: int, task_id: int, db: Db, auth: Member) -> Response:
    """The editor's "still working" (the task's annotator or reviewer)."""
    activity.beat(db, _access(auth), task_id)
    return Response(status_code=204)


@router.get("/activity")
def project_activity(
    project_id: int,
    db: Db,
    auth: Manager,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
) -> ActivityView:
    """Active time (idle gaps cut) and output per person; the last 7 days by default."""
    end = end or utc_now()
    start = start or end - timedelta(days=7)
    people = activity.project_activity(db, _access(auth), start, end)
    return ActivityView(
        start=start,
        end=end,
        people=[PersonView(**vars(person)) for person in people],
    )
