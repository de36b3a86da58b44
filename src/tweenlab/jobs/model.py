"""The job row, the store it lives in, the context a job function sees, the executor protocol."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

__all__ = [
    "Executor",
    "JobContext",
    "JobRecord",
    "JobState",
    "JobStore",
    "MemoryJobStore",
    "PartProgress",
]


class JobState(StrEnum):
    """Where a job is. ``queued`` and ``running`` are unfinished; the rest are final."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self not in (JobState.QUEUED, JobState.RUNNING)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class JobRecord:
    """One job.

    Attributes:
        id: Unique id (a UUID hex string).
        kind: What it does, for people (``ingest``, ``export``...).
        target: The job function, ``"module:function"``.
        params: Its JSON-able parameters.
        state: Where it is.
        done: Units of work done so far.
        total: Units of work in all (0 while unknown).
        attempts: Times it was started (a job interrupted by a crash is started again).
        result: What the function returned, once it succeeded.
        error: Why it failed, once it failed.
    """

    id: str
    kind: str
    target: str
    params: Mapping[str, Any]
    state: JobState = JobState.QUEUED
    done: int = 0
    total: int = 0
    attempts: int = 0
    result: Mapping[str, Any] | None = None
    error: str | None = None
    created_at: datetime = field(default_factory=_now)
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON form (the server's job resource)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state.value,
            "done": self.done,
            "total": self.total,
            "attempts": self.attempts,
            "result": dict(self.result) if self.result is not None else None,
            "error": self.error,
            "created_at": self.created_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


class JobStore(Protocol):
    """Where job rows live; every method is safe to call from several threads."""

    def add(self, job: JobRecord) -> None: ...

    def get(self, job_id: str) -> JobRecord | None: ...

    def update(self, job_id: str, **changes: Any) -> JobRecord: ...

    def unfinished(self) -> list[JobRecord]: ...


class MemoryJobStore:
    """A ``JobStore`` in memory (tests, the CLI); the server's lives in the database."""

    def __init__(self) -> None:
        self._jobs: dict[str, JobRecord] = {}
        self._lock = threading.Lock()

    def add(self, job: JobRecord) -> None:
        with self._lock:
            self._jobs[job.id] = job

    def get(self, job_id: str) -> JobRecord | None:
        with self._lock:
            return self._jobs.get(job_id)

    def update(self, job_id: str, **changes: Any) -> JobRecord:
        with self._lock:
            job = self._jobs[job_id] = replace(self._jobs[job_id], **changes)
            return job

    def unfinished(self) -> list[JobRecord]:
        with self._lock:
            return [job for job in self._jobs.values() if not job.state.final]


def new_job(kind: str, target: str, params: Mapping[str, Any]) -> JobRecord:
    """A queued job with a fresh id."""
    return JobRecord(uuid.uuid4().hex, kind, target, dict(params))


class JobContext(Protocol):
    """What a job function gets to talk back with."""

    job_id: str

    def progress(self, done: int, total: int | None = None) -> None:
        """Report ``done`` units of ``total`` (``None``: total unchanged)."""

    @property
    def cancelled(self) -> bool:
        """Whether someone asked this job to stop (the function should return soon)."""

    def map(self, target: str, items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Run ``target(part_context, item)`` for every item, as parts a worker can do alone
        (a span of frames, a shard of an export); their results, in the items' order.

        Each part reports its own progress; the job's is the sum over its parts. The local
        executor runs the parts one after another in the job's process; a cluster executor
        runs them in parallel on its workers and runs a part again when its worker dies, so a
        part must write its outputs atomically and return what the job merges.
        """
        ...


class PartProgress:
    """The progress of a job made of parts: each part's ``done`` and ``total``, summed.

    Example:
        >>> seen = []
        >>> parts = PartProgress(2, lambda done, total: seen.append((done, total)))
        >>> parts.update(0, 5, 10); parts.update(1, 2, 10)
        >>> seen[-1]
        (7, 20)
    """

    def __init__(self, count: int, report: Callable[[int, int], None]) -> None:
        self._done = [0] * count
        self._total = [0] * count
        self._report = report
        self._lock = threading.Lock()

    def update(self, part: int, done: int, total: int | None) -> None:
        """Part ``part`` has done ``done`` of ``total`` (``None``: its total unchanged)."""
        with self._lock:
            self._done[part] = int(done)
            if total is not None:
                self._total[part] = int(total)
            summed = sum(self._done), sum(self._total)
        self._report(*summed)


class Executor(Protocol):
    """Runs jobs: the local process pool, or a cluster."""

    def submit(self, kind: str, target: str, params: Mapping[str, Any]) -> JobRecord: ...

    def cancel(self, job_id: str) -> JobRecord: ...

    def wait(self, job_id: str, timeout: float | None = None) -> JobRecord: ...

    def recover(self) -> list[JobRecord]: ...

    def shutdown(self) -> None: ...
