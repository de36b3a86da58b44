"""The local executor as a module-scoped fixture, for tests that run jobs in this process's pool
(import ``local`` into the test module and name it in its ``__all__``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tweenlab.jobs import LocalExecutor, MemoryJobStore


@pytest.fixture(scope="module")
def local() -> Iterator[LocalExecutor]:
    """One worker, jobs kept in memory."""
    running = LocalExecutor(MemoryJobStore(), workers=1)
    yield running
    running.shutdown()
