"""What runs on Ray's workers for the ``RayExecutor``: the job task, the part tasks a job's
``map`` starts, the ``JobContext`` their functions see, and the ``Mailbox`` actor through which
they talk back to the coordinating process.

Workers never write the job store. They put events into the mailbox (``start``, a job's
``progress``, a part's ``progress``) and read cancellation flags from it; the coordinator takes
the events and writes the rows. A task returns ``("ok", result)`` or ``("error", text)`` rather
than raising, so an application error is never retried by Ray and never has to survive
unpickling; only a worker's death (killed, out of memory, node lost) makes Ray run a task again.

Ray is imported inside the functions that need it, so importing this module costs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Mapping, Sequence
from typing import Any

from tweenlab.errors import UsageError
from tweenlab.jobs.coordinator import resolve_target
from tweenlab.jobs.executor import _PROGRESS_EVERY_S, _describe, _JobError

__all__ = ["Event", "Mailbox", "Outcome", "PartKey", "run_job", "run_part"]

_CANCEL_CHECK_S = 0.2  # a worker asks the mailbox about cancellation at most this often
_UNCONFIRMED_MAX = 64  # events put without waiting, before the worker waits for them

#: ``(map number, parts in that map, this part's number)``.
PartKey = tuple[int, int, int]
#: ``(kind, job_id, done, total, part)``: kind ``start`` or ``progress``; ``part`` for a part.
Event = tuple[str, str, int | None, int | None, PartKey | None]
#: What a task returns: ``("ok", result)`` or ``("error", one-line text)``.
Outcome = tuple[str, Any]


class Mailbox:
    """The Ray actor between workers and coordinator (async, so a waiting ``take`` does not
    hold up ``put``): events in arrival order, and which jobs were asked to stop."""

    def __init__(self) -> None:
        self._events: list[Event] = []
        self._ready = asyncio.Event()
        self._cancelled: set[str] = set()

    async def put(self, event: Event) -> None:
        self._events.append(event)
        self._ready.set()

    async def take(self, timeout_s: float) -> list[Event]:
        """Every event so far; waits up to ``timeout_s`` for one when there are none."""
        if not self._events and timeout_s > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), timeout_s)
        events, self._events = self._events, []
        self._ready.clear()
        return events

    async def cancel(self, job_id: str) -> None:
        self._cancelled.add(job_id)

    async def forget(self, job_id: str) -> None:
        self._cancelled.discard(job_id)

    async def cancelled(self, job_id: str) -> bool:
        return job_id in self._cancelled


class RayContext:
    """The ``JobContext`` of a job (``part`` is ``None``) or of one part of it, on a worker."""

    def __init__(
        self, job_id: str, mailbox: Any, *, part: PartKey | None = None, retries: int = 3
    ) -> None:
        self.job_id, self.mailbox, self.part, self.retries = job_id, mailbox, part, retries
        self._last_progress = self._last_check = 0.0
        self._stop = False
        self._maps = 0
        self._unconfirmed: list[Any] = []
        self._asking: Any = None  # the pending answer to "is this job cancelled?"

    def put(self, event: Event) -> None:
        """Send an event without waiting (``flush`` waits for what was sent). Events already
        delivered are dropped from the list without blocking: a task blocked in ``ray.get``
        lends its CPU to another task, and a part must not run beside one more part."""
        import ray  # noqa: PLC0415  (see the module docstring)

        self._unconfirmed.append(self.mailbox.put.remote(event))
        if len(self._unconfirmed) > _UNCONFIRMED_MAX:
            _, self._unconfirmed = ray.wait(
                self._unconfirmed, num_returns=len(self._unconfirmed), timeout=0
            )
        if len(self._unconfirmed) > 4 * _UNCONFIRMED_MAX:  # the mailbox lags far behind
            self.flush()

    def flush(self) -> None:
        """Wait until the mailbox holds every event sent so far (before the task returns, so
        the coordinator sees a task's last progress before its result)."""
        import ray  # noqa: PLC0415  (see the module docstring)

        if self._unconfirmed:
            ray.get(self._unconfirmed)
            self._unconfirmed.clear()

    def progress(self, done: int, total: int | None = None) -> None:
        now = time.monotonic()
        if now - self._last_progress >= _PROGRESS_EVERY_S or (total is not None and done >= total):
            self._last_progress = now
            self.put(("progress", self.job_id, int(done), total, self.part))

    @property
    def cancelled(self) -> bool:
        """Asked of the mailbox at most every ``_CANCEL_CHECK_S``, never waiting for the
        answer (it is read on a later call once it has arrived), for the reason ``put`` gives."""
        import ray  # noqa: PLC0415

        if self._stop:
            return True
        if self._asking is not None:
            ready, _ = ray.wait([self._asking], timeout=0)
            if ready:
                self._stop, self._asking = bool(ray.get(self._asking)), None
        now = time.monotonic()
        if self._asking is None and not self._stop and now - self._last_check >= _CANCEL_CHECK_S:
            self._last_check = now
            self._asking = self.mailbox.cancelled.remote(self.job_id)
        return self._stop

    def map(self, target: str, items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Each item as its own Ray task, in parallel; results in the items' order."""
        if self.part is not None:
            raise UsageError(f"job {self.job_id}: a part of a job cannot be split again")
        resolve_target(target)
        self._maps += 1
        return _run_parts(self, target, items, self._maps)


@functools.cache
def _part_task() -> Any:
    import ray  # noqa: PLC0415

    return ray.remote(run_part)


def _run_parts(
    context: RayContext, target: str, items: Sequence[Mapping[str, Any]], number: int
) -> list[dict[str, Any]]:
    """Start one task per item, collect the results; the first part that fails fails the job
    (the other parts are cancelled). Waiting here lends this task's CPU to the parts."""
    import ray  # noqa: PLC0415

    task = _part_task().options(num_cpus=1, max_retries=context.retries)
    refs = [
        task.remote(context.job_id, target, dict(item), context.mailbox, (number, len(items), i))
        for i, item in enumerate(items)
    ]
    position = {ref: i for i, ref in enumerate(refs)}
    results: list[dict[str, Any]] = [{} for _ in refs]
    waiting = list(refs)
    try:
        while waiting:
            ready, waiting = ray.wait(waiting, num_returns=1)
            for ref in ready:
                kind, value = ray.get(ref)  # a part whose retries ran out raises here
                if kind == "error":
                    raise _JobError(value)
                results[position[ref]] = value
    finally:
        for ref in waiting:
            ray.cancel(ref)
    return results


def _call(context: RayContext, target: str, params: dict[str, Any]) -> Outcome:
    try:
        result = resolve_target(target)(context, params)
    except _JobError as error:  # a part's error, already one line
        outcome: Outcome = ("error", str(error))
    except Exception as error:
        outcome = ("error", _describe(error))
    else:
        outcome = ("ok", dict(result or {}))
    context.flush()
    return outcome


def run_job(
    job_id: str, target: str, params: dict[str, Any], mailbox: Any, retries: int
) -> Outcome:
    """The job task: announce the start, run the function (its ``map`` starts part tasks)."""
    context = RayContext(job_id, mailbox, retries=retries)
    context.put(("start", job_id, None, None, None))
    return _call(context, target, params)


def run_part(
    job_id: str, target: str, item: dict[str, Any], mailbox: Any, part: PartKey
) -> Outcome:
    """A part task: run ``target(part_context, item)``."""
    return _call(RayContext(job_id, mailbox, part=part), target, item)
