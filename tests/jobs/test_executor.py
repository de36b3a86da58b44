"""The local executor: results, errors, progress, cancellation (queued and running), a worker
that dies, recovery of jobs an earlier process left unfinished; and a real job function (the
optical flow of a video computed ahead of time)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.propagation import circle_video
from tweenlab.errors import UsageError
from tweenlab.jobs import JobRecord, JobState, LocalExecutor, MemoryJobStore
from tweenlab.jobs.model import new_job

FNS = "tests.jobs.jobfns"


@pytest.fixture(scope="module")
def executor() -> Iterator[LocalExecutor]:
    running = LocalExecutor(MemoryJobStore(), workers=1)
    yield running
    running.shutdown()


def test_a_job_runs_in_a_worker_and_its_result_lands_in_the_row(executor: LocalExecutor) -> None:
    job = executor.submit("count", f"{FNS}:count", {"n": 100})
    assert job.state is JobState.QUEUED and job.attempts == 1
    done = executor.wait(job.id, timeout=60)
    assert done.state is JobState.SUCCEEDED
    assert done.result is not None and done.result["sum"] == 5050
    assert done.result["pid"] != __import__("os").getpid()
    assert (done.done, done.total) == (100, 100)
    assert done.started_at is not None and done.finished_at is not None
    assert done.started_at <= done.finished_at and done.error is None


def test_an_error_is_kept_in_the_row(executor: LocalExecutor) -> None:
    job = executor.wait(executor.submit("fail", f"{FNS}:fail", {"value": 7}).id, timeout=60)
    assert job.state is JobState.FAILED
    assert job.error is not None and "ValueError: bad value 7" in job.error


def test_an_error_that_cannot_be_pickled_fails_its_job_and_the_pool_goes_on(
    executor: LocalExecutor,
) -> None:
    job = executor.submit("media", f"{FNS}:media_error", {"path": "/nowhere.mp4"})
    failed = executor.wait(job.id, timeout=60)
    assert failed.state is JobState.FAILED
    assert (failed.error or "").endswith("MediaNotFoundError: /nowhere.mp4: no such file")
    after = executor.wait(executor.submit("count", f"{FNS}:count", {"n": 4}).id, timeout=60)
    assert after.state is JobState.SUCCEEDED


def test_progress_is_visible_while_it_runs_and_a_running_job_can_be_cancelled(
    executor: LocalExecutor,
) -> None:
    job = executor.submit("slow", f"{FNS}:slow", {"steps": 2000})
    deadline = time.monotonic() + 30
    while (row := executor.store.get(job.id)) is not None and row.done < 5:
        assert time.monotonic() < deadline, "no progress reported"
        time.sleep(0.05)
    assert row is not None and row.state is JobState.RUNNING and row.total == 2000
    executor.cancel(job.id)
    final = executor.wait(job.id, timeout=30)
    assert final.state is JobState.CANCELLED
    assert final.done < 2000


def test_a_queued_job_is_cancelled_without_starting(executor: LocalExecutor) -> None:
    busy = executor.submit("slow", f"{FNS}:slow", {"steps": 100})
    queued = executor.submit("count", f"{FNS}:count", {"n": 3})
    cancelled = executor.cancel(queued.id)
    assert cancelled.state is JobState.CANCELLED and cancelled.started_at is None
    assert executor.wait(busy.id, timeout=60).state is JobState.SUCCEEDED
    assert executor.store.get(queued.id).started_at is None  # type: ignore[union-attr]


def test_a_worker_that_dies_fails_its_job_and_the_pool_goes_on(executor: LocalExecutor) -> None:
    dead = executor.wait(executor.submit("die", f"{FNS}:die", {}).id, timeout=60)
    assert dead.state is JobState.FAILED and dead.error
    after = executor.wait(executor.submit("count", f"{FNS}:count", {"n": 4}).id, timeout=60)
    assert after.state is JobState.SUCCEEDED


def test_unfinished_jobs_of_a_dead_process_are_resumed_or_failed() -> None:
    store = MemoryJobStore()
    interrupted = new_job("count", f"{FNS}:count", {"n": 10})
    store.add(interrupted)
    store.update(interrupted.id, state=JobState.RUNNING, attempts=1, done=4, total=10)
    worn: JobRecord = new_job("count", f"{FNS}:count", {"n": 10})
    store.add(worn)
    store.update(worn.id, state=JobState.RUNNING, attempts=3)
    executor = LocalExecutor(store, workers=1, max_attempts=3)
    try:
        recovered = {job.id: job for job in executor.recover()}
        assert set(recovered) == {interrupted.id, worn.id}
        assert recovered[worn.id].state is JobState.FAILED
        assert "interrupted 3 times" in (recovered[worn.id].error or "")
        resumed = executor.wait(interrupted.id, timeout=60)
        assert resumed.state is JobState.SUCCEEDED and resumed.attempts == 2
        assert store.unfinished() == []
    finally:
        executor.shutdown()


@pytest.mark.parametrize(
    ("target", "message"),
    [("nomodule", "module:function"), (f"{FNS}:missing", "has no attribute"), ("x.y:z", "x")],
)
def test_a_bad_target_is_refused_at_submit(
    executor: LocalExecutor, target: str, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        executor.submit("bad", target, {})


def test_flow_can_be_computed_ahead_of_time_as_a_job(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    video, _ = circle_video(tmp_path / "circle.mp4", frames=20)
    params = {"video": str(video), "data_dir": str(tmp_path / "data")}
    job = executor.wait(
        executor.submit("flow", "tweenlab.services.propagate:flow_job", params).id, timeout=120
    )
    assert job.state is JobState.SUCCEEDED, job.error
    assert job.result is not None and job.result["pairs"] == 19
    assert (job.done, job.total) == (19, 19)
    stored = sorted(Path(job.result["folder"]).glob("[0-9]*.npy"))
    assert [int(p.stem) for p in stored] == list(range(19))


def test_a_job_split_into_parts_merges_their_results_in_order_and_sums_progress(
    executor: LocalExecutor,
) -> None:
    job = executor.submit("squares", f"{FNS}:squares", {"n": 10, "parts": 3})
    done = executor.wait(job.id, timeout=60)
    assert done.state is JobState.SUCCEEDED, done.error
    assert done.result is not None and done.result["squares"] == [n * n for n in range(10)]
    assert (done.done, done.total) == (10, 10)  # 4 + 4 + 2 numbers


class _BusyOnce(MemoryJobStore):
    """A store that refuses the first job's start mark, as SQLite busy past its timeout did."""

    def __init__(self) -> None:
        super().__init__()
        self.refused = 0

    def update(self, job_id: str, **changes: object) -> JobRecord:
        if changes.get("state") is JobState.RUNNING and not self.refused:
            self.refused += 1
            raise RuntimeError("database is locked (by a writer of this process)")
        return super().update(job_id, **changes)


def test_an_event_the_store_refuses_does_not_stop_later_jobs_marks() -> None:
    """The listener thread died on one refused start mark (a CI run under load): every later
    job of the process then stayed queued with no progress."""
    store = _BusyOnce()
    running = LocalExecutor(store, workers=1)
    try:
        first = running.wait(running.submit("count", f"{FNS}:count", {"n": 10}).id, timeout=60)
        second = running.submit("count", f"{FNS}:count", {"n": 20})
        done = running.wait(second.id, timeout=60)
    finally:
        running.shutdown()
    assert store.refused == 1
    assert first.state is JobState.SUCCEEDED
    assert done.state is JobState.SUCCEEDED and done.started_at is not None
    assert (done.done, done.total) == (20, 20)
