"""``/api/jobs/{job_id}``: a job's progress (polled, or as server-sent events) and cancel.

A job belongs to a project: its members see it (anyone else gets 404, as if it did not exist);
its creator and the project's managers may cancel it. ``/events`` is a ``text/event-stream``:
an ``event: progress`` whenever the row changes and one ``event: final`` when it is finished,
each with the job as JSON in ``data``; the stream then ends. It reads the database (every half
second), so it follows jobs whichever server process runs them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from tweenlab.server.deps import Auth, Db, Jobs, api_router, require
from tweenlab.services.jobs import can_cancel, job_for
from tweenlab.store import Database, Job

__all__ = ["POLL_S", "router"]

router = api_router(prefix="/jobs", tags=["jobs"])
SignedIn = Annotated[Auth, Depends(require())]
POLL_S = 0.5
KEEPALIVE_S = 15.0


class JobView(BaseModel):
    """A job: what it is, where it is, what it gave."""

    id: str
    kind: str
    state: str
    done: int
    total: int
    attempts: int
    result: dict[str, Any] | None
    error: str | None
    project_id: int | None
    created_by: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def _view(row: Job) -> JobView:
    return JobView(
        id=row.id,
        kind=row.kind,
        state=row.state,
        done=row.done,
        total=row.total,
        attempts=row.attempts,
        result=dict(row.result) if row.result is not None else None,
        error=row.error,
        project_id=row.project_id,
        created_by=row.created_by,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


_FINAL = frozenset({"succeeded", "failed", "cancelled"})


@router.get("/{job_id}")
def get_job(job_id: str, db: Db, auth: SignedIn) -> JobView:
    """A job (members of its project)."""
    return _view(job_for(db, auth.user, job_id))


@router.post("/{job_id}/cancel")
def cancel_job(job_id: str, db: Db, jobs: Jobs, auth: SignedIn) -> JobView:
    """Ask a job to stop: a queued job is dropped, a running one stops at its next check.

    Its creator or a manager of its project; a finished job is answered as it is.
    """
    row = job_for(db, auth.user, job_id)
    can_cancel(db, auth.user, row)
    if row.state not in _FINAL:
        db.rollback()  # the executor writes the row in its own transaction
        jobs.cancel(job_id)
    db.expire_all()
    return _view(job_for(db, auth.user, job_id))


@router.get("/{job_id}/events", response_class=StreamingResponse)
def job_events(job_id: str, request: Request, db: Db, auth: SignedIn) -> StreamingResponse:
    """Server-sent events of the job's progress until it is final (members of its project)."""
    job_for(db, auth.user, job_id)
    db.commit()  # the stream reads in short transactions of its own
    database = request.app.state.db
    assert isinstance(database, Database)
    return StreamingResponse(
        _events(request, database, job_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _read(database: Database, job_id: str) -> JobView | None:
    with database.session(readonly=True) as db:
        row = db.get(Job, job_id)
        return _view(row) if row is not None else None


async def _events(request: Request, database: Database, job_id: str) -> AsyncIterator[str]:
    last: str | None = None
    quiet = 0.0
    while True:
        view = await run_in_threadpool(_read, database, job_id)
        if view is None:  # deleted with its project
            yield 'event: final\ndata: {"state": "deleted"}\n\n'
            return
        data = json.dumps(view.model_dump(mode="json"))
        final = view.state in _FINAL
        if data != last or final:
            yield f"event: {'final' if final else 'progress'}\ndata: {data}\n\n"
            last, quiet = data, 0.0
        if final:
            return
        if quiet >= KEEPALIVE_S:
            yield ": keep-alive\n\n"
            quiet = 0.0
        if await request.is_disconnected():
            return
        await asyncio.sleep(POLL_S)
        quiet += POLL_S
