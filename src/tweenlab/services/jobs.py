"""Jobs in the server: rows in the database, a local executor started when first needed.

``DatabaseJobStore`` is the ``tweenlab.jobs.JobStore`` of the server: each call is one short
transaction of its own, so the executor's threads and the request handlers never share a
session. When a job changes state, the hooks given for its kind run in the same transaction
(ingest sets its video's status there, so a job and what it is about never disagree).

``JobRunner`` owns the executor. Starting the server asks the store for unfinished jobs and,
only when there are some, starts the executor and ``recover()``s them (resumed, or failed after
``max_attempts``): a job is never left ``running`` by a killed server. Otherwise the executor's
processes start with the first job, so a server that runs no jobs starts quickly. One process
runs jobs: with several API processes, each would recover the others' jobs; run one.

Who may see a job: the members of its project (``job_for``); a job outside any project, its
creator and site admins. Who may cancel it: its creator, or a manager of its project.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tweenlab.core.roles import Role
from tweenlab.errors import AccessDeniedError, NotFoundError
from tweenlab.jobs import JobRecord, JobState, LocalExecutor
from tweenlab.services.projects import project_access
from tweenlab.settings import Settings
from tweenlab.store import Database, Job, User, utc_now

__all__ = [
    "DatabaseJobStore",
    "JobHook",
    "JobRunner",
    "can_cancel",
    "job_for",
    "record_of",
]

#: ``hook(session, job_row)``: runs in the transaction that changed the job's state.
JobHook = Callable[[Session, Job], None]


def record_of(row: Job) -> JobRecord:
    """The ``JobRecord`` of a row."""
    return JobRecord(
        id=row.id,
        kind=row.kind,
        target=row.target,
        params=dict(row.params),
        state=JobState(row.state),
        done=row.done,
        total=row.total,
        attempts=row.attempts,
        result=dict(row.result) if row.result is not None else None,
        error=row.error,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


class DatabaseJobStore:
    """Job rows in the database (a ``tweenlab.jobs.JobStore``).

    ``params["project_id"]`` and ``params["created_by"]``, when present, fill the row's project
    and creator (so visibility is decided from the row, not from the parameters).

    Args:
        database: The database.
        hooks: Per job kind, what to do in the same transaction when a job's state changes.
    """

    def __init__(self, database: Database, hooks: Mapping[str, JobHook] | None = None) -> None:
        self.database = database
        self.hooks = dict(hooks or {})

    def add(self, job: JobRecord) -> None:
        params = dict(job.params)
        with self.database.session() as db:
            db.add(
                Job(
                    id=job.id,
                    kind=job.kind,
                    target=job.target,
                    params=params,
                    state=job.state.value,
                    done=job.done,
                    total=job.total,
                    attempts=job.attempts,
                    result=dict(job.result) if job.result is not None else None,
                    error=job.error,
                    project_id=params.get("project_id"),
                    created_by=params.get("created_by"),
                    created_at=job.created_at,
                    started_at=job.started_at,
                    finished_at=job.finished_at,
                )
            )
            db.commit()

    def get(self, job_id: str) -> JobRecord | None:
        with self.database.session(readonly=True) as db:
            row = db.get(Job, job_id)
            return record_of(row) if row is not None else None

    def update(self, job_id: str, **changes: Any) -> JobRecord:
        with self.database.session() as db:
            row = db.get(Job, job_id)
            if row is None:
                raise KeyError(job_id)
            before = row.state
            for name, value in changes.items():
                if name == "state":
                    setattr(row, name, JobState(value).value)
                elif name == "result" and value is not None:
                    setattr(row, name, dict(value))
                else:
                    setattr(row, name, value)
            if row.state != before and (hook := self.hooks.get(row.kind)) is not None:
                hook(db, row)
            db.commit()
            return record_of(row)

    def unfinished(self) -> list[JobRecord]:
        with self.database.session(readonly=True) as db:
            rows = db.scalars(
                select(Job)
                .where(Job.state.in_([JobState.QUEUED.value, JobState.RUNNING.value]))
                .order_by(Job.created_at)
            )
            return [record_of(row) for row in rows]


class JobRunner:
    """The server's executor, started on first use (or at start-up to recover jobs).

    Args:
        store: Where the rows live.
        settings: ``job_workers`` sets the number of worker processes.
    """

    def __init__(self, store: DatabaseJobStore, settings: Settings) -> None:
        self.store, self.workers = store, settings.job_workers
        self._executor: LocalExecutor | None = None
        self._lock = threading.Lock()

    @property
    def executor(self) -> LocalExecutor:
        """The executor, started now if it was not yet."""
        with self._lock:
            if self._executor is None:
                self._executor = LocalExecutor(self.store, workers=self.workers)
            return self._executor

    @property
    def started(self) -> bool:
        """Whether the executor's processes run."""
        return self._executor is not None

    def start(self) -> list[JobRecord]:
        """Recover the jobs an earlier server left unfinished; returns their rows."""
        if not self.store.unfinished():
            return []
        return self.executor.recover()

    def submit(self, kind: str, target: str, params: Mapping[str, Any]) -> JobRecord:
        """Queue ``target(context, params)``."""
        return self.executor.submit(kind, target, params)

    def cancel(self, job_id: str) -> JobRecord:
        """Ask a job to stop (a queued one is dropped; a running one sees ``cancelled``)."""
        if self._executor is None:  # nothing runs here: an unfinished row is a leftover
            job = self.store.get(job_id)
            if job is None or job.state.final:
                raise NotFoundError(f"no job {job_id!r}")
            return self.store.update(job_id, state=JobState.CANCELLED, finished_at=utc_now())
        return self._executor.cancel(job_id)

    def wait(self, job_id: str, timeout: float | None = None) -> JobRecord:
        """The job once it is final (or after ``timeout`` seconds)."""
        return self.executor.wait(job_id, timeout)

    def shutdown(self) -> None:
        """Stop the executor (waiting for running jobs)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown()


def job_for(db: Session, user: User, job_id: str) -> Job:
    """The job ``job_id`` if ``user`` may see it, else ``NotFoundError`` (as if there were none)."""
    row = db.get(Job, job_id)
    if row is None:
        raise NotFoundError(f"no job {job_id!r}")
    if row.project_id is not None:
        project_access(db, user, row.project_id)  # NotFoundError for non-members
    elif not user.is_admin and row.created_by != user.id:
        raise NotFoundError(f"no job {job_id!r}")
    return row


def can_cancel(db: Session, user: User, row: Job) -> None:
    """Raise ``AccessDeniedError`` unless ``user`` created the job or manages its project."""
    if row.created_by == user.id or user.is_admin:
        return
    if row.project_id is not None:
        role = project_access(db, user, row.project_id).role
        if role.at_least(Role.MANAGER):
            return
    raise AccessDeniedError("only the job's creator or a manager of its project may cancel it")
