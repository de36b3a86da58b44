"""The local executor: job functions in a pool of worker processes, rows kept in a ``JobStore``.

Jobs wait in this process's queue until a worker is free (the pool is never handed more than it
can start, so a queued job can always be withdrawn). Workers send ``start`` and ``progress``
events through a managed queue; a listener thread in this process writes them to the store, so
only this process writes rows (the store may be a database that workers must not touch); a
worker's ``end`` event, after its last progress, lets a result wait until that progress is
written, so a final row never misses the last of it.
Cancellation drops a queued job, or sets a flag in a managed dict that ``JobContext.cancelled``
reads. State
changes go through one lock, so a late progress event never overwrites a final state. After a
crash, ``recover()`` starts the unfinished jobs again (job functions write their outputs
atomically, so running one again is safe) until ``max_attempts``, then marks them failed.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import threading
import time
import traceback
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from typing import Any

from tweenlab.errors import UsageError
from tweenlab.jobs.coordinator import Coordinator, resolve_target
from tweenlab.jobs.model import JobRecord, JobState, JobStore, PartProgress

__all__ = ["LocalExecutor"]

log = logging.getLogger(__name__)

_PROGRESS_EVERY_S = 0.2  # a worker reports progress at most this often (and at the end)
_END_WAIT_S = 5.0  # how long a job's result waits for the listener to take its last events


class _WorkerContext:
    """The ``JobContext`` a job function sees in its worker process."""

    def __init__(self, job_id: str, events: Any, cancelled: Any) -> None:
        self.job_id, self._events, self._cancelled = job_id, events, cancelled
        self._last = 0.0

    def progress(self, done: int, total: int | None = None) -> None:
        now = time.monotonic()
        if now - self._last >= _PROGRESS_EVERY_S or (total is not None and done >= total):
            self._last = now
            self._events.put(("progress", self.job_id, int(done), total))

    @property
    def cancelled(self) -> bool:
        return bool(self._cancelled.get(self.job_id, False))

    def map(self, target: str, items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The parts one after another in this process (a cluster runs them in parallel)."""
        function = resolve_target(target)
        parts = PartProgress(len(items), self.progress)
        results = []
        for number, item in enumerate(items):
            part = _PartContext(self, parts, number)
            results.append(dict(function(part, dict(item)) or {}))
        return results


class _PartContext:
    """The ``JobContext`` one part of a job sees: its progress feeds the job's sum."""

    def __init__(self, job: _WorkerContext, parts: PartProgress, number: int) -> None:
        self.job_id, self._job, self._parts, self._number = job.job_id, job, parts, number

    def progress(self, done: int, total: int | None = None) -> None:
        self._parts.update(self._number, done, total)

    @property
    def cancelled(self) -> bool:
        return self._job.cancelled

    def map(self, target: str, items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        raise UsageError(f"job {self.job_id}: a part of a job cannot be split again")


class _JobError(Exception):
    """A job function's error as its one-line text: what crosses back from the worker.

    The error itself might not survive pickling (an exception whose ``__init__`` takes other
    arguments than its message cannot be rebuilt), and a result that cannot be unpickled breaks
    the whole process pool.
    """


def _describe(error: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(error), error)).strip()[:2000]


def _run(job_id: str, target: str, params: dict[str, Any], events: Any, cancelled: Any) -> Any:
    """In a worker: announce the start, run the function, return its result."""
    events.put(("start", job_id, None, None))
    try:
        result = resolve_target(target)(_WorkerContext(job_id, events, cancelled), params)
    except Exception as error:
        raise _JobError(_describe(error)) from None
    finally:
        events.put(("end", job_id, None, None))  # after its last progress event
    return dict(result or {})


