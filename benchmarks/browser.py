"""Browser benchmark: how fast the editor gets exactly frame n, in headless Chromium.

What an annotator feels is the time from pressing "next frame" (or jumping to a frame) to that
frame being on screen, and whether it is the right frame. So a minimal page
(``browser_page.html``) uses ``FrameSource`` (``web/frames.js``) exactly as the editor does: a
canvas and a key handler that, on a key press, marks the press (the event's own time stamp),
awaits ``source.frame(n)``, draws it, calls ``source.prefetch(n, direction)`` and marks "painted"
in the next ``requestAnimationFrame`` callback. The figures are that interval, p50 / p95 (the
page is painted at 60 Hz, so 0-17 ms of every figure is waiting for the next animation frame: the
floor of any way of getting pixels).

1. Input: a 1920x1080, 25 fps H.264 clip with a keyframe every 250 frames and B-frames (libx264
   veryfast), made at run time: a smooth random texture panning under a moving square, so it does
   not compress to nothing (about 2 Mbit/s), with each frame's index stamped in a band of 16
   black/white cells at the top. ``tweenlab``'s server (``create_app``, in this process, uvicorn
   on a loopback port, SQLite) registers it from its media root and ingests it, which writes the
   annotation proxy (GOP 8, no B-frames) that both ways of ``FrameSource`` read.
2. For each way of getting frames, a fresh browser context (its own renderer process) signs in,
   then: ``--presses`` next-frame key presses from a random start (real key events through the
   DevTools protocol, one every 40 ms, as a held key repeats at about 25/s, or as soon as the
   last frame was painted if that took longer), 100 previous-frame presses, then ``--jumps``
   random jumps (300 ms apart). After each frame is painted its stamp is read from the canvas:
   every wrong frame is counted.
3. Ways measured: ``webcodecs`` (the proxy's chunks decoded in a worker), ``images`` (the
   server decodes each frame and sends a JPEG) and the peer: an HTML ``<video>`` element that
   seeks by ``currentTime = n / fps`` and paints on ``seeked``, what peers with a video element
   do; on the source itself (long GOPs, fewer presses: each seek decodes from the keyframe) and
   on the proxy.
4. Memory: the renderer process's RSS (``/proc``; its pid from the DevTools
   ``SystemInfo.getProcessInfo``) at its peak during the walk (read every 20 ms), right after
   it and again after 10 s idle; the GPU process's RSS and the JS heap
   (``Performance.getMetrics``; ``performance.measureUserAgentSpecificMemory`` needs cross-origin
   isolation, which the app does not have). The target is held to the peak. Nothing
   ``FrameSource`` keeps grows with the video: decoded frames are held by a byte budget (64 MB),
   encoded chunks by another (8 MB), and the WebCodecs worker, with its garbage, is replaced
   after 32 MB of chunks and let go after 5 s with nothing to decode (``--frames 15000`` runs
   the target's 10-minute clip; measured, its peak was within 5 MB of the 2-minute one's). The
   figure is an upper bound of a user's tab: Playwright enables DevTools' Network domain on the
   page and its workers, and Chromium then keeps the responses' bodies in the renderer (up to
   200 MB) for the debugger.
5. Floor: the server's own time for a frame, ``GET .../frames/n`` from Python over loopback
   (decode + JPEG encode), and ``GET .../chunks/k`` of its chunk (no decoding), for as many other
   random frames as there are jumps.

Targets (issue 7): next frame p95 <= 50 ms, random jump p95 <= 150 ms, tab memory < 500 MB for
a 10-minute 1080p video. The machine is shared (2 cores): its load average is recorded.

Run from the repository root::

    python benchmarks/browser.py            # 3000 frames (2 min), 300 presses, 50 jumps
    python benchmarks/browser.py --quick    # 500 frames, 60 presses, 15 jumps

It prints a table and writes ``benchmarks/results/browser.json`` (``browser-quick.json`` with
``--quick``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import httpx2 as httpx
import numpy as np
from PIL import Image

from browser_memory import PeakSampler, memory, processes
from report import git, verdict

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
CHROMIUM = os.environ.get("TWEENLAB_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
WIDTH, HEIGHT, FPS, GOP = 1920, 1080, 25, 250
CELL_W, CELL_H, BITS = 96, 48, 16  # the stamp: 16 cells of 96x48 px along the top
PASSWORD = "benchmark password 1234"
PRESS_MS = 40
BACK_PRESSES = 100
JUMP_PAUSE_S = 0.3
IDLE_S = 10.0
TARGET_STEP_P95_MS = 50.0
TARGET_JUMP_P95_MS = 150.0
TARGET_TAB_MB = 500.0

Result = dict[str, Any]


def log(message: str) -> None:
    """Progress, on stderr (the table goes to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else math.nan


# -- the clip ----------------------------------------------------------------------------------


def make_clip(path: Path, frames: int) -> Path:
    """The 1080p test clip (see the module docstring); kept in the work folder between runs."""
    if path.is_file():
        return path
    log(f"encoding {frames} frames of 1080p (GOP {GOP}, B-frames) to {path}")
    rng = np.random.default_rng(7)
    small = rng.integers(0, 256, (140, 240, 3), dtype=np.uint8)
    texture = np.asarray(Image.fromarray(small).resize((2400, 1400), Image.Resampling.BICUBIC))
    partial = path.with_suffix(".part.mp4")
    with av.open(str(partial), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.time_base = Fraction(1, FPS)
        stream.codec_context.options = {
            "preset": "veryfast",
            "crf": "23",
            "bf": "2",
            "x264-params": f"keyint={GOP}:min-keyint={GOP}:scenecut=0",
        }
        for i in range(frames):
            x, y = (i * 3) % 480, (i * 2) % 320
            image = texture[y : y + HEIGHT, x : x + WIDTH].copy()
            sx, sy = 200 + (i * 7) % 1500, 300 + (i * 5) % 700
            image[sy : sy + 120, sx : sx + 120] = (250, 240, 40)
            stamp_band(image, i)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    partial.rename(path)
    return path


def stamp_band(image: np.ndarray, index: int) -> None:
    """Draw ``index`` as 16 black/white cells along the top of ``image`` (most significant
    bit first); the page reads them back from its canvas (``STAMP_JS``)."""
    for bit in range(BITS):
        on = (index >> (BITS - 1 - bit)) & 1
        image[:CELL_H, bit * CELL_W : (bit + 1) * CELL_W] = 255 if on else 0


# -- the server --------------------------------------------------------------------------------


@dataclass
class Served:
    """The running server and what the page needs to know."""

    base: str
    project: int
    video: dict[str, Any]
    proxy: Path
    headers: dict[str, str]
    stop: Any


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(work: Path, clip: Path) -> Served:
    """``create_app`` under uvicorn on loopback; the clip registered, ingested (with a proxy);
    the bench page and the clip's files mounted at ``/bench``."""
    import uvicorn
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    from tweenlab.media import DerivedFiles
    from tweenlab.server.app import create_app
    from tweenlab.services import accounts
    from tweenlab.settings import Settings
    from tweenlab.store import Database, upgrade

    data = Path(tempfile.mkdtemp(prefix="tweenlab-browser-", dir=work))
    settings = Settings(
        data_dir=data,
        media_root=clip.parent,
        job_workers=1,
        ingest_keyframes=False,
        argon2_memory_kib=64,
        argon2_time_cost=1,
    )
    upgrade(settings.database)
    with Database(settings.database) as database, database.session() as db:
        user = accounts.create_user(db, settings, "bench@example.com", PASSWORD, admin=True)
        _, secret = accounts.create_token(db, user, "bench")
    headers = {"Authorization": f"Bearer {secret}"}
    page_dir = data / "page"
    page_dir.mkdir()
    shutil.copy(PAGE, page_dir / "index.html")
    app = create_app(settings)
    files = StaticFiles(directory=page_dir, follow_symlink=True)
    app.router.routes.insert(0, Mount("/bench", files))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name="bench-server", daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=f"{base}/api", headers=headers, timeout=600) as api:
        project = api.post("/projects", json={"name": "browser"}).json()["id"]
        answer = api.post(f"/projects/{project}/videos/register", json={"path": clip.name})
        video = answer.json()
        started = time.perf_counter()
        while (job := api.get(f"/jobs/{video['ingest_job_id']}").json())["state"] not in {
            "succeeded",
            "failed",
            "cancelled",
        }:
            time.sleep(0.5)
        if job["state"] != "succeeded":
            raise RuntimeError(f"ingest {job['state']}: {job}")
        log(f"ingest (index + proxy) took {time.perf_counter() - started:.1f} s")
        video = api.get(f"/projects/{project}/videos/{video['id']}").json()
    proxy = DerivedFiles(settings.derived_dir).proxy_path(clip)
    for name, file in (("source.mp4", clip), ("proxy.mp4", proxy)):
        (page_dir / name).symlink_to(file)

    def stop() -> None:
        server.should_exit = True
        thread.join(30)
        shutil.rmtree(data, ignore_errors=True)

    return Served(base, project, video, proxy, headers, stop)


# -- the page ----------------------------------------------------------------------------------

PAGE = Path(__file__).with_name("browser_page.html")  # the page, served at /bench/index.html


# -- one way of getting frames -----------------------------------------------------------------


def summary(samples: list[Result]) -> Result:
    times = [s["ms"] for s in samples]
    return {
        "count": len(samples),
        "p50_ms": round(percentile(times, 50), 1),
        "p95_ms": round(percentile(times, 95), 1),
        "max_ms": round(max(times), 1) if times else math.nan,
        "wrong_frames": sum(1 for s in samples if s["stamp"] != s["n"]),
        "wrong_examples": [[s["n"], s["stamp"]] for s in samples if s["stamp"] != s["n"]][:5],
    }


def press(page: Any, key: str, count: int) -> list[Result]:
    """``count`` key presses, one every ``PRESS_MS`` or as soon as the last frame is painted."""
    for _ in range(count):
        started = time.perf_counter()
        page.keyboard.press(key)
        page.evaluate("bench.settled()")
        rest = PRESS_MS / 1000 - (time.perf_counter() - started)
        if rest > 0:
            time.sleep(rest)
    return list(page.evaluate("bench.take()"))


def run_way(browser: Any, served: Served, way: str, plan: Result) -> Result:
    """One way of getting frames in a fresh context: presses, jumps, memory, wrong frames."""
    context = browser.new_context(base_url=served.base, viewport={"width": 1000, "height": 600})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/bench/index.html")
    video = served.video
    options = {
        "way": way,
        "email": "bench@example.com",
        "password": PASSWORD,
        "fps": FPS,
        "frameCount": video["frame_count"],
        "width": video["width"],
        "height": video["height"],
        "video": {
            "projectId": served.project,
            "videoId": video["id"],
            "frameCount": video["frame_count"],
            "width": video["width"],
            "height": video["height"],
        },
    }
    taken = page.evaluate("o => bench.open(o)", options)
    renderers = processes(browser.new_browser_cdp_session()).get("renderer", [])
    started = time.perf_counter()
    with PeakSampler(renderers) as peak:
        page.evaluate("n => bench.start(n)", plan["start"])
        forward = press(page, "ArrowRight", plan["presses"])
        backward = press(page, "ArrowLeft", plan["back"])
        jumps = []
        for n in plan["jumps"]:
            jumps.append(page.evaluate("n => bench.jump(n)", n))
            time.sleep(JUMP_PAUSE_S)
        walked = time.perf_counter() - started
        time.sleep(1.0)
    result = {
        "way": way,
        "decoder_taken": taken,
        "next_frame": summary(forward),
        "previous_frame": summary(backward),
        "random_jump": summary(jumps),
        "walk_s": round(walked, 1),
        "memory": memory(page, browser.new_browser_cdp_session()),
        "memory_peak": {
            "renderer_rss_mb": round(peak.mb, 1),
            "renderer_anon_mb": round(peak.anon_mb, 1),
        },
        "frame_source": page.evaluate("bench.stats()"),
        "page_errors": errors,
    }
    time.sleep(IDLE_S)  # garbage (frames, buffers) is collected some time after the walk
    result["memory_idle"] = memory(page, browser.new_browser_cdp_session())
    context.close()
    return result


def server_floor(served: Served, frames: list[int]) -> Result:
    """The server's own time for the same kind of frames: JPEG (decode + encode) and chunk."""
    video = served.video
    url = f"{served.base}/api/projects/{served.project}/videos/{video['id']}"
    with httpx.Client(headers=served.headers, timeout=60) as client:
        starts = client.get(f"{url}/codec").json()["chunk_starts"]
        jpeg, chunk, sizes = [], [], []
        for n in frames:
            t0 = time.perf_counter()
            answer = client.get(f"{url}/frames/{n}")
            jpeg.append((time.perf_counter() - t0) * 1000)
            sizes.append(len(answer.content))
            k = int(np.searchsorted(starts, n, side="right")) - 1
            t0 = time.perf_counter()
            client.get(f"{url}/chunks/{k}")
            chunk.append((time.perf_counter() - t0) * 1000)
    return {
        "frames": len(frames),
        "jpeg_p50_ms": round(percentile(jpeg, 50), 1),
        "jpeg_p95_ms": round(percentile(jpeg, 95), 1),
        "jpeg_kb": round(float(np.mean(sizes)) / 1024, 1),
        "chunk_p50_ms": round(percentile(chunk, 50), 1),
        "chunk_p95_ms": round(percentile(chunk, 95), 1),
        "proxy_gop": int(np.max(np.diff(starts))) if len(starts) > 1 else len(starts),
    }


# -- the run -----------------------------------------------------------------------------------


def plan_for(frame_count: int, presses: int, jumps: int, seed: int) -> Result:
    rng = random.Random(seed)
    start = rng.randrange(0, max(1, frame_count - presses - 1))
    return {
        "start": start,
        "presses": presses,
        "back": min(BACK_PRESSES, presses),
        "jumps": [rng.randrange(frame_count) for _ in range(jumps)],
    }


def machine() -> Result:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "load_average_start": [round(v, 2) for v in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "chromium": CHROMIUM,
        "tweenlab_commit": git("rev-parse", "--short", "HEAD"),
    }


def run(args: argparse.Namespace) -> Result:
    from playwright.sync_api import sync_playwright

    frames = 500 if args.quick else args.frames
    presses = 60 if args.quick else args.presses
    jumps = 15 if args.quick else args.jumps
    args.work.mkdir(parents=True, exist_ok=True)
    results: Result = {"machine": machine()}
    t0 = time.perf_counter()
    clip = make_clip(args.work / f"browser-1080p-{frames}f-gop{GOP}.mp4", frames)
    results["clip"] = {
        "frames": frames,
        "seconds": frames / FPS,
        "size": f"{WIDTH}x{HEIGHT}",
        "gop": GOP,
        "b_frames": 2,
        "mbit_per_s": round(clip.stat().st_size * 8 / (frames / FPS) / 1e6, 2),
        "made_s": round(time.perf_counter() - t0, 1),
    }
    served = serve(args.work, clip)
    try:
        plan = plan_for(served.video["frame_count"], presses, jumps, args.seed)
        floor_frames = random.Random(args.seed + 1).sample(range(frames), min(jumps, frames))
        results["server_floor"] = server_floor(served, floor_frames)
        log(f"server floor {results['server_floor']}")
        results["plan"] = {k: v for k, v in plan.items() if k != "jumps"} | {"jumps": jumps}
        ways = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            results["machine"]["chromium_version"] = browser.version
            for way in args.ways:
                few = way == "video-source"  # every seek decodes from a keyframe 250 frames away
                way_plan = plan | (
                    {"presses": min(presses, 40), "back": 10, "jumps": plan["jumps"][:10]}
                    if few
                    else {}
                )
                log(
                    f"{way}: {way_plan['presses']} + {way_plan['back']} presses, "
                    f"{len(way_plan['jumps'])} jumps"
                )
                ways.append(run_way(browser, served, way, way_plan))
                log(f"{way}: {ways[-1]['next_frame']} {ways[-1]['random_jump']}")
            browser.close()
        results["ways"] = ways
    finally:
        served.stop()
    results["machine"]["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    results["targets"] = targets(results)
    return results


def tab_mb(way: Result) -> float:
    """The tab's memory held to the target: its renderer's RSS at the highest of the walk (or
    right after it, if higher)."""
    return float(max(way["memory_peak"]["renderer_rss_mb"], way["memory"]["renderer_rss_mb"]))


def targets(results: Result) -> Result:
    by_way = {w["way"]: w for w in results["ways"]}
    best = by_way.get("auto") or by_way.get("webcodecs") or next(iter(by_way.values()))
    tab = tab_mb(best)
    return {
        "way": best["way"],
        "next_frame_p95_ms": [best["next_frame"]["p95_ms"], TARGET_STEP_P95_MS],
        "random_jump_p95_ms": [best["random_jump"]["p95_ms"], TARGET_JUMP_P95_MS],
        "tab_mb": [tab, TARGET_TAB_MB],
        "pass": {
            "next_frame": best["next_frame"]["p95_ms"] <= TARGET_STEP_P95_MS,
            "random_jump": best["random_jump"]["p95_ms"] <= TARGET_JUMP_P95_MS,
            "tab_memory": tab < TARGET_TAB_MB,
            "exact": all(
                best[kind]["wrong_frames"] == 0
                for kind in ("next_frame", "previous_frame", "random_jump")
            ),
        },
    }


def print_table(results: Result) -> None:
    clip, floor = results["clip"], results["server_floor"]
    print(
        f"\nclip: {clip['frames']} frames ({clip['seconds']:.0f} s) {clip['size']}, GOP "
        f"{clip['gop']}, B-frames, {clip['mbit_per_s']} Mbit/s; proxy GOP {floor['proxy_gop']}"
    )
    head = (
        "| way | next frame p50 / p95 | previous p50 / p95 | jump p50 / p95 | wrong "
        "| tab RSS: peak, after the walk, idle |"
    )
    print(head)
    print("|---|---|---|---|---|---|")
    for way in results["ways"]:
        step, back, jump = way["next_frame"], way["previous_frame"], way["random_jump"]
        wrong = step["wrong_frames"] + back["wrong_frames"] + jump["wrong_frames"]
        count = step["count"] + back["count"] + jump["count"]
        print(
            f"| {way['way']} | {step['p50_ms']} / {step['p95_ms']} ms | {back['p50_ms']} / "
            f"{back['p95_ms']} ms | {jump['p50_ms']} / {jump['p95_ms']} ms | {wrong} of {count} "
            f"| {way['memory_peak']['renderer_rss_mb']}, {way['memory']['renderer_rss_mb']}, "
            f"{way['memory_idle']['renderer_rss_mb']} MB (GPU process "
            f"{way['memory']['gpu_process_rss_mb']} MB) |"
        )
    print(
        f"| server alone (floor) | | | JPEG {floor['jpeg_p50_ms']} / {floor['jpeg_p95_ms']} ms "
        f"({floor['jpeg_kb']} KB), chunk {floor['chunk_p50_ms']} / {floor['chunk_p95_ms']} ms "
        "| | |"
    )
    goal = results["targets"]
    print(
        f"\ntargets ({goal['way']}): next frame p95 {goal['next_frame_p95_ms'][0]} <= "
        f"{TARGET_STEP_P95_MS:.0f} ms {verdict(goal['pass']['next_frame'])}; jump p95 "
        f"{goal['random_jump_p95_ms'][0]} <= {TARGET_JUMP_P95_MS:.0f} ms "
        f"{verdict(goal['pass']['random_jump'])}; tab {goal['tab_mb'][0]} < "
        f"{TARGET_TAB_MB:.0f} MB {verdict(goal['pass']['tab_memory'])}; exact "
        f"{verdict(goal['pass']['exact'])}"
    )
    print(
        f"load average {results['machine']['load_average_start']} -> "
        f"{results['machine']['load_average_end']} on {results['machine']['cpu_count']} cores"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="500 frames, 60 presses, 15 jumps")
    parser.add_argument("--frames", type=int, default=3000, help="frames in the clip (25 fps)")
    parser.add_argument("--presses", type=int, default=300)
    parser.add_argument("--jumps", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--ways",
        nargs="+",
        default=["webcodecs", "images", "video-proxy", "video-source"],
        choices=["webcodecs", "images", "auto", "video-proxy", "video-source"],
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/tweenlab-bench-browser"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = run(args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    output = RESULTS / ("browser-quick.json" if args.quick else "browser.json")
    output.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"results: {output.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
