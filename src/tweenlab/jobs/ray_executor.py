"""The Ray executor: the same job functions as the ``LocalExecutor``, as tasks on a Ray cluster.

This process (the coordinator) keeps the rows; it alone writes them. It hands Ray at most
``max_running`` jobs at once (the cluster's CPUs by default) and keeps the rest in its own queue,
so a queued job can always be withdrawn and a thousand submitted jobs do not become a thousand
blocked worker processes. Each job runs as one Ray task (``ray_worker.run_job``); its
``context.map`` starts one Ray task per part, which run in parallel on any node, and waits for
them (Ray lends the waiting task's CPU to the parts).

- Progress: workers put events into a ``Mailbox`` actor; a listener thread here takes them and
  writes the rows. A part's progress is summed over the parts of its ``map`` (``PartProgress``).
  A task waits until its events are in the mailbox before it returns, and the listener takes the
  mailbox once more before it settles a finished task, so a job's last progress is never lost.
- Retries: a task whose worker died (killed, out of memory, node lost) is run again by Ray, up
  to ``max_retries`` times; a part runs again alone, and its result replaces nothing, so the
  job's merged result has each item exactly once. An application error is never retried: the
  part's error becomes the job's.
- Cancellation: a job still in this process's queue is dropped; a running job's flag is set in
  the mailbox, where ``context.cancelled`` reads it; a job that has not stopped
  ``cancel_grace_s`` later is stopped with ``ray.cancel(force=True, recursive=True)``, which
  ends its worker process and its parts' (Ray's gentle cancel does not interrupt a function
  busy in C code or ``time.sleep``; job functions write atomically, so a kill is safe).
- Recovery: a coordinator that dies takes its tasks with it (Ray's ownership); ``recover()`` in
  the next one starts its unfinished rows again, failing those started ``max_attempts`` times.

Workers import job functions by name, so tweenlab (and the modules the targets name) must be
importable on every node: install it there, or pass ``runtime_env`` (e.g.
``{"pip": ["tweenlab[ray]"]}`` or ``{"py_modules": [...]}``) for ``ray.init``. Ray is imported
only when a ``RayExecutor`` is built, so ``import tweenlab.jobs`` never loads it.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tweenlab.errors import ConfigError
from tweenlab.jobs.coordinator import Coordinator
from tweenlab.jobs.executor import _describe
from tweenlab.jobs.model import JobRecord, JobState, JobStore, PartProgress
from tweenlab.jobs.ray_worker import Event, Mailbox, Outcome, PartKey, run_job

__all__ = ["RayCluster", "RayExecutor", "RayNode", "import_ray", "ray_cluster"]

logger = logging.getLogger(__name__)

INSTALL = "pip install 'tweenlab[ray]'"
_POLL_S = 0.1  # the listener waits this long for events before it looks at finished tasks
_LOCAL = (None, "", "local")
GCS_CHECK_S = 5.0  # how long a HOST:PORT address has to answer as a Ray head before ray.init
# an HTTP/2 client preface and an empty SETTINGS frame: the GCS (a gRPC server) answers with a
# SETTINGS frame of its own; Redis, a web server or nothing at all do not
_HTTP2_HELLO = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
_HTTP2_SETTINGS = 4


def import_ray() -> Any:
    """The ``ray`` module, or a ``ConfigError`` naming the command that installs it."""
    try:
        import ray  # noqa: PLC0415  (an optional dependency, loaded only here)
    except ImportError:
        raise ConfigError(f"TWEENLAB_EXECUTOR=ray needs Ray: {INSTALL}") from None
    return ray


def connect(
    address: str | None, *, cpus: int | None = None, runtime_env: Mapping[str, Any] | None = None
) -> bool:
    """Connect this process to Ray unless it is already; returns whether it connected now.

    ``address``: ``"auto"`` (a cluster started with ``ray start`` on this machine),
    ``"ray://host:10001"`` (Ray Client), ``host:port``, or ``None``/``"local"`` to start a
    Ray instance inside this process with ``cpus`` CPUs.
    """
    ray = import_ray()
    if ray.is_initialized():
        return False
    env = dict(runtime_env) if runtime_env is not None else None
    try:
        if address in _LOCAL:
            # address="local": a private instance, never a cluster `ray start` or RAY_ADDRESS left
            ray.init(address="local", num_cpus=cpus, include_dashboard=False, runtime_env=env)
        else:
            check_ray_head(str(address))
            ray.init(address=address, runtime_env=env)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise ConfigError(f"cannot reach the Ray cluster at {address!r}: {error}") from error
    return True


def check_ray_head(address: str, timeout_s: float | None = None) -> None:
    """For a ``HOST:PORT`` address, a ``ConnectionError`` unless a gRPC server (a Ray head's
    GCS) answers there within ``timeout_s``: ``ray.init`` waits for one with no end (an audit
    saw over 180 s on a closed port and on Redis's 6379). Other forms (``auto``, ``ray://``,
    which fails by itself in 30 s) are left to Ray."""
    timeout_s = GCS_CHECK_S if timeout_s is None else timeout_s
    host, colon, port = address.rpartition(":")
    if "://" in address or not colon or not port.isdigit():
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s) as peer:
            peer.settimeout(timeout_s)
            peer.sendall(_HTTP2_HELLO)
            answer = peer.recv(9)
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        raise ConnectionError(f"nothing answers there ({reason})") from error
    tls = os.environ.get("RAY_USE_TLS", "").lower() in ("1", "true")  # no plaintext HTTP/2 then
    if not tls and (len(answer) < 9 or answer[3] != _HTTP2_SETTINGS):
        raise ConnectionError("what answers there is not a Ray head (its GCS speaks gRPC)")


class RayExecutor(Coordinator):
    """Run jobs on a Ray cluster (see the module docstring).

    Args:
        store: Where the rows live (only this process writes them).
        address: The cluster (see ``connect``); ignored when this process is connected already.
        max_attempts: Starts of a job (by ``recover()``) before it is marked failed.
        max_retries: Times Ray runs a task again when its worker dies.
        cpus: CPUs of a Ray instance started here (``address`` ``None`` or ``"local"``).
        max_running: Jobs handed to Ray at once (default: the cluster's CPUs).
        cancel_grace_s: How long a running job may take to notice ``cancelled``.
        runtime_env: Ray's runtime environment for the workers (when this connects).

    Example:
        >>> executor = RayExecutor(MemoryJobStore(), address="auto")  # doctest: +SKIP
        >>> job = executor.submit("count", "mypackage.jobs:count", {"n": 10})  # doctest: +SKIP
        >>> executor.wait(job.id).state  # doctest: +SKIP
        <JobState.SUCCEEDED: 'succeeded'>
    """

    def __init__(
        self,
        store: JobStore,
        *,
        address: str | None = None,
        max_attempts: int = 3,
        max_retries: int = 3,
        cpus: int | None = None,
        max_running: int | None = None,
        cancel_grace_s: float = 30.0,
        runtime_env: Mapping[str, Any] | None = None,
    ) -> None:
        self._connected = connect(address, cpus=cpus, runtime_env=runtime_env)
        ray = self._ray = import_ray()
        super().__init__(store, max_attempts=max_attempts)
        self.max_retries = max_retries
        self.cancel_grace_s = cancel_grace_s
        self.slots = max_running or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._mailbox = ray.remote(Mailbox).options(num_cpus=0).remote()
        self._job_task = ray.remote(run_job).options(num_cpus=1, max_retries=max_retries)
        self._refs: dict[str, Any] = {}
        self._asked: dict[str, float] = {}  # running jobs asked to stop, and when
        self._maps: dict[str, tuple[int, PartProgress]] = {}
        self._lock = threading.RLock()
        self._closing = False
        self._stop = threading.Event()
        self._listener = threading.Thread(target=self._listen, name="ray-job-events", daemon=True)
        self._listener.start()

    def cancel(self, job_id: str) -> JobRecord:
        """Ask a job to stop: dropped if not handed to Ray yet, else its ``cancelled`` flag is
        set (and a forced ``ray.cancel`` follows after ``cancel_grace_s``)."""
        job = self._get(job_id)
        if job.state.final:
            return job
        with self._lock:
            waiting = self._withdraw(job_id)
            if not waiting:
                self._asked.setdefault(job_id, time.monotonic())
        if waiting:
            return self._final(job_id, JobState.CANCELLED)
        self._mailbox.cancel.remote(job_id)
        return self._get(job_id)

    def shutdown(self) -> None:
        """Stop taking jobs, wait for the running ones, stop listening (and Ray, if this
        executor started it). Queued jobs stay queued for ``recover()``."""
        with self._lock:
            self._closing = True
        while self._refs and self._listener.is_alive():
            time.sleep(_POLL_S)
        self._stop.set()
        self._listener.join(timeout=5)
        self._ray.kill(self._mailbox)
        if self._connected:
            self._ray.shutdown()

    def _start(self, job: JobRecord) -> JobRecord:
        job = self.store.update(job.id, state=JobState.QUEUED, attempts=job.attempts + 1)
        self._finished[job.id] = threading.Event()
        with self._lock:
            self._pending.append(job)
        self._dispatch()
        return job

    def _dispatch(self) -> None:
        """Hand queued jobs to Ray while fewer than ``slots`` run."""
        with self._lock:
            while not self._closing and self._pending and len(self._refs) < self.slots:
                job = self._pending.popleft()
                self._refs[job.id] = self._job_task.remote(
                    job.id, job.target, dict(job.params), self._mailbox, self.max_retries
                )

    def _listen(self) -> None:
        """Apply events, settle finished tasks, interrupt jobs slow to stop; until shutdown."""
        while not self._stop.is_set():
            try:
                self._apply(self._ray.get(self._mailbox.take.remote(_POLL_S)))
                self._settle_finished()
                self._interrupt_stragglers()
            except Exception:  # the next round tries again (Ray stopping under a shutdown ends it)
                if self._stop.wait(_POLL_S):
                    return
                logger.exception("ray job listener")

    def _apply(self, events: list[Event]) -> None:
        with self._lock:
            for kind, job_id, done, total, part in events:
                job = self.store.get(job_id)
                if job is None or job.state.final:
                    continue  # a late event: the final state stands
                if kind == "start":
                    if job.state is JobState.QUEUED:
                        now = datetime.now(UTC)
                        self.store.update(job_id, state=JobState.RUNNING, started_at=now)
                elif part is not None:
                    self._part_progress(job_id, part).update(part[2], done or 0, total)
                else:
                    changes: dict[str, Any] = {"done": done}
                    if total is not None:
                        changes["total"] = total
                    self.store.update(job_id, **changes)

    def _part_progress(self, job_id: str, part: PartKey) -> PartProgress:
        """The sum over the parts of the job's latest ``map`` (an earlier map's are stale)."""
        number, count, _ = part
        current = self._maps.get(job_id)
        if current is None or current[0] < number:
            report = _ProgressWriter(self.store, job_id)
            current = self._maps[job_id] = (number, PartProgress(count, report))
        elif current[0] > number:
            return PartProgress(count, lambda done, total: None)
        return current[1]

    def _settle_finished(self) -> None:
        """Final rows for the job tasks that ended (after taking their last events)."""
        with self._lock:
            running = dict(self._refs)
        if not running:
            return
        ready, _ = self._ray.wait(list(running.values()), num_returns=len(running), timeout=0)
        if not ready:
            return
        self._apply(self._ray.get(self._mailbox.take.remote(0)))
        done = set(ready)
        for job_id, ref in running.items():
            if ref in done:
                self._settle(job_id, ref)

    def _settle(self, job_id: str, ref: Any) -> None:
        try:
            outcome: Outcome = self._ray.get(ref)
        except self._ray.exceptions.TaskCancelledError:
            self._final(job_id, JobState.CANCELLED)
            return
        except Exception as error:  # the worker died more than max_retries times
            self._final(job_id, JobState.FAILED, error=_describe(error))
            return
        kind, value = outcome
        if kind == "error":
            self._final(job_id, JobState.FAILED, error=value)
        elif job_id in self._asked:
            self._final(job_id, JobState.CANCELLED)
        else:
            self._final(job_id, JobState.SUCCEEDED, result=value, done=self._get(job_id).total)

    def _interrupt_stragglers(self) -> None:
        """Stop (``ray.cancel``, force) the jobs asked to stop more than ``cancel_grace_s`` ago."""
        now = time.monotonic()
        with self._lock:
            late = [
                job_id
                for job_id, asked in self._asked.items()
                if now - asked > self.cancel_grace_s and job_id in self._refs
            ]
            refs = [self._refs[job_id] for job_id in late]
            for job_id in late:
                self._asked[job_id] = math.inf  # interrupted once is enough
        for ref in refs:
            self._ray.cancel(ref, force=True, recursive=True)

    def _final(self, job_id: str, state: JobState, **changes: Any) -> JobRecord:
        with self._lock:
            job = self._get(job_id)
            if not job.state.final:
                now = datetime.now(UTC)
                job = self.store.update(job_id, state=state, finished_at=now, **changes)
            self._refs.pop(job_id, None)
            self._asked.pop(job_id, None)
            self._maps.pop(job_id, None)
        self._mailbox.forget.remote(job_id)
        finished = self._finished.get(job_id)
        if finished is not None:
            finished.set()
        self._dispatch()
        return job


class _ProgressWriter:
    """Writes a job's summed part progress to its row (called by ``PartProgress``)."""

    def __init__(self, store: JobStore, job_id: str) -> None:
        self.store, self.job_id = store, job_id

    def __call__(self, done: int, total: int) -> None:
        self.store.update(self.job_id, done=done, total=total)


