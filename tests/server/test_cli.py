"""``tweenlab db upgrade``, ``tweenlab user create`` and ``tweenlab serve``, on both databases.

The commands run in-process through ``run_with_boundary``; ``serve`` runs as a real process on a
free port, is polled until ``/api/health`` answers, and is stopped.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import httpx2 as httpx
import psutil
import pytest

from tweenlab.cli._ui import run_with_boundary
from tweenlab.cli.main import cli
from tweenlab.cli.server import default_max_workers
from tweenlab.settings import Settings
from tweenlab.store import Database, User, head_revision

SERVE_WAIT_S = 60


def run(args: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return run_with_boundary(cli, args)


def test_user_create_before_db_upgrade_names_the_command(
    server_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(
        ["user", "create", "a@example.com", "--password-stdin"], monkeypatch, "long enough\n"
    )
    assert code == 2
    assert "run `tweenlab db upgrade`" in capsys.readouterr().err


def test_db_upgrade_then_user_create_bootstraps_an_owner(
    server_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["db", "upgrade"], monkeypatch) == 0
    assert f"revision {head_revision()}" in capsys.readouterr().out
    args = ["user", "create", "Boss@Example.com", "--role", "owner", "--password-stdin"]
    assert run(args, monkeypatch, "long enough\n") == 0
    assert "created boss@example.com" in capsys.readouterr().out
    assert run([*args[:3], "--password-stdin"], monkeypatch, "long enough\n") == 2
    assert "already has an account" in capsys.readouterr().err
    assert run(["user", "create", "x@example.com", "--password-stdin"], monkeypatch, "short\n") == 2
    assert "at least 8 characters" in capsys.readouterr().err
    with Database(server_settings.database) as db, db.session() as session:
        users = {u.email: u.is_admin for u in session.query(User)}
    assert users == {"boss@example.com": True}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(port: int, *extra: str) -> subprocess.Popen[str]:
    """``tweenlab serve`` in a session of its own (its process group: a terminal's Ctrl-C)."""
    code = "from tweenlab.cli.main import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--port", str(port), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def test_serve_refuses_an_unmigrated_database(server_settings: Settings) -> None:
    done = serve(free_port())
    _, err = done.communicate(timeout=SERVE_WAIT_S)
    assert done.returncode == 2 and "tweenlab db upgrade" in err


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_answers_health_and_sign_in(
    server_settings: Settings, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    assert run(["db", "upgrade"], monkeypatch) == 0
    args = ["user", "create", "boss@example.com", "--role", "owner", "--password-stdin"]
    assert run(args, monkeypatch, "long enough\n") == 0
    port = free_port()
    server = serve(port, "--workers", str(workers))
    base = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + SERVE_WAIT_S
        while True:
            assert server.poll() is None, server.communicate()[1]
            try:
                health = httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.1)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        login = {"email": "boss@example.com", "password": "long enough"}
        assert httpx.post(f"{base}/auth/login", json=login, timeout=10).status_code == 200
        answered = set()  # new connections spread over the worker processes
        for _ in range(200):
            answered.add(httpx.get(f"{base}/health", timeout=5).json()["process"])
            if len(answered) == workers:
                break
        assert len(answered) == workers
    finally:
        server.terminate()
        server.communicate(timeout=SERVE_WAIT_S)


def _answering_processes(base: str, want: int, deadline: float) -> set[int]:
    """The processes answering ``/api/health`` on new connections, once ``want`` have."""
    answered: set[int] = set()
    while len(answered) < want:
        assert time.monotonic() < deadline, f"only {sorted(answered)} answered"
        try:
            answered.add(httpx.get(f"{base}/health", timeout=5).json()["process"])
        except httpx.TransportError:
            time.sleep(0.05)
    return answered


def _memory_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} for process {pid}")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux only)")
def test_forked_workers_share_memory_replace_a_killed_one_and_stop_together(
    server_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(["db", "upgrade"], monkeypatch) == 0
    port = free_port()
    server = serve(port, "--workers", "2")
    base = f"http://127.0.0.1:{port}/api"
    try:
        first = _answering_processes(base, 2, time.monotonic() + SERVE_WAIT_S)
        tree = psutil.Process(server.pid)
        assert first == {child.pid for child in tree.children()}  # forked by `serve` itself
        # Forked after the app was loaded, the workers share its pages: a process's
        # proportional share (Pss) is well below what it maps (Rss). Spawned workers, each
        # importing the app again, share little but the libraries (Pss/Rss about 0.9).
        pss = sum(_memory_kb(pid, "Pss") for pid in [server.pid, *first])
        rss = sum(_memory_kb(pid, "Rss") for pid in [server.pid, *first])
        assert pss < 0.7 * rss, (pss, rss)

        killed = min(first)
        psutil.Process(killed).kill()
        deadline = time.monotonic() + SERVE_WAIT_S
        while True:  # a new worker takes the killed one's place
            now = {child.pid for child in tree.children()}
            if len(now) == 2 and killed not in now:
                break
            assert time.monotonic() < deadline, f"workers now {sorted(now)}"
            time.sleep(0.05)
        assert _answering_processes(base, 2, deadline) == now
    finally:
        server.terminate()
        _, err = server.communicate(timeout=SERVE_WAIT_S)
    assert server.returncode == 0, err
    assert f"server process {killed} ended" in err
    for pid in now:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"


@pytest.mark.parametrize("to_group", [False, True], ids=["to-serve", "to-group"])
@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_stops_cleanly_on_ctrl_c(
    server_settings: Settings, monkeypatch: pytest.MonkeyPatch, workers: str, to_group: bool
) -> None:
    """SIGINT to ``serve`` alone, or to its whole process group as a terminal's Ctrl-C sends
    it (the workers get it too): status 0, no traceback."""
    assert run(["db", "upgrade"], monkeypatch) == 0
    port = free_port()
    server = serve(port, "--workers", workers)
    try:
        _answering_processes(f"http://127.0.0.1:{port}/api", 1, time.monotonic() + SERVE_WAIT_S)
    finally:
        if to_group:
            os.killpg(server.pid, signal.SIGINT)
        else:
            server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=SERVE_WAIT_S)
    assert server.returncode == 0, err
    assert "aborted" not in err and "Traceback" not in err, err


