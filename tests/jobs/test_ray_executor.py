"""The Ray executor on a real local Ray cluster (2 CPUs, separate worker processes, started once
for the module): the job functions of ``jobfns`` give the local executor's results; errors,
progress summed over parts, cancellation (queued and running), a worker killed by its pid in
the middle of a part, recovery of a dead coordinator's jobs; ``tweenlab cluster status``;
the flow job, its spans computed in other processes, writes one pass's flow pair for pair (and
publishes it, its video on S3: a moto server).
Without Ray: ``TWEENLAB_EXECUTOR=ray`` is a ``ConfigError`` naming the pip command.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.propagation import circle_video
from tests.s3_support import open_s3, s3_endpoint, s3_url
from tweenlab.cli._ui import run_with_boundary
from tweenlab.cli.main import cli
from tweenlab.errors import ConfigError
from tweenlab.jobs import JobState, LocalExecutor, MemoryJobStore, RayExecutor
from tweenlab.jobs.model import new_job
from tweenlab.media import DerivedFiles
from tweenlab.propagation import FlowCache
from tweenlab.services.database import upgrade_database
from tweenlab.services.flow import FLOW_JOB
from tweenlab.services.jobs import DatabaseJobStore, JobRunner, build_executor, check_executor
from tweenlab.settings import Settings
from tweenlab.store import Database

pytestmark = pytest.mark.xdist_group("ray")  # one local Ray cluster at a time

FNS = "tests.jobs.jobfns"
__all__ = ["s3_endpoint"]  # fixtures used here


@pytest.fixture(scope="module")
def executor(ray_cluster: Any) -> Iterator[RayExecutor]:
    running = RayExecutor(MemoryJobStore(), max_retries=2, max_running=2, cancel_grace_s=1)
    yield running
    running.shutdown()


def _comparable(result: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (result or {}).items() if k not in ("pid", "pids")}


CASES = [
    pytest.param("count", {"n": 100}, id="count"),
    pytest.param("fail", {"value": 7}, id="fail"),
    pytest.param("media_error", {"path": "/nowhere.mp4"}, id="unpicklable-error"),
    pytest.param("squares", {"n": 10, "parts": 3}, id="map"),
    pytest.param("squares", {"n": 10, "parts": 3, "fail": 5}, id="map-part-fails"),
    pytest.param("slow", {"steps": 5}, id="slow"),
]


def test_the_job_functions_give_the_local_executors_results(executor: RayExecutor) -> None:
    on_ray = {
        case.id: executor.submit(case.values[0], f"{FNS}:{case.values[0]}", case.values[1])
        for case in CASES
    }
    local = LocalExecutor(MemoryJobStore(), workers=1)
    try:
        for case in CASES:
            target, params = case.values
            expected = local.wait(local.submit(target, f"{FNS}:{target}", params).id, 60)
            got = executor.wait(on_ray[case.id].id, timeout=60)
            assert got.state is expected.state, (case.id, got.error)
            assert _comparable(got.result) == _comparable(expected.result), case.id
            assert got.error == expected.error, case.id
            if got.state is JobState.SUCCEEDED:  # a failed map's other parts ran on Ray, not here
                assert (got.done, got.total) == (expected.done, expected.total), case.id
    finally:
        local.shutdown()


def test_an_error_is_kept_in_the_row_and_a_parts_error_is_its_jobs(executor: RayExecutor) -> None:
    failed = executor.wait(executor.submit("fail", f"{FNS}:fail", {"value": 7}).id, 60)
    assert failed.state is JobState.FAILED and failed.attempts == 1
    assert failed.error == "ValueError: bad value 7"
    params = {"n": 10, "parts": 3, "fail": 5}
    part = executor.wait(executor.submit("squares", f"{FNS}:squares", params).id, 60)
    assert part.state is JobState.FAILED and part.error == "ValueError: bad number 5"


def test_parts_run_in_other_processes_and_their_progress_is_summed(executor: RayExecutor) -> None:
    job = executor.wait(executor.submit("squares", f"{FNS}:squares", {"n": 10, "parts": 3}).id, 60)
    assert job.state is JobState.SUCCEEDED, job.error
    assert job.result is not None and job.result["squares"] == [n * n for n in range(10)]
    assert (job.done, job.total) == (10, 10)  # 4 + 4 + 2 numbers
    assert os.getpid() not in job.result["pids"] and job.result["pid"] not in job.result["pids"]
    assert job.result["pid"] != os.getpid()


def test_flow_computed_in_spans_by_other_processes_equals_one_pass(
    executor: RayExecutor, tmp_path: Path
) -> None:
    video = circle_video(tmp_path / "circle.mp4", frames=40)[0]
    derived = DerivedFiles(tmp_path / "one-pass")
    single = FlowCache(video, derived.index(video), derived.folder(video))
    single.compute(0, 39)
    params = {"video": str(video), "data_dir": str(tmp_path / "job"), "span_pairs": 10}
    job = executor.wait(executor.submit("flow", FLOW_JOB, params).id, 120)
    assert job.state is JobState.SUCCEEDED, job.error
    assert job.result is not None and (job.result["pairs"], job.result["spans"]) == (39, 4)
    assert (job.done, job.total) == (39, 39)  # each part's pairs, summed
    folder = Path(job.result["folder"])
    names = sorted(p.name for p in single.folder.iterdir())
    assert sorted(p.name for p in folder.iterdir()) == names  # no temporaries left
    for name in names:
        expected, found = np.load(single.folder / name), np.load(folder / name)
        assert np.array_equal(found, expected), name


def test_flow_on_s3_computed_by_other_processes_publishes_one_pass(
    executor: RayExecutor, s3_endpoint: str, tmp_path: Path
) -> None:
    video = circle_video(tmp_path / "circle.mp4", frames=40)[0]
    derived = DerivedFiles(tmp_path / "one-pass")
    single = FlowCache(video, derived.index(video), derived.folder(video))
    single.compute(0, 39)
    url = s3_url(s3_endpoint, "ray-flow")
    store = open_s3(url, tmp_path / "test-cache")
    store.put_file("videos/circle.mp4", video)
    params = {"video": "videos/circle.mp4", "storage_url": url, "span_pairs": 10}
    params["data_dir"] = str(tmp_path / "job")
    job = executor.wait(executor.submit("flow", FLOW_JOB, params).id, 120)
    assert job.state is JobState.SUCCEEDED, job.error
    assert job.result is not None and (job.result["pairs"], job.result["spans"]) == (39, 4)
    prefix = job.result["folder"]
    assert prefix == f"derived/videos/circle.mp4/{single.folder.name}/"
    names = sorted(p.name for p in single.folder.iterdir())
    assert [key.removeprefix(prefix) for key in store.list(prefix)] == names
    for name in names:
        found = np.load(io.BytesIO(store.read_bytes(prefix + name)))
        assert np.array_equal(found, np.load(single.folder / name)), name


def test_progress_is_visible_while_it_runs_and_a_running_job_can_be_cancelled(
    executor: RayExecutor,
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


def test_a_job_that_ignores_cancelled_is_interrupted_after_the_grace_time(
    executor: RayExecutor,
) -> None:
    job = executor.submit("stubborn", f"{FNS}:stubborn", {"s": 60})
    deadline = time.monotonic() + 30
    while (row := executor.store.get(job.id)) is not None and row.state is JobState.QUEUED:
        assert time.monotonic() < deadline, "never started"
        time.sleep(0.05)
    asked = time.monotonic()
    executor.cancel(job.id)
    final = executor.wait(job.id, timeout=30)
    assert final.state is JobState.CANCELLED and final.result is None
    assert 1 <= time.monotonic() - asked < 30  # ray.cancel after cancel_grace_s, not the 60 s


def test_a_queued_job_is_cancelled_without_starting(executor: RayExecutor) -> None:
    busy = [executor.submit("slow", f"{FNS}:slow", {"steps": 50}) for _ in range(2)]
    queued = executor.submit("count", f"{FNS}:count", {"n": 3})
    cancelled = executor.cancel(queued.id)
    assert cancelled.state is JobState.CANCELLED and cancelled.started_at is None
    for job in busy:
        assert executor.wait(job.id, timeout=60).state is JobState.SUCCEEDED
    assert executor.store.get(queued.id).started_at is None  # type: ignore[union-attr]


def test_a_worker_killed_mid_part_is_replaced_and_every_item_is_merged_once(
    executor: RayExecutor, tmp_path: Path
) -> None:
    params = {"n": 12, "parts": 3, "folder": str(tmp_path)}
    job = executor.submit("marked", f"{FNS}:marked", params)
    deadline = time.monotonic() + 30
    while not (held := list(tmp_path.glob("part0-*"))):
        assert time.monotonic() < deadline, "part 0 never started"
        time.sleep(0.05)
    pid = int(held[0].name.split("-")[1])
    assert pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    done = executor.wait(job.id, timeout=60)
    assert done.state is JobState.SUCCEEDED, done.error
    assert done.result is not None and done.result["squares"] == [n * n for n in range(12)]
    runs = sorted(p.name.split("-")[0] for p in tmp_path.iterdir())
    assert runs == ["part0", "part0", "part1", "part2"]  # only the killed part ran again
    assert (done.done, done.total) == (12, 12)


def test_a_job_whose_worker_keeps_dying_fails(executor: RayExecutor) -> None:
    dead = executor.wait(executor.submit("die", f"{FNS}:die", {}).id, timeout=60)
    assert dead.state is JobState.FAILED and dead.error
    after = executor.wait(executor.submit("count", f"{FNS}:count", {"n": 4}).id, timeout=60)
    assert after.state is JobState.SUCCEEDED


def test_unfinished_jobs_of_a_dead_coordinator_are_resumed_or_failed(ray_cluster: Any) -> None:
    store = MemoryJobStore()
    interrupted = new_job("squares", f"{FNS}:squares", {"n": 6, "parts": 2})
    store.add(interrupted)
    store.update(interrupted.id, state=JobState.RUNNING, attempts=1, done=2, total=6)
    worn = new_job("count", f"{FNS}:count", {"n": 10})
    store.add(worn)
    store.update(worn.id, state=JobState.RUNNING, attempts=3)
    executor = RayExecutor(store, max_attempts=3)
    try:
        recovered = {job.id: job for job in executor.recover()}
        assert set(recovered) == {interrupted.id, worn.id}
        assert recovered[worn.id].state is JobState.FAILED
        assert "interrupted 3 times" in (recovered[worn.id].error or "")
        resumed = executor.wait(interrupted.id, timeout=60)
        assert resumed.state is JobState.SUCCEEDED and resumed.attempts == 2
        assert resumed.result is not None and resumed.result["squares"] == [0, 1, 4, 9, 16, 25]
        assert store.unfinished() == []
    finally:
        executor.shutdown()


def test_the_servers_job_runner_runs_jobs_on_ray_with_rows_in_the_database(
    ray_cluster: Any, settings: Settings
) -> None:
    upgrade_database(settings)
    on_ray = settings.model_copy(update={"executor": "ray"})
    with Database(settings.database) as database:
        runner = JobRunner(DatabaseJobStore(database), on_ray)
        try:
            assert runner.start() == [] and runner.started  # Ray is connected to at start
            assert isinstance(runner.executor, RayExecutor)
            params = {"n": 6, "parts": 2}
            job = runner.wait(runner.submit("squares", f"{FNS}:squares", params).id, 60)
            assert job.state is JobState.SUCCEEDED, job.error
            assert job.result is not None and job.result["squares"] == [0, 1, 4, 9, 16, 25]
            assert (job.done, job.total) == (6, 6)
            assert runner.store.get(job.id) == job
        finally:
            runner.shutdown()


def test_cluster_status_shows_the_ray_nodes(
    ray_cluster: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("TWEENLAB_EXECUTOR", "ray")
    assert run_with_boundary(cli, ["cluster", "status", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["executor"] == "ray" and shown["workers"] == 2
    assert [node["alive"] for node in shown["ray"]["nodes"]] == [True]
    assert shown["ray"]["cpus"] == 2 and shown["jobs"] is None
    assert run_with_boundary(cli, ["cluster", "status"]) == 0
    assert "nodes: 1 alive of 1" in capsys.readouterr().out


def test_without_ray_the_ray_executor_is_a_config_error_naming_the_pip_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(ConfigError, match=r"pip install 'tweenlab\[ray\]'"):
        check_executor(Settings(executor="ray"))
    with pytest.raises(ConfigError, match="TWEENLAB_EXECUTOR=ray"):
        build_executor(MemoryJobStore(), Settings(executor="ray"))
    check_executor(Settings())  # the local executor needs nothing


def test_importing_the_jobs_package_loads_no_ray() -> None:
    code = "import sys, tweenlab.jobs, tweenlab.jobs.ray_executor; assert 'ray' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
