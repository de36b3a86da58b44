"""``tweenlab cluster status`` with the local executor: its workers, and the job queue counted in
the database when there is one (the Ray cluster's case is in tests/jobs/test_ray_executor.py);
and a Ray address where no Ray head answers."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from tweenlab.cli._ui import run_with_boundary
from tweenlab.cli.main import cli
from tweenlab.jobs import JobState
from tweenlab.jobs.model import new_job
from tweenlab.services.database import upgrade_database
from tweenlab.services.jobs import DatabaseJobStore
from tweenlab.settings import Settings
from tweenlab.store import Database


def status(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert run_with_boundary(cli, ["cluster", "status", *args]) == 0
    return capsys.readouterr().out


def test_without_a_database_it_shows_the_local_workers(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TWEENLAB_JOB_WORKERS", "3")
    shown = json.loads(status(capsys, "--json"))
    assert shown == {"executor": "local", "workers": 3, "ray": None, "jobs": None, "database": None}
    text = status(capsys)
    assert "executor: local" in text and "workers: 3 processes" in text
    assert "jobs: no database" in text
    assert not (settings.data_dir / "tweenlab.db").exists()  # status creates no database


def test_with_a_database_it_counts_queued_and_running_jobs(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    upgrade_database(settings)
    with Database(settings.database) as database:
        store = DatabaseJobStore(database)
        for state in (JobState.QUEUED, JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED):
            job = new_job("count", "tests.jobs.jobfns:count", {"n": 1})
            store.add(job)
            store.update(job.id, state=state)
        store.close()
    shown = json.loads(status(capsys, "--json"))
    assert shown["jobs"] == {"queued": 2, "running": 1}
    assert shown["database"].startswith("sqlite:///")
    assert "jobs: 2 queued, 1 running" in status(capsys)


@contextlib.contextmanager
def listening(answer: Callable[[socket.socket], None]) -> Iterator[int]:
    """A port on 127.0.0.1 whose connections ``answer`` serves (one thread each)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0.2)
        stop = threading.Event()

        def serve() -> None:
            while not stop.is_set():
                try:
                    peer, _ = server.accept()
                except TimeoutError:
                    continue
                threading.Thread(target=answer, args=(peer,), daemon=True).start()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            yield int(server.getsockname()[1])
        finally:
            stop.set()
            thread.join()


def like_redis(peer: socket.socket) -> None:
    with peer:
        peer.recv(1024)
        peer.sendall(b"-ERR unknown command 'PRI'\r\n")


def silent(peer: socket.socket) -> None:
    with peer:
        time.sleep(3)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (None, "nothing answers there"),
        (like_redis, "is not a Ray head"),
        (silent, "nothing answers there (timed out)"),
    ],
    ids=["closed-port", "redis", "silent"],
)
def test_a_ray_address_where_no_ray_head_answers_fails_at_once_in_one_line(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    answer: Callable[[socket.socket], None] | None,
    expected: str,
) -> None:
    """``ray.init`` waited with no end for a HOST:PORT that is not a Ray head (over 180 s)."""
    del settings
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'tweenlab[ray]'")
    if ray.is_initialized():
        pytest.skip("this process is connected to Ray already (status would ask that cluster)")
    monkeypatch.setattr("tweenlab.jobs.ray_executor.GCS_CHECK_S", 1.0)
    monkeypatch.setenv("TWEENLAB_EXECUTOR", "ray")
    with contextlib.ExitStack() as stack:
        port = closed_port() if answer is None else stack.enter_context(listening(answer))
        monkeypatch.setenv("TWEENLAB_RAY_ADDRESS", f"127.0.0.1:{port}")
        began = time.monotonic()
        assert run_with_boundary(cli, ["cluster", "status"]) == 2
        took = time.monotonic() - began
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot reach the Ray cluster at '127.0.0.1:{port}': ")
    assert expected in err and err.count("\n") == 1, err
    assert took < 10
