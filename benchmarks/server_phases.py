"""The measured phases of ``benchmarks/server.py``: simulated annotators under load (saves,
frames, latency, server CPU, every acknowledged write read back), one client alone, and races of
two writers on one track from the same base revision."""

from __future__ import annotations

import math
import resource
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx2 as httpx

from light_http import LightClient
from server_world import (
    World,
    check,
    percentile,
    proc_cpu_by_process,
    proc_cpu_s,
    track_body,
)

UPDATES_PER_TRACK = 2
TARGET_SAVES_PER_S = 300.0
TARGET_P99_MS = 100.0

Result = dict[str, Any]


# -- load --------------------------------------------------------------------------------------


@dataclass
class ClientLog:
    """One simulated annotator's measurements and acknowledged writes."""

    save_ms: list[float] = field(default_factory=list)
    frame_ms: list[float] = field(default_factory=list)
    load_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    acknowledged: dict[int, tuple[int, Any]] = field(default_factory=dict)  # number -> (rev, track)


def annotator(  # noqa: PLR0917
    base: str,
    world: World,
    index: int,
    stop_at: float,
    out: ClientLog,
    client: str = "light",
    first_track: int = 1,
) -> None:
    """Load the task, then loop: read a frame, save a track (create, then updates), read a frame.

    ``client``: ``light`` (``light_http.LightClient``) or ``httpx``; tracks are numbered from
    ``first_track`` (a second load on the same tasks starts where the first cannot have reached).
    """
    task = world.tasks[index]
    url = f"/api/projects/{world.project}/tasks/{task['id']}"
    frames_url = f"/api/projects/{world.project}/videos/{world.video}/frames"
    start, stop = int(task["start"]), int(task["stop"])
    headers = world.annotators[index]
    c: Any = (
        LightClient(base, headers=headers, timeout=30)
        if client == "light"
        else httpx.Client(base_url=base, headers=headers, timeout=30)
    )
    with c:

        def timed(method: str, path: str, sink: list[float], **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                answer = c.request(method, path, **kwargs)
            except (httpx.HTTPError, OSError) as error:
                out.errors.append(f"{method} {path}: {type(error).__name__}")
                return None
            sink.append((time.perf_counter() - t0) * 1000)
            if answer.status_code != 200:
                out.errors.append(f"{method} {path}: {answer.status_code} {answer.text[:120]}")
                return None
            return answer

        timed("GET", url, out.load_ms)
        timed("GET", f"{url}/annotations", out.load_ms)
        number, revision, step, looked = first_track, 0, 0, start
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


def run_load(  # noqa: PLR0917
    base: str,
    pid: int,
    world: World,
    clients: int,
    duration: float,
    client: str = "light",
    first_track: int = 1,
) -> Result:
    logs = [ClientLog() for _ in range(clients)]
    by_process0 = proc_cpu_by_process(pid)
    cpu0, self0, t0 = proc_cpu_s(pid), resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    stop_at = t0 + duration
    threads = [
        threading.Thread(
            target=annotator,
            args=(base, world, i, stop_at, logs[i], client, first_track),
        )
        for i in range(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    server_cpu = proc_cpu_s(pid) - cpu0
    by_process = {
        each: seconds - by_process0.get(each, 0.0)
        for each, seconds in proc_cpu_by_process(pid).items()
    }
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
        "client": client,
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
        # by pid: serve first, then its workers or helpers (and job processes)
        "server_cpu_by_process_s": [round(by_process[each], 2) for each in sorted(by_process)],
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