class LocalExecutor(Coordinator):
    """Run jobs in ``workers`` processes (forkserver: safe beside the server's threads).

    Example:
        >>> executor = LocalExecutor(MemoryJobStore(), workers=2)  # doctest: +SKIP
        >>> job = executor.submit("count", "mypackage.jobs:count", {"n": 10})  # doctest: +SKIP
        >>> executor.wait(job.id).state  # doctest: +SKIP
        <JobState.SUCCEEDED: 'succeeded'>
    """

    def __init__(self, store: JobStore, *, workers: int = 2, max_attempts: int = 3) -> None:
        super().__init__(store, max_attempts=max_attempts)
        context = self._context = multiprocessing.get_context("forkserver")
        self._workers = workers
        self._manager = context.Manager()
        self._events: Any = self._manager.Queue()
        self._cancelled: Any = self._manager.dict()
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        self._futures: dict[str, Future[Any]] = {}
        self._ended: dict[str, threading.Event] = {}  # the listener saw the worker's last event
        self._lock = threading.Lock()
        self._listener = threading.Thread(target=self._listen, name="job-events", daemon=True)
        self._listener.start()

    def cancel(self, job_id: str) -> JobRecord:
        """Ask a job to stop: dropped if not started, else its function sees ``cancelled``."""
        job = self._get(job_id)
        if job.state.final:
            return job
        with self._lock:
            waiting = self._withdraw(job_id)
        if waiting:
            return self._final(job_id, JobState.CANCELLED)
        self._cancelled[job_id] = True
        return self._get(job_id)

    def shutdown(self) -> None:
        """Stop taking jobs, wait for the running ones, stop the workers."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._events.put(None)
        self._listener.join(timeout=5)
        self._manager.shutdown()

    def _start(self, job: JobRecord) -> JobRecord:
        job = self.store.update(job.id, state=JobState.QUEUED, attempts=job.attempts + 1)
        self._finished[job.id] = threading.Event()
        self._ended[job.id] = threading.Event()
        with self._lock:
            self._pending.append(job)
        self._dispatch()
        return job

    def _dispatch(self) -> None:
        """Hand queued jobs to the pool while it has idle workers."""
        while True:
            with self._lock:
                if not self._pending or len(self._futures) >= self._workers:
                    return
                job = self._pending.popleft()
                future = self._pool.submit(
                    _run, job.id, job.target, dict(job.params), self._events, self._cancelled
                )
                self._futures[job.id] = future
            future.add_done_callback(functools.partial(self._settle, job.id))

    def _settle(self, job_id: str, future: Future[Any]) -> None:
        """The pool's word on a job: its result, its error, or its cancellation."""
        if future.cancelled():
            self._final(job_id, JobState.CANCELLED)
            return
        error = future.exception()
        if isinstance(error, BrokenProcessPool):  # a worker died (killed, out of memory)
            self._renew_pool()
        if error is not None:
            text = str(error) if isinstance(error, _JobError) else _describe(error)
            self._final(job_id, JobState.FAILED, error=text)
            return
        if (ended := self._ended.get(job_id)) is not None:
            ended.wait(_END_WAIT_S)  # its last progress reaches the row before the final state
        if self._cancelled.get(job_id, False):
            self._final(job_id, JobState.CANCELLED)
        else:
            job = self._get(job_id)
            self._final(job_id, JobState.SUCCEEDED, result=future.result(), done=job.total)

    def _renew_pool(self) -> None:
        """Replace a pool whose worker died: a broken pool takes no more work."""
        with self._lock:
            if getattr(self._pool, "_broken", False):
                old, self._pool = (
                    self._pool,
                    ProcessPoolExecutor(max_workers=self._workers, mp_context=self._context),
                )
                old.shutdown(wait=False, cancel_futures=True)

    def _final(self, job_id: str, state: JobState, **changes: Any) -> JobRecord:
        with self._lock:
            job = self._get(job_id)
            if not job.state.final:
                now = datetime.now(UTC)
                job = self.store.update(job_id, state=state, finished_at=now, **changes)
        with self._lock:
            self._futures.pop(job_id, None)
        self._cancelled.pop(job_id, None)
        self._ended.pop(job_id, None)
        finished = self._finished.get(job_id)
        if finished is not None:
            finished.set()
        self._dispatch()
        return job

    def _listen(self) -> None:
        while (event := self._events.get()) is not None:
            kind, job_id, done, total = event
            if kind == "end":
                if (ended := self._ended.get(job_id)) is not None:
                    ended.set()
                continue
            try:
                self._record(kind, job_id, done, total)
            except Exception as error:  # the listener must outlive any one event
                # a progress or start mark the store could not take (SQLite busy past its
                # timeout under load killed this thread, and with it every later job's marks):
                # the next event, or the job's end, writes its state again
                log.warning("job %s: %s event not recorded (%s)", job_id, kind, error)

    def _record(self, kind: str, job_id: str, done: int, total: int | None) -> None:
        with self._lock:
            job = self.store.get(job_id)
            if job is None or job.state.final:
                return  # a late event: the final state stands
            if kind == "start":
                self.store.update(job_id, state=JobState.RUNNING, started_at=datetime.now(UTC))
            else:
                changes: dict[str, Any] = {"done": done}
                if total is not None:
                    changes["total"] = total
                self.store.update(job_id, **changes)
