"""What every executor's coordinating side shares: the rows it finishes, waiting for a job,
and recovering the unfinished jobs of an earlier process.

An executor keeps, per job it started, an event set once the job's row is final
(``_finished``), and implements ``_start`` (queue a job again) and ``_final`` (write a final
state, wake waiters); ``wait`` and ``recover`` then read the same on every executor.
"""

from __future__ import annotations

import threading
from typing import Any

from tweenlab.errors import UsageError
from tweenlab.jobs.model import JobRecord, JobState, JobStore

__all__ = ["Coordinator"]


class Coordinator:
    """The bookkeeping of an executor's coordinating process (a base class).

    Args:
        store: Where the rows live (only the coordinator writes them).
        max_attempts: Starts after which an interrupted job is failed, not resumed.
    """

    def __init__(self, store: JobStore, *, max_attempts: int = 3) -> None:
        self.store, self.max_attempts = store, max_attempts
        self._finished: dict[str, threading.Event] = {}

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
