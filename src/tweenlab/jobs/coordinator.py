"""What every executor's coordinating side shares: the rows it finishes, waiting for a job,
and recovering the unfinished jobs of an earlier process.

An executor keeps, per job it started, an event set once the job's row is final
(``_finished``) and the jobs not yet handed to its workers (``_pending``), and implements
``_start`` (queue a job again) and ``_final`` (write a final state, wake waiters); ``submit``,
``wait`` and ``recover`` then read the same on every executor.
"""

from __future__ import annotations

import collections
import importlib
import threading
from collections.abc import Callable, Mapping
from typing import Any

from tweenlab.errors import UsageError
from tweenlab.jobs.model import JobRecord, JobState, JobStore, new_job

__all__ = ["Coordinator", "resolve_target"]


def resolve_target(target: str) -> Callable[..., Any]:
    """The job function a ``"module:function"`` target names; ``UsageError`` if none."""
    module, _, name = target.partition(":")
    if not module or not name:
        raise UsageError(f"job target {target!r}: expected 'module:function'")
    try:
        function = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        raise UsageError(f"job target {target!r}: {error}") from None
    if not callable(function):
        raise UsageError(f"job target {target!r} is not a function")
    return function  # type: ignore[no-any-return]


class Coordinator:
    """The bookkeeping of an executor's coordinating process (a base class).

    Args:
        store: Where the rows live (only the coordinator writes them).
        max_attempts: Starts after which an interrupted job is failed, not resumed.
    """

    def __init__(self, store: JobStore, *, max_attempts: int = 3) -> None:
        self.store, self.max_attempts = store, max_attempts
        self._finished: dict[str, threading.Event] = {}
        self._pending: collections.deque[JobRecord] = collections.deque()
        self._lock: Any = threading.Lock()

    def submit(self, kind: str, target: str, params: Mapping[str, Any]) -> JobRecord:
        """Queue ``target(context, params)``; returns the new row."""
        resolve_target(target)  # a bad target fails here, not in a worker
        job = new_job(kind, target, params)
        self.store.add(job)
        return self._start(job)

    def _withdraw(self, job_id: str) -> bool:
        """Drop the job from this coordinator's queue; whether it was waiting there (the
        caller holds ``_lock``)."""
        waiting = [queued for queued in self._pending if queued.id == job_id]
        for queued in waiting:
            self._pending.remove(queued)
        return bool(waiting)

    def wait(self, job_id: str, timeout: float | None = None) -> JobRecord:
        """The job's row once it is final (or when ``timeout`` seconds have passed)."""
        finished = self._finished.get(job_id)
        if finished is not None:
            finished.wait(timeout)
        return self._get(job_id)

    def recover(self) -> list[JobRecord]:
        """Start again the unfinished jobs of an earlier process (not this one's); those
        started ``max_attempts`` times already are marked failed. Returns their rows."""
        recovered = []
        for job in self.store.unfinished():
            if job.id in self._finished:  # this executor's own
                continue
            if job.attempts >= self.max_attempts:
                message = f"interrupted {job.attempts} times (the process running it stopped)"
                recovered.append(self._final(job.id, JobState.FAILED, error=message))
            else:
                recovered.append(self._start(job))
        return recovered

    def _start(self, job: JobRecord) -> JobRecord:
        raise NotImplementedError

    def _final(self, job_id: str, state: JobState, **changes: Any) -> JobRecord:
        raise NotImplementedError

    def _get(self, job_id: str) -> JobRecord:
        job = self.store.get(job_id)
        if job is None:
            raise UsageError(f"no job {job_id!r}")
        return job
