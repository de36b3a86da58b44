"""Media benchmark: index build, sequential read, random access and memory of ``tweenlab.media``.

The machine this runs on is shared and noisy, so every figure is measured next to a peer or a
physical limit in the same run, and the ratio is what the target is about:

1. Index build: ``build_index`` wall time on a 60 s 1080p video (median of 3), as a multiple of
   real time (target >= 50x), next to a bare PyAV demux loop over the same packets.
2. Sequential read: frames per second of ``VideoReader.read_range`` (RGB frames) against a bare
   PyAV decode loop (``thread_type="AUTO"``, ``to_ndarray(format="rgb24")``) over the same
   frames; the two alternate twice and the best of each counts (target ratio >= 0.9). Both
   loops release each 6 MB image before the next is made: a loop that keeps the previous one
   alive meanwhile makes glibc fault in fresh pages for most frames (about 1000 page faults,
   30% slower, at 1080p), but only some of the time, for PyAV and tweenlab alike, which would
   swing the ratio between 0.7 and 1.4 from one run to the next.
3. Random access to 200 seeded random frames, p50 / p95 in ms: a naive PyAV reader (seek to the
   frame's pts, decode until ``frame.pts >= pts``), tweenlab on the source (``cache_mb=0``) and
   tweenlab through a proxy written by ``write_proxy`` (timed). The three readers take turns
   on each frame, so load on the machine hits them alike. Targets: proxy p95 <= 50 ms and at
   least 10x faster than the naive p95. A few frames are also compared pixel for pixel with the
   naive decode, and the proxy's frames with the source's (PSNR).
4. Peak RSS of a subprocess reading every frame of a 1-hour 1080p video sequentially as RGB
   (target < 500 MB), with the RSS after imports alone and the decode fps.

Inputs are made at run time from the real clip ``../shared/data/clips/two-people-1080p.mp4``
(72 frames, 1080p): its frames, played forward then backward, are re-encoded with libx264
(yuv420p, veryfast, crf 23, a keyframe every 250 frames, B-frames allowed) into 1800 frames at
30 fps (60 s); the 1-hour video is that file's packets remuxed end to end (no re-encode). Both
are cached in the work directory, so later runs skip making them.

Run from the repository root::

    python benchmarks/media.py                # full run, about 15-25 minutes
    python benchmarks/media.py --quick        # smoke test: 0.05 hours, fewer frames
    python benchmarks/media.py --hours 0.5 --work /tmp/elsewhere

It prints a table and writes ``benchmarks/results/media.json`` (``media-quick.json`` with
``--quick``): one object per figure with the numbers, the target and ``pass``, plus the machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from media_table import print_table
from memory import current_rss_mb, peak_rss_mb
from remux import remux_copies
from report import machine_info as base_machine_info
from tweenlab.media import FrameIndex, VideoReader, build_index, write_proxy

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
CLIP = SHARED_DATA / "clips" / "two-people-1080p.mp4"
RESULTS = REPO / "benchmarks" / "results"

FPS = 30
GOP = 250
SOURCE_FRAMES = 1800  # 60 s at 30 fps
X264_OPTIONS = {
    "crf": "23",
    "preset": "veryfast",
    "x264-params": f"keyint={GOP}:min-keyint={GOP}:scenecut=0",
}
SEED = 1234
PROGRESS_EVERY = 10_000
READER_CACHE_MB = 256  # VideoReader's default

RGB = npt.NDArray[np.uint8]
Result = dict[str, Any]


@dataclass(frozen=True)
class Settings:
    """How much work each figure does."""

    quick: bool
    hours: float
    work: Path
    index_runs: int = 3
    sequential_frames: int = SOURCE_FRAMES
    sequential_rounds: int = 2
    random_frames: int = 200
    checked_frames: int = 8

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Settings:
        hours = args.hours if args.hours is not None else (0.05 if args.quick else 1.0)
        if args.quick:
            return cls(True, hours, args.work, sequential_frames=300, random_frames=40)
        return cls(False, hours, args.work)


def log(message: str) -> None:
    """Progress, on stderr (the table goes to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- inputs ------------------------------------------------------------------------------------


def ping_pong(count: int, total: int) -> list[int]:
    """``total`` frame numbers going 0..count-1 and back down, over and over."""
    cycle = list(range(count)) + list(range(count - 2, 0, -1))
    return [cycle[i % len(cycle)] for i in range(total)]


def decode_planes(path: Path) -> list[npt.NDArray[np.uint8]]:
    """Every frame of ``path`` as a yuv420p array (fresh frames carry no picture type)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_type = "AUTO"
        return [f.to_ndarray(format="yuv420p") for f in container.decode(stream)]


def make_source(work: Path) -> Path:
    """The 60 s 1080p H.264 video (GOP 250), encoded once from the real clip and cached."""
    target = work / f"two-people-pingpong-{SOURCE_FRAMES}f-gop{GOP}.mp4"
    if target.exists():
        return target
    log(f"encoding {target} from {CLIP.name} (once; about a minute)")
    planes = decode_planes(CLIP)
    height, width = planes[0].shape[0] * 2 // 3, planes[0].shape[1]
    partial = target.with_suffix(".partial.mp4")
    with av.open(str(partial), mode="w") as output:
        stream = output.add_stream("libx264", rate=FPS, options=X264_OPTIONS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i, n in enumerate(ping_pong(len(planes), SOURCE_FRAMES)):
            frame = av.VideoFrame.from_ndarray(planes[n], format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    partial.rename(target)
    return target


def make_long(source: Path, index: FrameIndex, hours: float, work: Path) -> tuple[Path, int]:
    """``source`` remuxed end to end (no re-encode) until it lasts ``hours``; cached."""
    repeats = math.ceil(hours * 3600 / duration_of(index))
    target = work / f"{source.stem}-x{repeats}.mp4"
    if target.exists():
        return target, repeats
    log(f"remuxing {repeats} copies of the source into {target}")
    span = int(index.pts[-1] - index.pts[0]) + int(np.median(np.diff(index.pts)))
    remux_copies(source, target, copies=repeats, span=span)
    return target, repeats


def duration_of(index: FrameIndex) -> float:
    """Seconds from the first frame's start to the last frame's end."""
    last = int(np.median(np.diff(index.pts))) if len(index) > 1 else 0
    return float((int(index.pts[-1]) - int(index.pts[0]) + last) * index.time_base)


def describe(path: Path, index: FrameIndex) -> Result:
    """What a generated input is, for the JSON."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        codec, width, height = stream.codec_context.name, stream.width, stream.height
        b_frames = bool(stream.codec_context.has_b_frames)
    gops = index.gop_lengths()
    return {
        "path": str(path),
        "codec": codec,
        "size": f"{width}x{height}",
        "frames": len(index),
        "duration_s": round(duration_of(index), 3),
        "keyframes": int(index.keyframe.sum()),
        "max_gop": int(gops.max()),
        "b_frames": b_frames,
        "bytes": path.stat().st_size,
    }


# -- 1. index build ----------------------------------------------------------------------------


def bare_demux_seconds(path: Path) -> float:
    """Wall time of a bare PyAV loop over the video packets (the floor for an index)."""
    start = time.perf_counter()
    with av.open(str(path)) as container:
        for _packet in container.demux(container.streams.video[0]):
            pass
    return time.perf_counter() - start


def bench_index(source: Path, runs: int) -> Result:
    """Figure 1: ``build_index`` time as a multiple of real time, next to a bare demux."""
    times, demux_times = [], []
    index = None
    for _ in range(runs):
        start = time.perf_counter()
        index = build_index(source)
        times.append(time.perf_counter() - start)
        demux_times.append(bare_demux_seconds(source))
    assert index is not None
    duration = duration_of(index)
    median, demux = statistics.median(times), statistics.median(demux_times)
    speed = duration / median
    return {
        "video_duration_s": round(duration, 3),
        "frames": len(index),
        "runs": runs,
        "build_index_s": [round(t, 4) for t in times],
        "median_s": round(median, 4),
        "speed_x_realtime": round(speed, 1),
        "peer_bare_demux_median_s": round(demux, 4),
        "overhead_vs_bare_demux": round(median / demux, 2),
        "target": "speed >= 50x real time",
        "pass": speed >= 50,
    }


# -- 2. sequential read ------------------------------------------------------------------------


def tweenlab_sequential(source: Path, index: FrameIndex, frames: int) -> float:
    """Frames per second of ``VideoReader.read_range(0, frames)`` (RGB), opening included."""
    start, count = time.perf_counter(), 0
    with VideoReader(source, index=index) as reader:
        for frame in reader.read_range(0, frames):
            count += 1
            del frame  # see the module docstring: each image is released before the next
    elapsed = time.perf_counter() - start
    assert count == frames, f"tweenlab read {count} of {frames} frames"
    return frames / elapsed


def pyav_sequential(source: Path, frames: int) -> float:
    """Frames per second of a bare PyAV decode loop converting to RGB, opening included."""
    start = time.perf_counter()
    count = 0
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_type = "AUTO"
        for frame in container.decode(stream):
            frame.to_ndarray(format="rgb24")  # dropped at once, like tweenlab's Frame
            count += 1
            if count >= frames:
                break
    elapsed = time.perf_counter() - start
    assert count == frames, f"PyAV decoded {count} of {frames} frames"
    return frames / elapsed


def minor_faults() -> int:
    """Page faults served without I/O so far (fresh pages for new memory, mostly)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def bench_sequential(source: Path, index: FrameIndex, frames: int, rounds: int) -> Result:
    """Figure 2: tweenlab against bare PyAV, alternating, best of each (with page faults)."""
    runs: dict[str, list[tuple[float, float]]] = {"pyav": [], "tweenlab": []}
    for round_ in range(rounds):
        log(f"sequential read, round {round_ + 1}/{rounds} ({frames} frames each)")
        for name, results in runs.items():
            before = minor_faults()
            if name == "pyav":
                fps = pyav_sequential(source, frames)
            else:
                fps = tweenlab_sequential(source, index, frames)
            results.append((round(fps, 1), round((minor_faults() - before) / frames, 1)))
    ours, peer = (max(fps for fps, _ in runs[name]) for name in ("tweenlab", "pyav"))
    ratio = ours / peer
    return {
        "frames": frames,
        "rounds": rounds,
        "tweenlab_fps": [fps for fps, _ in runs["tweenlab"]],
        "pyav_fps": [fps for fps, _ in runs["pyav"]],
        "tweenlab_page_faults_per_frame": [faults for _, faults in runs["tweenlab"]],
        "pyav_page_faults_per_frame": [faults for _, faults in runs["pyav"]],
        "tweenlab_best_fps": ours,
        "pyav_best_fps": peer,
        "ratio": round(ratio, 3),
        "target": "tweenlab / PyAV >= 0.9",
        "pass": ratio >= 0.9,
    }


# -- 3. random access --------------------------------------------------------------------------


class NaiveSeeker:
    """The naive peer: seek to frame n's pts (backward), decode until ``frame.pts >= pts``."""

    def __init__(self, path: Path, index: FrameIndex) -> None:
        self.index = index
        self.container = av.open(str(path))
        self.stream = self.container.streams.video[0]
        self.stream.codec_context.thread_type = "AUTO"
        self.misses: list[int] = []  # frames where it returned another frame

    def __call__(self, n: int) -> RGB:
        target = int(self.index.pts[n])
        self.container.seek(target, stream=self.stream, backward=True)
        for frame in self.container.decode(self.stream):
            if frame.pts is not None and frame.pts >= target:
                if frame.pts != target:
                    self.misses.append(n)
                return frame.to_ndarray(format="rgb24")  # type: ignore[no-any-return]
        raise RuntimeError(f"naive seek found no frame at or after {n}")

    def close(self) -> None:
        self.container.close()


def timed_proxy(source: Path, index: FrameIndex, work: Path) -> tuple[Path, Result]:
    """Write the proxy once, timed (never cached: writing it is part of the figure)."""
    target = work / "proxy.mp4"
    target.unlink(missing_ok=True)
    log("writing the proxy")
    start = time.perf_counter()
    proxy_index = write_proxy(source, target, index=index)
    elapsed = time.perf_counter() - start
    return target, {
        "write_s": round(elapsed, 2),
        "write_fps": round(len(index) / elapsed, 1),
        "bytes": target.stat().st_size,
        "max_gop": int(proxy_index.gop_lengths().max()),
    }


def time_accesses(
    readers: dict[str, Callable[[int], RGB]], frames: list[int], keep: set[int]
) -> tuple[dict[str, list[float]], dict[str, dict[int, RGB]]]:
    """Each reader in turn on each frame: seconds per access, and the images of ``keep``."""
    seconds: dict[str, list[float]] = {name: [] for name in readers}
    kept: dict[str, dict[int, RGB]] = {name: {} for name in readers}
    for i, n in enumerate(frames):
        for name, read in readers.items():
            start = time.perf_counter()
            image = read(n)
            seconds[name].append(time.perf_counter() - start)
            if n in keep:
                kept[name][n] = image
        if (i + 1) % 20 == 0:
            log(f"random access: {i + 1}/{len(frames)} frames")
    return seconds, kept


def psnr(a: RGB, b: RGB) -> float:
    """Peak signal-to-noise ratio of ``b`` against ``a``, in dB (inf when equal)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def pixel_check(kept: dict[str, dict[int, RGB]], misses: list[int]) -> Result:
    """tweenlab on the source against the naive decode; the proxy against the source."""
    frames = sorted(kept["naive"])
    equal = [n for n in frames if np.array_equal(kept["naive"][n], kept["source"][n])]
    psnrs = [psnr(kept["source"][n], kept["proxy"][n]) for n in frames]
    return {
        "frames": frames,
        "source_equal_naive": len(equal),
        "differing": [n for n in frames if n not in equal],
        "naive_wrong_frame_among_them": [n for n in frames if n in misses],
        "proxy_psnr_db_min": round(min(psnrs), 2),
        "pass": len(equal) == len(frames),
    }


def percentiles_ms(seconds: list[float]) -> Result:
    ms = np.array(seconds) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "mean_ms": round(float(ms.mean()), 2),
        "max_ms": round(float(ms.max()), 2),
    }


def bench_random(source: Path, index: FrameIndex, settings: Settings) -> Result:
    """Figure 3: naive PyAV, tweenlab on the source and tweenlab through the proxy."""
    proxy, proxy_info = timed_proxy(source, index, settings.work)
    frames = random.Random(SEED).sample(range(len(index)), settings.random_frames)
    naive = NaiveSeeker(source, index)
    with (
        VideoReader(source, index=index, cache_mb=0) as on_source,
        VideoReader(source, index=index, proxy=proxy, cache_mb=0) as on_proxy,
    ):
        readers = {"naive": naive, "source": on_source.__getitem__, "proxy": on_proxy.__getitem__}
        seconds, kept = time_accesses(readers, frames, set(frames[: settings.checked_frames]))
    naive.close()
    stats = {name: percentiles_ms(values) for name, values in seconds.items()}
    proxy_p95, naive_p95 = stats["proxy"]["p95_ms"], stats["naive"]["p95_ms"]
    speedup = naive_p95 / proxy_p95
    return {
        "frames": len(frames),
        "seed": SEED,
        "naive_pyav_source": stats["naive"] | {"wrong_frames": sorted(naive.misses)},
        "tweenlab_source": stats["source"],
        "tweenlab_proxy": stats["proxy"],
        "proxy": proxy_info,
        "proxy_p95_speedup_vs_naive": round(speedup, 1),
        "pixel_check": pixel_check(kept, naive.misses),
        "target": "proxy p95 <= 50 ms and >= 10x faster than naive p95",
        "pass": proxy_p95 <= 50 and speedup >= 10,
    }


# -- 4. peak RSS -------------------------------------------------------------------------------


def rss_child(path: Path) -> None:
    """In a subprocess: index ``path``, read every frame as RGB, print one JSON line."""
    imports = current_rss_mb(), peak_rss_mb()
    start = time.perf_counter()
    index = build_index(path)
    index_s = time.perf_counter() - start
    after_index = current_rss_mb()
    count, start = 0, time.perf_counter()
    with VideoReader(path, index=index, cache_mb=READER_CACHE_MB) as reader:
        for frame in reader.read_range(0, len(reader)):
            count += 1
            if count % PROGRESS_EVERY == 0:
                fps = count / (time.perf_counter() - start)
                log(
                    f"  child: {count}/{len(index)} frames ({frame.image.shape[1]}x"
                    f"{frame.image.shape[0]}), {fps:.1f} fps, RSS {current_rss_mb():.0f} MB, "
                    f"peak {peak_rss_mb():.0f} MB"
                )
    elapsed = time.perf_counter() - start
    result = {
        "frames": count,
        "index_frames": len(index),
        "duration_s": round(duration_of(index), 1),
        "index_build_s": round(index_s, 2),
        "rss_after_imports_mb": round(imports[0], 1),
        "peak_after_imports_mb": round(imports[1], 1),
        "rss_after_index_mb": round(after_index, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "read_s": round(elapsed, 1),
        "decode_fps": round(count / elapsed, 1),
        "reader_cache_mb": READER_CACHE_MB,
    }
    print(json.dumps(result), flush=True)


def bench_rss(long_video: Path, repeats: int) -> Result:
    """Figure 4: the child's peak RSS over a sequential read of the long video."""
    log(f"peak RSS: reading every frame of {long_video.name} in a subprocess (minutes)")
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--rss-child", str(long_video)],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    child = json.loads(done.stdout.strip().splitlines()[-1])
    assert child["frames"] == child["index_frames"], "the reader skipped frames"
    return {
        "video": str(long_video),
        "repeats_of_source": repeats,
        "bytes": long_video.stat().st_size,
        **child,
        "index_speed_x_realtime": round(child["duration_s"] / child["index_build_s"], 1),
        "target": "peak RSS < 500 MB",
        "pass": child["peak_rss_mb"] < 500,
    }


# -- report ------------------------------------------------------------------------------------


def machine_info() -> Result:
    """What the figures were measured on."""
    return base_machine_info(
        av=av.__version__,
        libavcodec=".".join(str(v) for v in av.library_versions["libavcodec"]),
        numpy=np.__version__,
    )


def run(settings: Settings) -> Result:
    """Make the inputs and measure the four figures."""
    settings.work.mkdir(parents=True, exist_ok=True)
    results: Result = {"mode": "quick" if settings.quick else "full", "machine": machine_info()}
    source = make_source(settings.work)
    index = build_index(source)
    long_video, repeats = make_long(source, index, settings.hours, settings.work)
    results["inputs"] = {"source": describe(source, index), "clip": str(CLIP)}
    log("index build")
    results["index_build"] = bench_index(source, settings.index_runs)
    results["sequential"] = bench_sequential(
        source, index, settings.sequential_frames, settings.sequential_rounds
    )
    results["random_access"] = bench_random(source, index, settings)
    results["rss"] = bench_rss(long_video, repeats)
    results["machine"]["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    results["all_pass"] = all(
        results[k]["pass"] for k in ("index_build", "sequential", "random_access", "rss")
    )
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke test: 0.05 h, fewer frames")
    parser.add_argument("--hours", type=float, default=None, help="long video length (1.0)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/tweenlab-bench"))
    parser.add_argument("--rss-child", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.rss_child is not None:
        rss_child(args.rss_child)
        return 0
    if not CLIP.is_file():
        print(
            f"error: the real clip {CLIP} is missing; this benchmark needs ../shared/data "
            "(next to the repository) with clips/two-people-1080p.mp4",
            file=sys.stderr,
        )
        return 1
    settings = Settings.from_args(args)
    results = run(settings)
    RESULTS.mkdir(parents=True, exist_ok=True)
    output = RESULTS / ("media-quick.json" if settings.quick else "media.json")
    output.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"results: {output.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