def _health_loop(base: str, stop: threading.Event, seen: dict[str, set[object]]) -> None:
    """Ask ``/api/health`` over one kept-alive connection until ``stop``; note who answered
    and whether an answer closed the connection."""
    with httpx.Client(timeout=10) as client:
        while not stop.is_set():
            try:
                answer = client.get(f"{base}/health")
            except httpx.TransportError as error:
                seen.setdefault("errors", set()).add(f"{type(error).__name__}: {error}")
                time.sleep(0.05)
                continue
            seen["process"].add(answer.json()["process"])
            seen["connection"].add(answer.headers.get("connection", "keep-alive").lower())


def _until(condition: Callable[[], bool], seconds: float, what: Callable[[], str]) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what()
        time.sleep(0.05)


def _load_until_a_helper_answers(server: subprocess.Popen[str], base: str) -> set[int]:
    """Load ``serve --max-workers 2`` from three kept-alive connections until a process other
    than ``serve`` answers on one of them; the helpers then running."""
    stop, seen = threading.Event(), {"process": set(), "connection": set()}
    clients = [
        threading.Thread(target=_health_loop, args=(base, stop, seen), daemon=True)
        for _ in range(3)
    ]
    for client in clients:
        client.start()
    try:
        _until(
            lambda: len(seen["process"]) > 1,
            SERVE_WAIT_S,
            lambda: f"answered by {seen}; children {psutil.Process(server.pid).children()}",
        )
    finally:
        stop.set()
        for client in clients:
            client.join()
    # the kept-alive connections were closed after an answer, so that some reached the helper
    assert "close" in seen["connection"], seen
    helpers = {child.pid for child in psutil.Process(server.pid).children()}
    assert seen["process"] == {server.pid, *helpers} and len(helpers) == 1, (seen, helpers)
    (helper,) = helpers
    assert "tweenlab.cli._ondemand" in " ".join(psutil.Process(helper).cmdline())
    return helpers


