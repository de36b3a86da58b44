"""Server benchmark: simulated annotators against ``tweenlab serve`` on SQLite and PostgreSQL.

What a team sees of the server is how fast an edit is saved while others edit too, whether an
acknowledged edit is ever lost, whether two people editing one track find out, and what the
server costs to start and to keep running. So the server runs as a real subprocess (``tweenlab
serve`` on a free loopback port, after ``tweenlab db upgrade`` and ``tweenlab user create``), and
everything goes through its HTTP API with ``httpx``, over loopback only:

1. Start-up: seconds from spawning ``tweenlab serve`` to the first 200 from ``/api/health``.
   Cold is the first start on a new data folder (freshly migrated database); warm is a restart
   on the same folder (median of 3). Idle RSS is ``VmRSS`` of the server process in
   ``/proc/<pid>/status`` 1 s after it answered (target: start-up < 3 s, idle RSS < 150 MB).
2. Setup, through the API as a site admin would: one annotator account per client (each signs
   in and makes an API token), a project with the label schema ``car: box``, a small generated
   video (320x240, 25 fps, a keyframe every 25 frames) uploaded and ingested, split into tasks of
   50 frames, one task assigned to each client and started by it.
3. Load: N clients (threads, one ``httpx.Client`` each, keep-alive) for D seconds. Each loads
   its task (task + annotations), then loops: read the frame it looks at (JPEG, as the editor
   asks), save a box track of 10 keyframes (a create from revision 0, then two updates, each
   naming the revision it is based on in ``If-Match``), read another frame. Saves/s and their
   latency p50/p95/p99, frames/s served, errors (anything but 200, any exception), and the
   server's CPU time per request (``/proc/<pid>/stat``). Target on SQLite: >= 300 saves/s with
   p99 <= 100 ms.
4. Lost writes: every client remembers the last track it was acknowledged (200) for each track
   number; at the end every task's annotations are read back and each track compared with it,
   revision and content. Target: 0 lost.
5. Conflicts: R races. For each, a track is created, then two clients (the task's annotator and
   a project manager, separate connections) released by a barrier both write it from the same
   base revision. Every race must end in exactly one 200 and one 409 (``current_revision`` the
   winner's), with the winner's track stored. Target: every conflict detected.

The PostgreSQL run uses a fresh schema (``search_path`` in the URL) on ``--postgres-url``,
dropped afterwards; when the server cannot be reached that run is skipped with the reason
printed. The peers (Label Studio 1.23) are the figures quoted in issue 6, measured elsewhere
with its own load script: quoted, not run here. The machine is shared and often loaded: its
load average at start and end goes into the results, and the clients share its cores with the
server (their own CPU time is reported too).

Run from the repository root::

    python benchmarks/server.py                  # 16 clients x 60 s, SQLite then PostgreSQL
    python benchmarks/server.py --quick          # 4 clients x 10 s
    python benchmarks/server.py --clients 8 --duration 30 --races 20 --no-postgres

It prints a table and writes ``benchmarks/results/server.json`` (``server-quick.json`` with
``--quick``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import httpx2 as httpx
import numpy as np
import psutil

from report import verdict

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "benchmark password 1234"
TASK_SIZE = 50
KEYFRAMES = 10
UPDATES_PER_TRACK = 2
TARGET_SAVES_PER_S = 300.0
TARGET_P99_MS = 100.0
TARGET_START_S = 3.0
TARGET_RSS_MB = 150.0
# Issue 6, Label Studio 1.23 (Django), 8 clients x 30 s, median of 3: quoted, not run here.
LABEL_STUDIO: dict[str, Any] = {
    "source": "issue 6 (quoted, not run here): Label Studio 1.23, 8 clients x 30 s, median of 3",
    "sqlite": {"saves_per_s": 11.2, "p50_ms": 668, "p99_ms": 1471, "server_cpu_ms_per_req": 60},
    "postgresql": {"saves_per_s": 12.7, "p99_ms": 1112},
    "start_cold_s": "28-50",
    "start_warm_s": "3-6",
    "idle_rss_mb": "316-400",
    "conflicts": "20 of 20 conflicting updates silently lost (stale precondition got 200)",
}

Result = dict[str, Any]


def log(message: str) -> None:
    """Progress, on stderr (the table goes to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), linear between ranks; NaN for no values."""
    if not values:
        return math.nan
    return float(np.percentile(np.asarray(values), q))


# -- the server process ------------------------------------------------------------------------


def tweenlab_command() -> list[str]:
    """The ``tweenlab`` console script of this interpreter (not a pyenv shim)."""
    script = Path(sys.executable).parent / "tweenlab"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "tweenlab"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the worker processes of ``--workers``, job workers)."""
    root = psutil.Process(pid)
    return [pid, *(child.pid for child in root.children(recursive=True))]


