"""Two real ``tweenlab serve`` processes on one PostgreSQL database and one data folder.

Each runs its own jobs (one job worker each) and answers any request; nothing but the database
ties them together. Conflicting writes of one track, sent through both from the same base
revision, let exactly one win per revision and lose no update (the journal has one entry per
win). Jobs submitted through both and cancelled through the other one end final, each run
once by the process it was submitted to; a job of a process killed mid-job is cancelled through
the survivor, not left running. PostgreSQL only: without ``TWEENLAB_TEST_DATABASE_URL`` (or
with the server down) the module skips, saying so.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import httpx2 as httpx
import numpy as np
import pytest
from sqlalchemy import select

from tests.media.videos import make_video
from tests.server.conftest import CAR, CHEAP_ARGON2, PASSWORD, postgres_schema
from tweenlab.services import accounts
from tweenlab.settings import Settings
from tweenlab.store import Database, Job, Video

FINAL = {"succeeded", "failed", "cancelled"}
START_S = 60  # a server answers /api/health within this
JOBS_S = 60  # every job of a test is final within this
ROUNDS = 8  # conflicting write rounds
CANCELLED = ("queued-ingest", "queued-export", "long")  # the jobs the other process cancels


@dataclass
class Server:
    """A ``tweenlab serve`` process: its process group (the server and its job workers), URL
    and the pid that answers ``/api/health``."""

    process: subprocess.Popen[bytes]
    base: str
    pid: int = 0

    def stop(self) -> None:
        """Stop as an operator would (SIGTERM: running jobs are waited for)."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """Kill the server and its job workers at once, as a crash of its host would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@dataclass
class World:
    """The two servers, the database, and what the set-up made through them."""

    servers: tuple[Server, Server]
    database: Database
    owner: dict[str, str]
    manager: dict[str, str]
    project: int
    video: int
    tasks: list[int]
    data: Path

    def client(self, server: Server, who: dict[str, str]) -> httpx.Client:
        return httpx.Client(base_url=f"{server.base}/api", headers=who, timeout=60)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A fresh schema on ``TWEENLAB_TEST_DATABASE_URL``'s server, dropped afterwards."""
    yield from postgres_schema("two API processes need PostgreSQL")


def _tweenlab(*args: str) -> list[str]:
    return [sys.executable, "-c", "from tweenlab.cli.main import main; main()", *args]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(env: dict[str, str]) -> Server:
    port = _free_port()
    # one process each (no helper while busy): the tests name the process that answers
    command = _tweenlab("serve", "--host", "127.0.0.1", "--port", str(port), "--max-workers", "1")
    process = subprocess.Popen(command, env=env, start_new_session=True)
    return Server(process, f"http://127.0.0.1:{port}")


def _answering(server: Server, deadline: float) -> None:
    """Wait until ``server`` answers ``/api/health``; note the pid that answered."""
    while True:
        assert server.process.poll() is None, f"tweenlab serve exited ({server.process.returncode})"
        try:
            server.pid = httpx.get(f"{server.base}/api/health", timeout=2).json()["process"]
            return
        except httpx.TransportError:
            assert time.monotonic() < deadline, "tweenlab serve did not answer /api/health"
            time.sleep(0.05)


def _ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, f"{answer.request.url}: {answer.text}"
    return answer.json()


def _ingest(client: httpx.Client, project: int, video: Path, name: str) -> str:
    """Upload ``video`` as ``name``; the id of its ingest job."""
    return str(_upload(client, project, video, name)["ingest_job_id"])


def _upload(client: httpx.Client, project: int, video: Path, name: str) -> Any:
    answer = client.post(
        f"/projects/{project}/videos",
        params={"name": name},
        content=video.read_bytes(),
        headers={"Content-Type": "application/octet-stream"},
    )
    return _ok(answer, 201)


def _wait_final(client: httpx.Client, job_ids: list[str]) -> dict[str, Any]:
    """Poll the jobs (through one process) until every one is final; their JSON."""
    deadline = time.monotonic() + JOBS_S
    jobs: dict[str, Any] = {}
    for job_id in job_ids:
        while (job := _ok(client.get(f"/jobs/{job_id}")))["state"] not in FINAL:
            assert time.monotonic() < deadline, f"job {job_id} still {job['state']}"
            time.sleep(0.1)
        jobs[job_id] = job
    return jobs


