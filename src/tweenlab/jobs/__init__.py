"""Jobs: long work (ingest, analysis, in-betweening, export) run outside the request that asked
for it, with progress, cancellation and recovery after a crash.

A job is a row (``JobRecord``) in a ``JobStore`` (the database in the server, memory in tests and
the CLI) and a job function named ``"module:function"``, importable by a worker process, called
as ``fn(context, params) -> result``. The function reports progress and checks for cancellation
through its ``JobContext``; its result (a JSON-able dict) or its error lands in the row. The
``LocalExecutor`` runs functions in a process pool; the ``RayExecutor`` runs the same functions
on a Ray cluster (their ``map`` parts in parallel), behind the same ``Executor`` protocol; Ray is
imported only when one is built. This package imports neither the store nor the server: the
services layer hands it a ``JobStore``.
"""

from tweenlab.jobs.executor import LocalExecutor
from tweenlab.jobs.model import (
    Executor,
    JobContext,
    JobRecord,
    JobState,
    JobStore,
    MemoryJobStore,
    PartProgress,
)
from tweenlab.jobs.ray_executor import RayExecutor

__all__ = [
    "Executor",
    "JobContext",
    "JobRecord",
    "JobState",
    "JobStore",
    "LocalExecutor",
    "MemoryJobStore",
    "PartProgress",
    "RayExecutor",
]
