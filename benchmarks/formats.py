"""Formats benchmark: exporting one million boxes to COCO, MOT and CVAT video XML.

1,000 box tracks over 1,000 frames of a 1080p video, keyframes every 10 frames (each track moves
on its own smooth path), so every export interpolates one million boxes. Each export runs in its
own subprocess, so its peak RSS (VmHWM, see ``memory.py``) is its own; no frame images are
written. In the same run datumaro (the converter CVAT is built on) exports the same million
boxes, built as a ``datumaro.Dataset`` of 1,000 items, to its ``coco_instances``,
``mot_seq_gt`` and ``cvat`` formats: the peer. Targets: <= 10 s and < 1 GB per format for tweenlab.

Run from the repository root::

    python benchmarks/formats.py            # about 2-5 minutes
    python benchmarks/formats.py --quick    # 100 tracks x 200 frames

It prints a table and writes ``benchmarks/results/formats.json`` (``formats-quick.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from memory import peak_rss_mb

RESULTS = Path(__file__).resolve().parent / "results"
FORMATS = {"coco": "coco_instances", "mot": "mot_seq_gt", "cvat_video": "cvat"}
TARGET_SECONDS, TARGET_MB = 10.0, 1024.0


def boxes_for(tracks: int, frames: int, seed: int = 0) -> np.ndarray:
    """Key boxes ``(tracks, keyframes, 4)`` on frames 0, 10, 20, ... (smooth random paths)."""
    rng = np.random.default_rng(seed)
    keys = np.arange(0, frames, 10)
    phase = rng.uniform(0, 2 * np.pi, (tracks, 2))
    centre = rng.uniform([200, 150], [1720, 930], (tracks, 2))
    t = keys[None, :, None] / frames * 2 * np.pi
    xy = centre[:, None, :] + 150 * np.sin(t + phase[:, None, :])
    size = rng.uniform(20, 120, (tracks, 1, 2)) * (1 + 0.2 * np.sin(t))
    return np.concatenate([xy - size / 2, size], axis=2)


def build_annotations(tracks: int, frames: int) -> Any:
    """The benchmark's ``AnnotationSet``."""
    from tweenlab.core import AnnotationSet, Box, Keyframe, Schema, Track, VideoRef

    video = VideoRef("bench.mp4", frames, 1920, 1080, Fraction(30))
    keys = boxes_for(tracks, frames)
    made = {}
    for i in range(tracks):
        keyframes = {10 * k: Keyframe(Box(*keys[i, k])) for k in range(keys.shape[1])}
        made[i + 1] = Track(i + 1, "car" if i % 3 else "person", keyframes)
    return AnnotationSet(video, Schema.of("car", "person"), made)


def child_tweenlab(name: str, tracks: int, frames: int, out: Path) -> dict[str, float]:
    """Export with tweenlab in this (child) process."""
    from tweenlab.formats import ExportOptions
    from tweenlab.services.annotations import export_annotations
    from tweenlab.settings import Settings

    annotations = build_annotations(tracks, frames)
    before = peak_rss_mb()
    started = time.perf_counter()
    export_annotations(
        annotations, out, name, ExportOptions(frames="all"), Settings(data_dir=out.parent / "data")
    )
    return {
        "seconds": time.perf_counter() - started,
        "peak_rss_mb": peak_rss_mb(),
        "rss_before_export_mb": before,
        "bytes": _size(out),
    }


def child_datumaro(name: str, tracks: int, frames: int, out: Path) -> dict[str, float]:
    """Build the same boxes as a datumaro Dataset and export them (the peer)."""
    import datumaro as dm

    keys = boxes_for(tracks, frames)
    key_frames = np.arange(0, frames, 10)
    dense = np.stack(
        [
            np.stack(
                [np.interp(np.arange(frames), key_frames, keys[i, :, c]) for c in range(4)], axis=1
            )
            for i in range(tracks)
        ]
    )
    before = peak_rss_mb()
    started = time.perf_counter()
    items = [
        dm.DatasetItem(
            id=f"frame_{f:06d}",
            attributes={"frame": f},
            media=dm.Image.from_file(path=f"frame_{f:06d}.jpg", size=(1080, 1920)),
            annotations=[
                dm.Bbox(
                    *dense[i, f],
                    label=int(i % 3 != 0),
                    id=i + 1,
                    attributes={"track_id": i, "keyframe": f % 10 == 0, "occluded": False},
                )
                for i in range(tracks)
            ],
        )
        for f in range(frames)
    ]
    dataset = dm.Dataset.from_iterable(items, categories=["person", "car"], media_type=dm.Image)
    dataset.export(str(out), FORMATS[name], save_media=False)
    return {
        "seconds": time.perf_counter() - started,
        "peak_rss_mb": peak_rss_mb(),
        "rss_before_export_mb": before,
        "bytes": _size(out),
    }


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def run_child(tool: str, name: str, tracks: int, frames: int, work: Path) -> dict[str, Any]:
    """Run one export in a fresh interpreter and return its measurements."""
    out = work / f"{tool}-{name}"
    command = [sys.executable, __file__, "--child", tool, name, str(tracks), str(frames), str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def run(tracks: int, frames: int) -> dict[str, Any]:
    """Every format, tweenlab then datumaro, each in its own subprocess."""
    results: dict[str, Any] = {
        "tracks": tracks,
        "frames": frames,
        "boxes": tracks * frames,
        "formats": {},
    }
    with tempfile.TemporaryDirectory(prefix="tw-formats-") as work:
        for name in FORMATS:
            print(f"[{time.strftime('%H:%M:%S')}] {name}", file=sys.stderr, flush=True)
            ours = run_child("tweenlab", name, tracks, frames, Path(work))
            peer = run_child("datumaro", name, tracks, frames, Path(work))
            passed = (
                "error" not in ours
                and ours["seconds"] <= TARGET_SECONDS
                and (ours["peak_rss_mb"] < TARGET_MB)
            )
            results["formats"][name] = {"tweenlab": ours, "datumaro": peer, "pass": passed}
    results["all_pass"] = all(r["pass"] for r in results["formats"].values())
    return results


def print_table(results: dict[str, Any]) -> None:
    """The results as a plain table."""
    print(f"{results['boxes']:,} boxes ({results['tracks']} tracks x {results['frames']} frames)")
    print(f"{'format':<11} {'tweenlab s':>10} {'MB':>7} {'datumaro s':>10} {'MB':>7}  target")
    for name, row in results["formats"].items():
        ours, peer = row["tweenlab"], row["datumaro"]
        cells = [
            f"{r.get('seconds', float('nan')):>10.2f} {r.get('peak_rss_mb', float('nan')):>7.0f}"
            for r in (ours, peer)
        ]
        print(
            f"{name:<11} {cells[0]} {cells[1]}  {'PASS' if row['pass'] else 'FAIL'}"
            f"{'  ' + ours['error'] if 'error' in ours else ''}"
        )


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 tracks x 200 frames")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        tool, name, tracks, frames, out = args.child
        measure = child_tweenlab if tool == "tweenlab" else child_datumaro
        print(json.dumps(measure(name, int(tracks), int(frames), Path(out))))
        return 0
    tracks, frames = (100, 200) if args.quick else (1000, 1000)
    results = run(tracks, frames)
    results["machine"] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }
    print_table(results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    target = RESULTS / ("formats-quick.json" if args.quick else "formats.json")
    target.write_text(json.dumps(results, indent=1) + "\n")
    print(f"results: {target}")
    return 0 if results["all_pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