def proc_status_mb(pid: int, field_name: str = "VmRSS:") -> float:
    """``VmRSS`` of a process and its descendants, in MB."""
    total = 0.0
    for each in _tree(pid):
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith(field_name):
                total += int(line.split()[1]) / 1024
    return total or math.nan


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its live descendants (``/proc/<pid>/stat``)."""
    total = 0
    for each in _tree(pid):
        fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    """A running ``tweenlab serve``."""

    process: subprocess.Popen[bytes]
    base: str
    start_s: float
    idle_rss_mb: float

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [*tweenlab_command(), *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"tweenlab {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def start_server(
    env: dict[str, str], data: Path, timeout: float = 60.0, workers: int = 1
) -> Server:
    """Spawn ``tweenlab serve``, poll ``/api/health`` until 200; start-up time and idle RSS."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [*tweenlab_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers)]
    started = time.perf_counter()
    process = subprocess.Popen([*command, "--data", str(data)], env=env)
    with httpx.Client(timeout=1.0) as client:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"tweenlab serve exited with {process.returncode}")
            try:
                if client.get(f"{base}/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.perf_counter() - started > timeout:
                process.kill()
                raise RuntimeError("tweenlab serve did not answer /api/health")
            time.sleep(0.01)
    start_s = time.perf_counter() - started
    time.sleep(1.0)
    return Server(process, base, start_s, proc_status_mb(process.pid))


# -- inputs ------------------------------------------------------------------------------------


def make_video(path: Path, frames: int, fps: int = 25) -> Path:
    """A 320x240 H.264 MP4 of a bright square moving over a gradient, a keyframe every 25."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.time_base = Fraction(1, fps)
        stream.codec_context.options = {"g": "25", "bf": "0", "preset": "veryfast"}
        yy, xx = np.mgrid[0:240, 0:320]
        for i in range(frames):
            image = np.zeros((240, 320, 3), np.uint8)
            image[..., 0] = (xx + i) % 256
            image[..., 1] = (yy * 2 + i) % 256
            x, y = (i * 3) % 280, (i * 2) % 200
            image[y : y + 40, x : x + 40] = 255
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def track_body(start: int, stop: int, salt: int) -> dict[str, Any]:
    """A box track with 10 keyframes spread over frames [start, stop); ``salt`` moves it."""
    step = max(1, (stop - start) // KEYFRAMES)
    keyframes = [
        {
            "frame": start + k * step,
            "shape": {
                "kind": "box",
                "x": float(10 + salt % 200 + k),
                "y": 5.0,
                "w": 20.0,
                "h": 10.0,
            },
        }
        for k in range(KEYFRAMES)
    ]
    return {"label": "car", "keyframes": keyframes}


# -- setup through the API ---------------------------------------------------------------------


def check(answer: httpx.Response, status: int = 200) -> Any:
    if answer.status_code != status:
        raise RuntimeError(
            f"{answer.request.method} {answer.request.url}: {answer.status_code} "
            f"{answer.text[:300]}"
        )
    return answer.json()


def token_for(base: str, email: str) -> dict[str, str]:
    """Sign in with the password, make an API token; its headers."""
    with httpx.Client(base_url=base, timeout=60) as browser:
        signed = check(browser.post("/api/auth/login", json={"email": email, "password": PASSWORD}))
        made = check(
            browser.post(
                "/api/tokens",
                json={"name": "benchmark"},
                headers={"X-CSRF-Token": signed["csrf_token"]},
            ),
            201,
        )
    return {"Authorization": f"Bearer {made['token']}"}


@dataclass
class World:
    """What the setup made: the project, video, tasks and the people's headers."""

    project: int
    video: int
    tasks: list[dict[str, Any]]  # one per client, then the race task
    annotators: list[dict[str, str]]
    manager: dict[str, str]
    setup_s: float


def set_up(base: str, admin_email: str, clients: int, work: Path) -> World:
    """Accounts, project, video (uploaded, ingested), tasks assigned and started."""
    started = time.perf_counter()
    admin = token_for(base, admin_email)
    c = httpx.Client(base_url=base, timeout=120, headers=admin)
    people = [f"annotator{i}@bench.example.com" for i in range(clients + 1)]
    manager_email = "manager@bench.example.com"
    for email in [*people, manager_email]:
        check(c.post("/api/users", json={"email": email, "password": PASSWORD}), 201)
    project = check(
        c.post(
            "/api/projects", json={"name": "bench", "schema": [{"name": "car", "kinds": ["box"]}]}
        ),
        201,
    )["id"]
    for email in people:
        check(
            c.post(f"/api/projects/{project}/members", json={"email": email, "role": "annotator"}),
            201,
        )
    check(
        c.post(
            f"/api/projects/{project}/members", json={"email": manager_email, "role": "manager"}
        ),
        201,
    )
    frames = TASK_SIZE * (clients + 1)
    video_file = work / f"bench-{frames}.mp4"
    if not video_file.is_file():
        make_video(video_file, frames)
    video = check(
        c.post(
            f"/api/projects/{project}/videos",
            params={"name": "bench.mp4"},
            content=video_file.read_bytes(),
            headers={"Content-Type": "application/octet-stream"},
        ),
        201,
    )
    deadline = time.monotonic() + 300
    while (job := check(c.get(f"/api/jobs/{video['ingest_job_id']}")))["state"] not in {
        "succeeded",
        "failed",
        "cancelled",
    }:
        if time.monotonic() > deadline:
            raise RuntimeError("ingest job did not finish in 300 s")
        time.sleep(0.2)
    if job["state"] != "succeeded":
        raise RuntimeError(f"ingest job {job['state']}: {job}")
    split = {"video_id": video["id"], "frame_count": frames, "size": TASK_SIZE, "overlap": 0}
    tasks = check(c.post(f"/api/projects/{project}/tasks/split", json=split), 201)
    users = {u["email"]: u["id"] for u in check(c.get("/api/users"))}
    annotators = [token_for(base, email) for email in people]
    for task, email, headers in zip(tasks, people, annotators, strict=False):
        check(
            c.post(
                f"/api/projects/{project}/tasks/{task['id']}/assign",
                json={"assignee_id": users[email]},
            )
        )
        check(
            httpx.post(
                f"{base}/api/projects/{project}/tasks/{task['id']}/actions/start",
                json={"note": ""},
                headers=headers,
            )
        )
    manager = token_for(base, manager_email)
    c.close()
    return World(
        project,
        video["id"],
        tasks[: clients + 1],
        annotators,
        manager,
        time.perf_counter() - started,
    )


# -- load --------------------------------------------------------------------------------------


@dataclass
class ClientLog:
    """One simulated annotator's measurements and acknowledged writes."""

    save_ms: list[float] = field(default_factory=list)
    frame_ms: list[float] = field(default_factory=list)
    load_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    acknowledged: dict[int, tuple[int, Any]] = field(default_factory=dict)  # number -> (rev, track)


def annotator(base: str, world: World, index: int, stop_at: float, out: ClientLog) -> None:
    """Load the task, then loop: read a frame, save a track (create, then updates), read a frame."""
    task = world.tasks[index]
    url = f"/api/projects/{world.project}/tasks/{task['id']}"
    frames_url = f"/api/projects/{world.project}/videos/{world.video}/frames"
    start, stop = int(task["start"]), int(task["stop"])
    with httpx.Client(base_url=base, headers=world.annotators[index], timeout=30) as c:

        def timed(
            method: str, path: str, sink: list[float], **kwargs: Any
        ) -> httpx.Response | None:
            t0 = time.perf_counter()
            try:
                answer = c.request(method, path, **kwargs)
            except httpx.HTTPError as error:
                out.errors.append(f"{method} {path}: {type(error).__name__}")
                return None
            sink.append((time.perf_counter() - t0) * 1000)
            if answer.status_code != 200:
                out.errors.append(f"{method} {path}: {answer.status_code} {answer.text[:120]}")
                return None
            return answer

        timed("GET", url, out.load_ms)
        timed("GET", f"{url}/annotations", out.load_ms)
        number, revision, step, looked = 1, 0, 0, start
        while time.perf_counter() < stop_at:
            timed("GET", f"{frames_url}/{looked}", out.frame_ms)
            looked = start + (looked - start + 1) % (stop - start)
            answer = timed(
                "PUT",
                f"{url}/tracks/{number}",
                out.save_ms,
                json={"track": track_body(start, stop, step)},
                headers={"If-Match": f'"{revision}"'},
            )
            step += 1
            if answer is not None:
                saved = answer.json()
                revision = int(saved["revision"])
                out.acknowledged[number] = (revision, saved["track"])
            if answer is None or revision > UPDATES_PER_TRACK:
                number, revision = number + 1, 0  # next track; after an error, start afresh
            timed("GET", f"{frames_url}/{looked}", out.frame_ms)
            looked = start + (looked - start + 1) % (stop - start)


def read_back(base: str, world: World, logs: list[ClientLog]) -> Result:
    """Compare every acknowledged write with what the server has now."""
    checked = lost = 0
    examples: list[str] = []
    with httpx.Client(base_url=base, headers=world.manager, timeout=60) as c:
        for task, out in zip(world.tasks, logs, strict=False):
            got = check(c.get(f"/api/projects/{world.project}/tasks/{task['id']}/annotations"))
            stored = {t["number"]: (t["revision"], t["track"]) for t in got["tracks"]}
            for number, (revision, track) in out.acknowledged.items():
                checked += 1
                if stored.get(number) != (revision, track):
                    lost += 1
                    if len(examples) < 5:
                        examples.append(
                            f"task {task['id']} track {number}: acknowledged "
                            f"revision {revision}, stored {stored.get(number, (None,))[0]}"
                        )
    return {"tracks_checked": checked, "lost_writes": lost, "examples": examples, "pass": lost == 0}


def run_load(base: str, pid: int, world: World, clients: int, duration: float) -> Result:
    logs = [ClientLog() for _ in range(clients)]
    cpu0, self0, t0 = proc_cpu_s(pid), resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    stop_at = t0 + duration
    threads = [
        threading.Thread(target=annotator, args=(base, world, i, stop_at, logs[i]))
        for i in range(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    server_cpu = proc_cpu_s(pid) - cpu0
    self1 = resource.getrusage(resource.RUSAGE_SELF)
    client_cpu = (self1.ru_utime - self0.ru_utime) + (self1.ru_stime - self0.ru_stime)
    saves = [ms for out in logs for ms in out.save_ms]
    frames = [ms for out in logs for ms in out.frame_ms]
    loads = [ms for out in logs for ms in out.load_ms]
    errors = [e for out in logs for e in out.errors]
    requests = len(saves) + len(frames) + len(loads) + len(errors)
    saves_per_s = len(saves) / wall
    p99 = percentile(saves, 99)
    readback = read_back(base, world, logs)
    return {
        "clients": clients,
        "duration_s": round(wall, 2),
        "saves": len(saves),
        "saves_per_s": round(saves_per_s, 1),
        "save_p50_ms": round(percentile(saves, 50), 1),
        "save_p95_ms": round(percentile(saves, 95), 1),
        "save_p99_ms": round(p99, 1),
        "save_max_ms": round(max(saves, default=math.nan), 1),
        "frames_served": len(frames),
        "frames_per_s": round(len(frames) / wall, 1),
        "frame_p50_ms": round(percentile(frames, 50), 1),
        "frame_p95_ms": round(percentile(frames, 95), 1),
        "task_load_p50_ms": round(percentile(loads, 50), 1),
        "requests": requests,
        "errors": len(errors),
        "error_examples": errors[:5],
        "server_cpu_s": round(server_cpu, 2),
        "server_cpu_ms_per_request": round(server_cpu * 1000 / max(requests, 1), 2),
        "client_cpu_s": round(client_cpu, 2),
        "readback": readback,
        "target": f">= {TARGET_SAVES_PER_S:.0f} saves/s, p99 <= {TARGET_P99_MS:.0f} ms, 0 errors",
        "pass_throughput": saves_per_s >= TARGET_SAVES_PER_S and p99 <= TARGET_P99_MS,
        "pass_errors": not errors,
    }


def run_solo(base: str, pid: int, world: World, seconds: float) -> Result:
    """The no-contention limit in the same run: one client alone, saves only, then frames only
    (a track of 10 keyframes updated over and over; frames of its task in turn)."""
    task = world.tasks[0]
    start, stop = int(task["start"]), int(task["stop"])
    url = f"/api/projects/{world.project}/tasks/{task['id']}/tracks/999"
    frames_url = f"/api/projects/{world.project}/videos/{world.video}/frames"
    figures: Result = {}
    with httpx.Client(base_url=base, headers=world.annotators[0], timeout=30) as c:
        for what in ("save", "frame"):
            times: list[float] = []
            revision, i = 0, 0
            cpu0, until = proc_cpu_s(pid), time.perf_counter() + seconds
            while time.perf_counter() < until:
                t0 = time.perf_counter()
                if what == "save":
                    answer = c.put(
                        url,
                        json={"track": track_body(start, stop, i)},
                        headers={"If-Match": f'"{revision}"'},
                    )
                    revision = int(check(answer)["revision"])
                else:
                    check_status(c.get(f"{frames_url}/{start + i % (stop - start)}"))
                times.append((time.perf_counter() - t0) * 1000)
                i += 1
            cpu = proc_cpu_s(pid) - cpu0
            figures[what] = {
                "requests": len(times),
                "per_s": round(len(times) / seconds, 1),
                "p50_ms": round(percentile(times, 50), 2),
                "p99_ms": round(percentile(times, 99), 2),
                "server_cpu_ms": round(cpu * 1000 / max(len(times), 1), 2),
            }
    return figures


def check_status(answer: httpx.Response) -> None:
    if answer.status_code != 200:
        raise RuntimeError(f"{answer.request.url}: {answer.status_code}")


# -- conflicts ---------------------------------------------------------------------------------


def race_write(  # noqa: PLR0917
    client: httpx.Client,
    path: str,
    track: dict[str, Any],
    base_rev: int,
    barrier: threading.Barrier,
    answers: list[httpx.Response | None],
    k: int,
) -> None:
    """One side of a race: wait for the other side, then write from ``base_rev``."""
    barrier.wait()
    answers[k] = client.put(path, json={"track": track}, headers={"If-Match": f'"{base_rev}"'})


def run_races(base: str, world: World, races: int) -> Result:
    """``races`` times: create a track, then two clients write it from the same base revision."""
    task = world.tasks[-1]
    url = f"/api/projects/{world.project}/tasks/{task['id']}/tracks"
    start, stop = int(task["start"]), int(task["stop"])
    detected = lost = 0
    outcomes: list[list[int]] = []
    a = httpx.Client(base_url=base, headers=world.annotators[-1], timeout=30)
    b = httpx.Client(base_url=base, headers=world.manager, timeout=30)
    try:
        for race in range(races):
            number = race + 1
            made = check(
                a.put(
                    f"{url}/{number}",
                    json={"track": track_body(start, stop, 0)},
                    headers={"If-Match": '"0"'},
                )
            )
            base_rev = made["revision"]
            barrier = threading.Barrier(2)
            answers: list[httpx.Response | None] = [None, None]
            threads = [
                threading.Thread(
                    target=race_write,
                    args=(
                        cl,
                        f"{url}/{number}",
                        track_body(start, stop, 100 + k),
                        base_rev,
                        barrier,
                        answers,
                        k,
                    ),
                )
                for k, cl in enumerate((a, b))
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            codes = [r.status_code if r is not None else 0 for r in answers]
            outcomes.append(codes)
            winners = [r for r in answers if r is not None and r.status_code == 200]
            losers = [r for r in answers if r is not None and r.status_code == 409]
            if len(winners) == 1 and len(losers) == 1:
                won = winners[0].json()
                if losers[0].json().get("current_revision") == won["revision"]:
                    detected += 1
                stored = check(a.get(f"{url}/{number}"))
                if (stored["revision"], stored["track"]) != (won["revision"], won["track"]):
                    lost += 1
    finally:
        a.close()
        b.close()
    return {
        "races": races,
        "conflicts_detected": detected,
        "winner_lost": lost,
        "outcomes": dict(Counter(str(sorted(o)) for o in outcomes)),
        "target": "every race: exactly one 200 and one 409 naming the winner's revision",
        "pass": detected == races and lost == 0,
    }


# -- one database ------------------------------------------------------------------------------


def postgres_schema(url: str) -> tuple[str, str] | str:
    """A fresh schema on ``url``: (server URL with its search_path, schema), or why not."""
    try:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        schema = f"bench_{uuid.uuid4().hex[:12]}"
        engine = create_engine(url, connect_args={"connect_timeout": 5})
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
    except Exception as error:
        return f"{type(error).__name__}: {str(error).splitlines()[0]}"
    full = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return full.render_as_string(hide_password=False), schema


def drop_schema(url: str, schema: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def run_database(kind: str, database_url: str | None, args: argparse.Namespace) -> Result:
    """Start-up, setup, load, read-back, races and restarts on one database."""
    data = Path(tempfile.mkdtemp(prefix=f"tweenlab-bench-{kind}-", dir=args.work))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWEENLAB_")}
    env["TWEENLAB_DATA_DIR"] = str(data)
    if database_url:
        env["TWEENLAB_DATABASE_URL"] = database_url
    result: Result = {"database": kind}
    try:
        cli(env, "db", "upgrade")
        cli(
            env,
            "user",
            "create",
            "admin@bench.example.com",
            "--role",
            "owner",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
        log(f"{kind}: cold start")
        server = start_server(env, data, workers=args.workers)
        result["start_cold_s"] = round(server.start_s, 3)
        result["idle_rss_cold_mb"] = round(server.idle_rss_mb, 1)
        try:
            log(f"{kind}: setup (accounts, project, video, tasks)")
            world = set_up(server.base, "admin@bench.example.com", args.clients, args.work)
            result["setup_s"] = round(world.setup_s, 1)
            log(f"{kind}: one client alone, saves then frames")
            result["solo"] = run_solo(server.base, server.process.pid, world, args.solo)
            log(f"{kind}: load, {args.clients} clients x {args.duration:.0f} s")
            result["load"] = run_load(
                server.base, server.process.pid, world, args.clients, args.duration
            )
            result["rss_after_load_mb"] = round(proc_status_mb(server.process.pid), 1)
            log(f"{kind}: {args.races} races")
            result["races"] = run_races(server.base, world, args.races)
        finally:
            server.stop()
        warm = []
        for _ in range(3):
            again = start_server(env, data, workers=args.workers)
            warm.append((again.start_s, again.idle_rss_mb))
            again.stop()
        result["start_warm_s"] = [round(s, 3) for s, _ in warm]
        result["start_warm_median_s"] = round(statistics.median(s for s, _ in warm), 3)
        result["idle_rss_warm_mb"] = round(statistics.median(r for _, r in warm), 1)
        worst_start = max(result["start_cold_s"], result["start_warm_median_s"])
        worst_rss = max(result["idle_rss_cold_mb"], result["idle_rss_warm_mb"])
        result["pass_start"] = worst_start < TARGET_START_S
        result["pass_rss"] = worst_rss < TARGET_RSS_MB
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return result


# -- report ------------------------------------------------------------------------------------


def machine_info() -> Result:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    import tweenlab

    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "load_average_start": [round(v, 2) for v in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "httpx": httpx.__version__,
        "tweenlab": tweenlab.__version__,
        "tweenlab_commit": commit,
    }


def print_table(results: Result) -> None:
    rows: list[tuple[str, str, str, str, str]] = []
    ls = LABEL_STUDIO
    for kind in ("sqlite", "postgresql"):
        r = results.get(kind)
        if r is None or "skipped" in r:
            reason = r["skipped"] if r else "not run"
            rows.append((f"{kind}: skipped", reason, "", "", ""))
            continue
        ld, rc = r["load"], r["races"]
        peer = ls[kind]
        peer_rate = f"LS {peer['saves_per_s']}/s, p99 {peer['p99_ms']} ms (quoted)"
        rows += [
            (
                f"{kind}: saves/s ({ld['clients']} clients, {ld['duration_s']:.0f} s)",
                f"{ld['saves_per_s']:.1f}/s ({ld['saves']} saves)",
                peer_rate,
                f">= {TARGET_SAVES_PER_S:.0f}/s" if kind == "sqlite" else "-",
                verdict(ld["saves_per_s"] >= TARGET_SAVES_PER_S) if kind == "sqlite" else "-",
            ),
            (
                f"{kind}: save p50 / p95 / p99",
                f"{ld['save_p50_ms']:.1f} / {ld['save_p95_ms']:.1f} / {ld['save_p99_ms']:.1f} ms",
                f"LS p50 {peer['p50_ms']} ms (quoted)" if "p50_ms" in peer else "",
                f"p99 <= {TARGET_P99_MS:.0f} ms" if kind == "sqlite" else "-",
                verdict(ld["save_p99_ms"] <= TARGET_P99_MS) if kind == "sqlite" else "-",
            ),
            (
                f"{kind}: one client alone: save / frame p50",
                f"{r['solo']['save']['p50_ms']:.1f} / {r['solo']['frame']['p50_ms']:.1f} ms, "
                f"server CPU {r['solo']['save']['server_cpu_ms']:.1f} / "
                f"{r['solo']['frame']['server_cpu_ms']:.1f} ms each",
                "",
                "-",
                "-",
            ),
            (
                f"{kind}: frames served",
                f"{ld['frames_per_s']:.1f}/s (p50 {ld['frame_p50_ms']:.1f} ms,"
                f" p95 {ld['frame_p95_ms']:.1f} ms)",
                "",
                "-",
                "-",
            ),
            (
                f"{kind}: server CPU per request",
                f"{ld['server_cpu_ms_per_request']:.2f} ms",
                "LS ~60 ms (quoted)" if kind == "sqlite" else "",
                "-",
                "-",
            ),
            (
                f"{kind}: errors",
                f"{ld['errors']} of {ld['requests']} requests",
                "",
                "0",
                verdict(ld["pass_errors"]),
            ),
            (
                f"{kind}: lost writes",
                f"{ld['readback']['lost_writes']} of "
                f"{ld['readback']['tracks_checked']} tracks read back",
                "",
                "0",
                verdict(ld["readback"]["pass"]),
            ),
            (
                f"{kind}: conflicts detected",
                f"{rc['conflicts_detected']} of {rc['races']} races",
                "LS 0 of 20 (quoted)",
                "all",
                verdict(rc["pass"]),
            ),
            (
                f"{kind}: start-up cold / warm",
                f"{r['start_cold_s']:.2f} / {r['start_warm_median_s']:.2f} s",
                f"LS {ls['start_cold_s']} / {ls['start_warm_s']} s (quoted)",
                f"< {TARGET_START_S:.0f} s",
                verdict(r["pass_start"]),
            ),
            (
                f"{kind}: idle RSS cold / warm",
                f"{r['idle_rss_cold_mb']:.0f} / {r['idle_rss_warm_mb']:.0f} MB",
                f"LS {ls['idle_rss_mb']} MB (quoted)",
                f"< {TARGET_RSS_MB:.0f} MB",
                verdict(r["pass_rss"]),
            ),
        ]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    header = ("figure", "tweenlab", "peer (Label Studio, quoted, not run here)", "target", "")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    for row in (header, *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    m = results["machine"]
    print(
        f"load average {m['load_average_start']} -> {m['load_average_end']} on "
        f"{m['cpus_usable']} CPUs; all targets: {verdict(results['all_pass'])}"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke test: 4 clients x 10 s")
    parser.add_argument("--clients", type=int, default=None, help="simulated annotators (16)")
    parser.add_argument("--duration", type=float, default=None, help="seconds of load (60)")
    parser.add_argument("--races", type=int, default=None, help="conflict races (20)")
    parser.add_argument("--solo", type=float, default=None, help="seconds of each solo phase")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--workers", type=int, default=1, help="server processes (tweenlab serve --workers)"
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/tweenlab-bench"))
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    args.clients = args.clients or (4 if args.quick else 16)
    args.duration = args.duration or (10.0 if args.quick else 60.0)
    args.solo = args.solo or (2.0 if args.quick else 5.0)
    args.races = args.races or (5 if args.quick else 20)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    results: Result = {
        "mode": "quick" if args.quick else "full",
        "settings": {
            "clients": args.clients,
            "workers": args.workers,
            "duration_s": args.duration,
            "races": args.races,
            "task_frames": TASK_SIZE,
            "keyframes_per_track": KEYFRAMES,
            "saves_per_track": 1 + UPDATES_PER_TRACK,
            "frames_read_per_save": 2,
        },
        "machine": machine_info(),
        "label_studio_quoted": LABEL_STUDIO,
    }
    results["sqlite"] = run_database("sqlite", None, args)
    if args.no_postgres:
        results["postgresql"] = {"skipped": "--no-postgres"}
    else:
        made = postgres_schema(args.postgres_url)
        if isinstance(made, str):
            print(f"PostgreSQL skipped: {args.postgres_url} not reachable ({made})")
            results["postgresql"] = {"skipped": f"not reachable: {made}"}
        else:
            url, schema = made
            try:
                results["postgresql"] = run_database("postgresql", url, args)
            finally:
                drop_schema(args.postgres_url, schema)
    results["machine"]["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    passes = []
    for kind in ("sqlite", "postgresql"):
        r = results[kind]
        if "skipped" in r:
            continue
        passes += [
            r["load"]["readback"]["pass"],
            r["load"]["pass_errors"],
            r["races"]["pass"],
            r["pass_start"],
            r["pass_rss"],
        ]
    passes.append(results["sqlite"]["load"]["pass_throughput"])
    results["all_pass"] = all(passes)
    name = "server" + (f"-workers{args.workers}" if args.workers > 1 else "")
    output = args.output or RESULTS / (f"{name}-quick.json" if args.quick else f"{name}.json")
    output.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"results: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