@pytest.fixture(scope="module")
def world(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """``tweenlab db upgrade``, two accounts, two servers; through them a project with a
    manager, a small video ingested and split into two tasks."""
    data = tmp_path_factory.mktemp("shared-data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWEENLAB_")}
    env.update(CHEAP_ARGON2)
    env.update(
        TWEENLAB_DATA_DIR=str(data), TWEENLAB_DATABASE_URL=postgres_url, TWEENLAB_JOB_WORKERS="1"
    )
    subprocess.run(_tweenlab("db", "upgrade"), env=env, check=True, capture_output=True)
    settings = Settings(
        data_dir=data, database_url=postgres_url, argon2_memory_kib=64, argon2_time_cost=1
    )
    servers = (_start(env), _start(env))
    database = Database(settings.database)
    try:
        heads = []
        with database.session() as db:
            for email, admin in (("owner@example.com", True), ("manager@example.com", False)):
                user = accounts.create_user(db, settings, email, PASSWORD, admin=admin)
                _, secret = accounts.create_token(db, user, "tests")
                heads.append({"Authorization": f"Bearer {secret}"})
        deadline = time.monotonic() + START_S
        for server in servers:
            _answering(server, deadline)
        assert servers[0].pid != servers[1].pid
        owner, manager = heads
        video_file = make_video(tmp_path_factory.mktemp("video") / "stamped.mp4", frames=60)
        with httpx.Client(base_url=f"{servers[0].base}/api", headers=owner, timeout=60) as a:
            project = _ok(a.post("/projects", json={"name": "cars", "schema": [CAR]}), 201)["id"]
            member = {"email": "manager@example.com", "role": "manager"}
            _ok(a.post(f"/projects/{project}/members", json=member), 201)
            video = _upload(a, project, video_file, "stamped.mp4")
            assert _wait_final(a, [video["ingest_job_id"]])[video["ingest_job_id"]]["state"] == (
                "succeeded"
            )
        with httpx.Client(base_url=f"{servers[1].base}/api", headers=manager, timeout=60) as b:
            split = {"video_id": video["id"], "frame_count": 60, "size": 35, "overlap": 10}
            tasks = [
                t["id"] for t in _ok(b.post(f"/projects/{project}/tasks/split", json=split), 201)
            ]
        yield World(servers, database, owner, manager, project, video["id"], tasks, data)
    finally:
        for server in servers:
            server.stop()
        database.dispose()


def _track(x: float) -> dict[str, Any]:
    """Track 1 (a car) over the first task's frames; ``x`` tells one write from another."""
    keys = [
        {"frame": f, "shape": {"kind": "box", "x": x, "y": 20, "w": 30, "h": 20}} for f in (0, 34)
    ]
    return {"label": "car", "keyframes": keys}


def _x(track: dict[str, Any]) -> float:
    return float(track["keyframes"][0]["shape"]["x"])


def _race(
    pool: ThreadPoolExecutor, writers: list[httpx.Client], path: str, base: int, number: int
) -> list[httpx.Response]:
    """Every writer puts its own version of the track from ``base``, all released at once."""
    barrier = threading.Barrier(len(writers))

    def write(k: int) -> httpx.Response:
        body = {"track": _track(10 * number + k), "base_revision": base}
        barrier.wait()
        return writers[k].put(path, json=body)

    return list(pool.map(write, range(len(writers))))


def test_conflicting_writes_through_both_processes_lose_no_update(world: World) -> None:
    path = f"/projects/{world.project}/tasks/{world.tasks[0]}/tracks/1"
    writers = [
        world.client(server, who)
        for server in world.servers
        for who in (world.owner, world.manager)
    ]
    winners: list[float] = []
    base = 0  # the first round races to create the track
    try:
        with ThreadPoolExecutor(len(writers)) as pool:
            for round_number in range(ROUNDS):
                answers = _race(pool, writers, path, base, round_number)
                codes = sorted(answer.status_code for answer in answers)
                assert codes == [200] + [409] * (len(writers) - 1), (round_number, codes)
                won = next(answer.json() for answer in answers if answer.status_code == 200)
                assert won["revision"] == base + 1
                for lost in (answer.json() for answer in answers if answer.status_code == 409):
                    assert lost["current_revision"] == won["revision"]  # names the winner's
                    assert _x(lost["track"]) == _x(won["track"])
                winners.append(_x(won["track"]))
                base = won["revision"]
        for client in writers[::2]:  # read back through each process
            stored = _ok(client.get(path))
            assert stored["revision"] == ROUNDS == len(winners)
            assert _x(stored["track"]) == winners[-1]
        task = f"/projects/{world.project}/tasks/{world.tasks[0]}"
        journal = _ok(writers[-1].get(f"{task}/journal", params={"track": 1}))
        assert [entry["revision"] for entry in journal] == list(range(1, ROUNDS + 1))
        assert [_x(entry["after"]) for entry in journal] == winners  # each win, once
        assert [entry["before"] is None for entry in journal] == [True] + [False] * (ROUNDS - 1)
        assert [_x(e["before"]) for e in journal[1:]] == winners[:-1]  # built on the last win
    finally:
        for client in writers:
            client.close()


