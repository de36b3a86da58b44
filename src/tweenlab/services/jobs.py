"""Jobs in the server: rows in the database, an executor started when first needed.

``DatabaseJobStore`` is the ``tweenlab.jobs.JobStore`` of the server: each call is one short
transaction of its own, so the executor's threads and the request handlers never share a
session. When a job changes state, the hooks given for its kind run in the same transaction
(ingest sets its video's status there, so a job and what it is about never disagree).

``JobRunner`` owns the executor: the local process pool, or Ray (``TWEENLAB_EXECUTOR=ray``,
built by ``build_executor``; a missing Ray is a ``ConfigError`` when the runner is made).
Starting the server asks the store for unfinished jobs and, only when there are some, starts
the executor and ``recover()``s them (resumed, or failed after ``max_attempts``): a job is never
left ``running`` by a killed server. Otherwise the executor's processes start with the first
job, so a server that runs no jobs starts quickly.

Several API processes may share one database (``tweenlab serve --workers N``). Every job row
names its ``owner``, the server process that runs it (``host:pid:instance``), which beats the
row's ``heartbeat_at`` while it runs jobs. A process recovers only orphans: rows with no owner,
or whose owner is gone — on the same host, a process that no longer exists (or an earlier
server instance of this very process); elsewhere, an owner silent for ``STALE_AFTER_S``. It
claims each with a compare-and-swap on the owner, so two processes never both resume one job,
and it looks for orphans again while it runs, so the jobs of a process killed beside it are
resumed too. Cancelling a job another process runs sets ``cancel_requested``; the owner's
watcher passes it to its executor within ``WATCH_S``.

Who may see a job: the members of its project (``job_for``); a job outside any project, its
creator and site admins. Who may cancel it: its creator, or a manager of its project.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tweenlab.core.roles import Role
from tweenlab.errors import AccessDeniedError, NotFoundError
from tweenlab.jobs import Executor, JobRecord, JobState, JobStore, LocalExecutor, RayExecutor
from tweenlab.services.projects import project_access
from tweenlab.settings import Settings
from tweenlab.store import Database, Job, User, utc_now

__all__ = [
    "DatabaseJobStore",
    "JobHook",
    "JobRunner",
    "build_executor",
    "can_cancel",
    "check_executor",
    "job_counts",
    "job_for",
    "owner_gone",
    "record_of",
]

logger = logging.getLogger(__name__)

#: ``hook(session, job_row)``: runs in the transaction that changed the job's state.
JobHook = Callable[[Session, Job], None]

WATCH_S = 2.0  # how often a running executor looks for cancel requests
HEARTBEAT_S = 10.0  # how often it beats the rows it owns
ADOPT_S = 30.0  # how often it looks for orphans
STALE_AFTER_S = 60.0  # an owner on another host silent this long is gone

_UNFINISHED = [JobState.QUEUED.value, JobState.RUNNING.value]
_HOST = socket.gethostname()
_LIVE_OWNERS: set[str] = set()  # the owners (stores) open in this process


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def owner_gone(owner: str | None, heartbeat: datetime | None, now: datetime) -> bool:
    """Whether the process named ``owner`` no longer runs its jobs (see the module docstring)."""
    if owner is None:
        return True
    parts = owner.rsplit(":", 2)  # host, pid, instance
    if len(parts) == 3 and parts[0] == _HOST and parts[1].isdigit():
        pid = int(parts[1])
        if pid == os.getpid():
            return owner not in _LIVE_OWNERS
        return not _pid_alive(pid)
    return heartbeat is None or now - heartbeat > timedelta(seconds=STALE_AFTER_S)


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
        self.owner = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        _LIVE_OWNERS.add(self.owner)

    def close(self) -> None:
        """This store's process stops running jobs: its rows become orphans at once."""
        _LIVE_OWNERS.discard(self.owner)

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
                    owner=self.owner,
                    heartbeat_at=utc_now(),
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
        """The unfinished jobs this process runs, and the orphans it claims now to resume."""
        now = utc_now()
        with self.database.session() as db:
            rows = list(
                db.scalars(select(Job).where(Job.state.in_(_UNFINISHED)).order_by(Job.created_at))
            )
            mine = []
            for row in rows:
                if row.owner != self.owner:
                    if not owner_gone(row.owner, row.heartbeat_at, now):
                        continue
                    claimed = db.execute(
                        update(Job)
                        .where(Job.id == row.id, _is(Job.owner, row.owner))
                        .values(owner=self.owner, heartbeat_at=now)
                        .execution_options(synchronize_session=False)
                    )
                    if claimed.rowcount != 1:  # type: ignore[attr-defined]
                        continue
                mine.append(row.id)
            db.commit()
            return [record_of(row) for row in rows if row.id in mine]

    def has_orphans(self) -> bool:
        """Whether some unfinished job's owner is gone (a cheap read, claims nothing)."""
        now = utc_now()
        with self.database.session(readonly=True) as db:
            found = db.execute(
                select(Job.owner, Job.heartbeat_at).where(
                    Job.state.in_(_UNFINISHED), _not_is(Job.owner, self.owner)
                )
            )
            return any(owner_gone(owner, beat, now) for owner, beat in found)

    def ownership(self, job_id: str) -> tuple[str | None, datetime | None]:
        """The process that runs (or ran) a job, and when it last said it still does."""
        with self.database.session(readonly=True) as db:
            row = db.execute(select(Job.owner, Job.heartbeat_at).where(Job.id == job_id)).first()
            return (row[0], row[1]) if row is not None else (None, None)

    def beat(self) -> None:
        """Mark the unfinished jobs of this process as still in hand."""
        with self.database.session() as db:
            db.execute(
                update(Job)
                .where(Job.owner == self.owner, Job.state.in_(_UNFINISHED))
                .values(heartbeat_at=utc_now())
                .execution_options(synchronize_session=False)
            )
            db.commit()

    def request_cancel(self, job_id: str) -> None:
        """Ask the owner of an unfinished job, in another process, to stop it."""
        with self.database.session() as db:
            db.execute(
                update(Job)
                .where(Job.id == job_id, Job.state.in_(_UNFINISHED))
                .values(cancel_requested=True)
                .execution_options(synchronize_session=False)
            )
            db.commit()

    def cancel_requests(self) -> list[str]:
        """The jobs of this process that another process asked to stop."""
        with self.database.session(readonly=True) as db:
            return list(
                db.scalars(
                    select(Job.id).where(
                        Job.owner == self.owner,
                        Job.cancel_requested,
                        Job.state.in_(_UNFINISHED),
                    )
                )
            )