def _serve_on_demand(
    monkeypatch: pytest.MonkeyPatch, port: int, idle_s: str = "2", *, given: bool = True
) -> subprocess.Popen[str]:
    monkeypatch.setenv("TWEENLAB_SERVE_BUSY_SHARE", "0.1")  # three clients of /health suffice
    monkeypatch.setenv("TWEENLAB_SERVE_HELPER_IDLE_S", idle_s)
    return serve(port, *(["--max-workers", "2"] if given else []))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="psutil's children (Linux)")
def test_max_workers_starts_a_helper_under_load_that_ends_when_idle_and_with_serve(
    server_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(["db", "upgrade"], monkeypatch) == 0
    port = free_port()
    server = _serve_on_demand(monkeypatch, port)
    base = f"http://127.0.0.1:{port}/api"
    try:
        assert _answering_processes(base, 1, time.monotonic() + SERVE_WAIT_S) == {server.pid}
        (helper,) = _load_until_a_helper_answers(server, base)
        _until(
            lambda: not psutil.pid_exists(helper) or psutil.Process(helper).status() == "zombie",
            SERVE_WAIT_S,
            lambda: "the idle helper did not end",
        )
        assert httpx.get(f"{base}/health", timeout=10).json()["process"] == server.pid
        (again,) = _load_until_a_helper_answers(server, base)  # busy again: another helper
    finally:
        os.killpg(server.pid, signal.SIGINT)  # a terminal's Ctrl-C: serve stops its helper
        _, err = server.communicate(timeout=SERVE_WAIT_S)
    assert server.returncode == 0, err
    assert "Traceback" not in err, err
    assert not psutil.pid_exists(again) or psutil.Process(again).status() == "zombie"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="psutil's children (Linux)")
def test_max_workers_helper_ends_when_serve_is_killed(
    server_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(["db", "upgrade"], monkeypatch) == 0
    port = free_port()
    server = _serve_on_demand(monkeypatch, port, idle_s="600")
    base = f"http://127.0.0.1:{port}/api"
    try:
        _answering_processes(base, 1, time.monotonic() + SERVE_WAIT_S)
        (helper,) = _load_until_a_helper_answers(server, base)
        process = psutil.Process(helper)
        # a terminal's Ctrl-C (SIGINT to serve's process group) is serve's alone to act on
        assert os.getpgid(helper) != os.getpgid(server.pid)
        server.kill()  # no chance to stop the helper: it must notice by itself
        server.communicate(timeout=SERVE_WAIT_S)
        process.wait(timeout=SERVE_WAIT_S)  # long before its 600 s without a request
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        print(server.communicate(timeout=SERVE_WAIT_S)[1])  # shown when the test fails


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="psutil's children (Linux)")
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="serve starts no helper on one core")
def test_plain_serve_starts_a_helper_under_load(
    server_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(["db", "upgrade"], monkeypatch) == 0
    port = free_port()
    server = _serve_on_demand(monkeypatch, port, given=False)
    base = f"http://127.0.0.1:{port}/api"
    try:
        assert _answering_processes(base, 1, time.monotonic() + SERVE_WAIT_S) == {server.pid}
        (helper,) = _load_until_a_helper_answers(server, base)
        assert helper != server.pid
    finally:
        os.killpg(server.pid, signal.SIGINT)
        _, err = server.communicate(timeout=SERVE_WAIT_S)
    assert server.returncode == 0, err


@pytest.mark.parametrize(
    ("workers", "cpus", "expected"), [(1, 2, 2), (1, 16, 2), (1, 1, 1), (1, None, 1), (4, 16, 1)]
)
def test_max_workers_defaults_to_a_helper_on_two_cores_or_more(
    workers: int, cpus: int | None, expected: int
) -> None:
    assert default_max_workers(workers, cpus) == expected


def test_max_workers_with_several_workers_is_refused(server_settings: Settings) -> None:
    done = serve(free_port(), "--workers", "2", "--max-workers", "2")
    _, err = done.communicate(timeout=SERVE_WAIT_S)
    assert done.returncode == 2 and "--max-workers" in err, err