@pytest.fixture(scope="module")
def long_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3000 frames (a gradient sliding sideways) of MPEG-4 in AVI, made in a second or two;
    its ingest writes a proxy: ten seconds of work or so, far longer than a cancel takes."""
    path = tmp_path_factory.mktemp("long") / "long.avi"
    width, height = 256, 144
    rows, columns = np.mgrid[0:height, 0:width]
    image = np.stack([columns, 2 * rows, columns + rows], axis=-1).astype(np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for shift in range(3000):
            frame = av.VideoFrame.from_ndarray(np.roll(image, shift, axis=1), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def _export(client: httpx.Client, world: World) -> Any:
    request = {"video_id": world.video, "format": "mot", "frames": "all"}
    return _ok(client.post(f"/projects/{world.project}/exports", json=request), 202)


def _rows(world: World, job_ids: list[str]) -> dict[str, Job]:
    with world.database.session(readonly=True) as db:
        rows = db.scalars(select(Job).where(Job.id.in_(job_ids)))
        return {row.id: row for row in rows}


def test_jobs_submitted_and_cancelled_across_the_processes_run_once_and_end_final(
    world: World, long_video: Path, tmp_path: Path
) -> None:
    """Each process gets a long ingest (which keeps its one job worker busy), an ingest and an
    export that queue behind it, which the other process cancels at once (then the long one
    too), then an ingest and an export left to run."""
    short_video = make_video(tmp_path / "short.mp4", frames=30)
    clients = [world.client(server, world.owner) for server in world.servers]
    submitted: list[dict[str, str]] = []
    try:
        for k, client in enumerate(clients):
            project, other = world.project, clients[1 - k]
            jobs = {"long": _ingest(client, project, long_video, f"long{k}.avi")}
            jobs["queued-ingest"] = _ingest(client, project, short_video, f"a{k}.mp4")
            jobs["queued-export"] = _export(client, world)["id"]
            for name in CANCELLED:  # the queued ones first: they must not start
                asked = _ok(other.post(f"/jobs/{jobs[name]}/cancel"))
                assert asked["state"] in {"queued", "running"}, (name, asked)  # asked, not yet
            jobs["ingest"] = _ingest(client, project, short_video, f"b{k}.mp4")
            jobs["export"] = _export(client, world)["id"]
            submitted.append(jobs)
        every = [job_id for jobs in submitted for job_id in jobs.values()]
        final = _wait_final(clients[1], every)
    finally:
        for client in clients:
            client.close()

    rows = _rows(world, every)
    for k, jobs in enumerate(submitted):
        owner = world.servers[k].pid
        for name, job_id in jobs.items():
            row, cancelled = rows[job_id], name in CANCELLED
            assert row.state == final[job_id]["state"]
            assert row.state == ("cancelled" if cancelled else "succeeded"), (k, name, row.error)
            assert row.attempts == 1, (k, name)  # run once, by one process
            assert row.owner is not None and int(row.owner.split(":")[1]) == owner, (k, name)
            assert row.cancel_requested is cancelled, (k, name)
            assert row.finished_at is not None
        assert rows[jobs["export"]].result["tracks"] >= 0  # type: ignore[index]
    with world.database.session(readonly=True) as db:
        statuses = {v.ingest_job_id: v.status for v in db.scalars(select(Video))}
    for jobs in submitted:  # each video agrees with its ingest job (same transaction)
        assert statuses[jobs["long"]] == statuses[jobs["queued-ingest"]] == "failed"
        assert statuses[jobs["ingest"]] == "ready"


def test_a_job_of_a_killed_process_is_not_left_running(world: World, long_video: Path) -> None:
    """The second process is killed (with its job workers) in the middle of an ingest; a
    cancel through the first one finds the owner gone and ends the job. Runs last: it kills."""
    survivor, victim = world.servers
    with world.client(victim, world.owner) as client:
        job_id = _ingest(client, world.project, long_video, "doomed.avi")
        deadline = time.monotonic() + JOBS_S
        while _ok(client.get(f"/jobs/{job_id}"))["state"] != "running":
            assert time.monotonic() < deadline, "the ingest never started"
            time.sleep(0.05)
    victim.kill()
    with world.client(survivor, world.owner) as client:
        cancelled = _ok(client.post(f"/jobs/{job_id}/cancel"))
        assert cancelled["state"] == "cancelled" and cancelled["attempts"] == 1
    row = _rows(world, [job_id])[job_id]
    assert row.state == "cancelled" and int(row.owner.split(":")[1]) == victim.pid  # type: ignore[union-attr]
    with world.database.session(readonly=True) as db:
        unfinished = db.scalars(select(Job).where(Job.state.in_(["queued", "running"]))).all()
    assert unfinished == []