def _is(column: Any, value: str | None) -> Any:
    return column.is_(None) if value is None else column == value


def _not_is(column: Any, value: str) -> Any:
    return column.is_(None) | (column != value)


def check_executor(settings: Settings) -> None:
    """Raise ``ConfigError`` (naming ``pip install 'tweenlab[ray]'``) when the executor the
    settings name cannot be built here."""
    if settings.executor == "ray":
        from tweenlab.jobs.ray_executor import import_ray  # noqa: PLC0415  (Ray is optional)

        import_ray()


def build_executor(store: JobStore, settings: Settings) -> Executor:
    """The executor ``settings.executor`` names, writing rows to ``store``."""
    if settings.executor == "ray":
        return RayExecutor(store, address=settings.ray_address, cpus=settings.job_workers)
    return LocalExecutor(store, workers=settings.job_workers)


def job_counts(database: Database) -> dict[str, int]:
    """The unfinished jobs of every process, by state: ``{"queued": n, "running": m}``."""
    with database.session(readonly=True) as db:
        found = db.execute(
            select(Job.state, func.count()).where(Job.state.in_(_UNFINISHED)).group_by(Job.state)
        )
        counts = dict.fromkeys(_UNFINISHED, 0)
        counts.update({state: int(number) for state, number in found})
        return counts


class JobRunner:
    """The server's executor, started on first use (or at start-up to recover jobs).

    Args:
        store: Where the rows live.
        settings: ``executor`` picks the executor (``ConfigError`` at once when it cannot be
            built here); ``job_workers`` and ``ray_address`` configure it.
    """

    def __init__(self, store: DatabaseJobStore, settings: Settings) -> None:
        check_executor(settings)
        self.store, self.settings = store, settings
        self._executor: Executor | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def executor(self) -> Executor:
        """The executor, started now if it was not yet (and with it the watcher)."""
        with self._lock:
            if self._executor is None:
                self._executor = build_executor(self.store, self.settings)
                self._watcher = threading.Thread(target=self._watch, name="job-owner", daemon=True)
                self._watcher.start()
            return self._executor

    @property
    def started(self) -> bool:
        """Whether the executor's processes run."""
        return self._executor is not None

    def start(self) -> list[JobRecord]:
        """Recover the jobs an earlier server left unfinished; returns their rows. Ray is
        connected to at once (a wrong address fails the start, not the first job)."""
        if self.settings.executor != "ray" and not self.store.unfinished():
            return []
        return self.executor.recover()

    def submit(self, kind: str, target: str, params: Mapping[str, Any]) -> JobRecord:
        """Queue ``target(context, params)``."""
        return self.executor.submit(kind, target, params)

    def cancel(self, job_id: str) -> JobRecord:
        """Ask a job to stop (a queued one is dropped; a running one sees ``cancelled``). A job
        another process runs is asked through its row; an orphan is simply marked cancelled."""
        job = self.store.get(job_id)
        if job is None or job.state.final:
            raise NotFoundError(f"no job {job_id!r}")
        owner, heartbeat = self.store.ownership(job_id)
        if owner == self.store.owner and self._executor is not None:
            return self._executor.cancel(job_id)
        if owner_gone(owner, heartbeat, utc_now()):  # on another host: silent for a while
            return self.store.update(job_id, state=JobState.CANCELLED, finished_at=utc_now())
        self.store.request_cancel(job_id)
        return job

    def wait(self, job_id: str, timeout: float | None = None) -> JobRecord:
        """The job once it is final (or after ``timeout`` seconds)."""
        return self.executor.wait(job_id, timeout)

    def shutdown(self) -> None:
        """Stop the executor (waiting for running jobs) and give up ownership."""
        self._stop.set()
        with self._lock:
            executor, self._executor = self._executor, None
            watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.join(timeout=5)
        if executor is not None:
            executor.shutdown()
        self.store.close()

    def _watch(self) -> None:
        """While the executor runs: pass on cancel requests, beat the owned rows, adopt
        orphans (a database error is tried again next round)."""
        beats = adoption = 0.0
        relayed: set[str] = set()
        while not self._stop.wait(WATCH_S):
            executor = self._executor
            if executor is None:
                return
            try:
                for job_id in self.store.cancel_requests():
                    if job_id not in relayed:
                        relayed.add(job_id)
                        executor.cancel(job_id)
                beats += WATCH_S
                if beats >= HEARTBEAT_S:
                    beats = 0.0
                    self.store.beat()
                adoption += WATCH_S
                if adoption >= ADOPT_S:
                    adoption = 0.0
                    if self.store.has_orphans():
                        executor.recover()
            except Exception:  # the next round tries again
                logger.exception("job watcher")


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