@dataclass(frozen=True)
class RayNode:
    """One node of a Ray cluster."""

    address: str
    alive: bool
    cpus: float
    memory_gib: float


@dataclass(frozen=True)
class RayCluster:
    """What ``tweenlab cluster status`` shows of a Ray cluster."""

    address: str
    nodes: tuple[RayNode, ...]
    cpus: float
    busy_cpus: float

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "cpus": self.cpus,
            "busy_cpus": self.busy_cpus,
            "nodes": [vars(node) for node in self.nodes],
        }


def ray_cluster(address: str | None) -> RayCluster:
    """The nodes and CPUs of the cluster at ``address`` (``None``: ``"auto"``)."""
    ray = import_ray()
    address = address if address not in _LOCAL else "auto"
    connected = connect(address)
    try:
        nodes = tuple(
            RayNode(
                address=str(node.get("NodeManagerAddress", "?")),
                alive=bool(node.get("Alive", False)),
                cpus=float(node.get("Resources", {}).get("CPU", 0)),
                memory_gib=round(float(node.get("Resources", {}).get("memory", 0)) / 2**30, 1),
            )
            for node in ray.nodes()
        )
        total = float(ray.cluster_resources().get("CPU", 0))
        free = float(ray.available_resources().get("CPU", 0))
        where = ray.get_runtime_context().gcs_address if not connected else str(address)
    finally:
        if connected:
            ray.shutdown()
    return RayCluster(str(where), nodes, total, max(0.0, total - free))
