"""What ``benchmarks/server.py`` runs against: ``tweenlab serve`` as a subprocess (started,
timed, measured through ``/proc`` over its process tree), the generated video and track bodies,
and the world it sets up through the API (accounts with tokens, a project, the video ingested,
one started task per simulated annotator)."""

from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import httpx2 as httpx
import numpy as np
import psutil

PASSWORD = "benchmark password 1234"
TASK_SIZE = 50
KEYFRAMES = 10


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


def _tree_kb_mb(pid: int, source: str, field_name: str) -> float:
    """The kB figure ``field_name`` of ``/proc/<pid>/<source>``, summed over the process and
    its descendants, in MB."""
    total = 0.0
    for each in _tree(pid):
        for line in Path(f"/proc/{each}/{source}").read_text().splitlines():
            if line.startswith(field_name):
                total += int(line.split()[1]) / 1024
    return total or math.nan


def proc_status_mb(pid: int, field_name: str = "VmRSS:") -> float:
    """``VmRSS`` of a process and its descendants, in MB."""
    return _tree_kb_mb(pid, "status", field_name)


def tree_pss_mb(pid: int) -> float:
    """Proportional set size of a process and its descendants, in MB: each page shared by k
    processes counts 1/k in each, so the sum is what the tree takes from the machine (summed
    ``VmRSS`` counts the pages forked workers share with their parent once per process)."""
    return _tree_kb_mb(pid, "smaps_rollup", "Pss:")


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its live descendants (``/proc/<pid>/stat``)."""
    return sum(proc_cpu_by_process(pid).values())


def proc_cpu_by_process(pid: int) -> dict[int, float]:
    """User + system CPU seconds of a process and of each live descendant, by pid."""
    seconds = {}
    for each in _tree(pid):
        fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        seconds[each] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


@dataclass
class Server:
    """A running ``tweenlab serve``."""

    process: subprocess.Popen[bytes]
    base: str
    start_s: float
    idle_rss_mb: float
    idle_pss_mb: float

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
    env: dict[str, str],
    data: Path,
    timeout: float = 60.0,
    workers: int = 1,
    max_workers: int | None = None,
) -> Server:
    """Spawn ``tweenlab serve``, poll ``/api/health`` until 200; start-up time and idle RSS."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [*tweenlab_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers)]
    command += ["--max-workers", str(max_workers)] if max_workers is not None else []
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
    pid = process.pid
    return Server(process, base, start_s, proc_status_mb(pid), tree_pss_mb(pid))


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
