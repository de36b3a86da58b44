"""Auto-labelling benchmark: how good the built-in labelers and the tracker are on real
pedestrians, how fast each labeler runs next to the decoding floor, and whether the default
labeler pre-labels a 10-minute 720p video in under 10 minutes.

The machine this runs on is shared and noisy, so speeds are measured next to their floor in the
same run, and the load average is recorded.

1. Detection on every frame of ``../shared/data/mot17-mini`` (MOT17-02: 4 frames, MOT17-04: 8,
   1920x1080): recall and precision at IoU 0.5 of ``yolov3-tiny`` (class ``person`` only) and
   ``hog-people``, with the public FRCNN detections of ``det/det.txt`` as a peer detector on the
   same frames (all of them, and those scoring >= 0.5). Ground truth is read the MOTChallenge
   way (see ``autolabel_quality``: detections on distractors such as static people count
   neither way; boxes on cars and occluders are false positives); the looser rule of tweenlab's
   tests is given beside it. ``mtcnn`` has no face ground truth here: only its face count is
   given. ``motion`` needs a video, not 4-8 stills: not applicable.
2. Tracking by detection (``track_detections`` with its defaults) on the same frames, scored by
   motmetrics (MOTA, IDF1, ID switches; IoU distances computed here because motmetrics 1.4's
   ``iou_matrix`` calls ``np.asfarray``, gone in numpy 2) fed (a) the public FRCNN detections and
   (b) yolov3-tiny's people; the detected tracks on their frames and the thinned tracks replayed
   on every frame. Then what thinning (to IoU 0.9, as ``tweenlab autolabel``) saves: keyframes
   per tracked detection, on MOT17 and on real clips: ``clips/vtest.avi`` (pedestrians,
   ``yolov3-tiny`` on each of its first 200 frames) and ``clips/bgs-traffic-topdown.avi`` (cars,
   ``motion`` on every frame), each tracked from every frame and from every 5th.
3. Speed: frames/s of ``detect`` per labeler at 640x360 and 1280x720 (see ``autolabel_speed``),
   median of 3 runs after a warm-up, next to a bare PyAV decode of the same frames to RGB.
4. Target: ``autolabel_file`` (what ``tweenlab autolabel VIDEO --every 5`` runs: index build,
   decoding, ``yolov3-tiny`` on every 5th frame, tracking, thinning, writing the file) on a
   10-minute 1280x720 video remuxed from ``clips/testvideo.mp4`` without re-encoding, timed end
   to end (wall and CPU seconds). Target: under 600 s wall. testvideo.mp4 shows a deer, a leaf
   and a tyre, which COCO hardly knows, so tracking and thinning cost next to nothing there;
   their cost on a busy scene is the "track+thin ms" of part 2 (vtest.avi).

Run from the repository root::

    python benchmarks/autolabel.py            # about 15-20 minutes on 2 shared cores
    python benchmarks/autolabel.py --quick    # about 3-4 minutes: a 64 s video for the target
                                              # (extrapolated to 10 minutes, and labelled so),
                                              # 60 vtest frames, 8 speed frames, 2 runs

It prints one table per part and writes ``benchmarks/results/autolabel.json``
(``autolabel-quick.json`` with ``--quick``). Generated videos are cached in ``--work``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import av
import cv2
import motmetrics as mm  # type: ignore[import-untyped]
import numpy as np

from autolabel_quality import (
    LENIENT_RULE,
    RULE,
    bench_detection,
    bench_tracking,
    clip_thinning,
    load_sequence,
)
from autolabel_speed import SPEED_LABELERS, TARGET_LABELER, bench_speed, bench_target, log
from report import REPO, verdict
from report import machine_info as base_machine_info

SHARED = REPO.parent / "shared"
DATA = SHARED / "data"
RESULTS = REPO / "benchmarks" / "results"
SEQUENCES = ("MOT17-02-FRCNN", "MOT17-04-FRCNN")

Result = dict[str, Any]


def machine_info() -> Result:
    """What the figures were measured on."""
    return base_machine_info(
        opencv=cv2.__version__,
        opencv_threads=cv2.getNumThreads(),
        av=av.__version__,
        numpy=np.__version__,
        motmetrics=mm.__version__,
    )


# -- tables ------------------------------------------------------------------------------------


def print_rows(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _f(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def detection_lines(detection: Result) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [
        ("labeler", "sequence", "gt", "dets", "dropped", "TP", "FP", "recall", "precision",
         "R lenient", "P lenient", "ms/frame"),
    ]  # fmt: skip
    for name, row in detection.items():
        if "total" not in row:
            continue
        for sequence, r in [*row["sequences"].items(), ("all", row["total"])]:
            rows.append(
                (
                    name,
                    sequence,
                    str(r["gt"]),
                    str(r["detections"]),
                    str(r["dropped"]),
                    str(r["tp"]),
                    str(r["fp"]),
                    _f(r["recall"]),
                    _f(r["precision"]),
                    _f(r["recall_lenient"]),
                    _f(r["precision_lenient"]),
                    str(row.get("ms_per_1080p_frame", "-")),
                )
            )
    return rows


def tracking_lines(tracking: Result) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [
        ("detections", "sequence", "MOTA", "IDF1", "IDsw", "FP", "miss", "MOTA thin", "IDF1 thin",
         "boxes", ">=0.6", "tracked", "tracks", "keys", "keys/det"),
    ]  # fmt: skip
    for source, by_sequence in tracking.items():
        for sequence, r in by_sequence.items():
            d, t, k = r["detected_tracks"], r["thinned_tracks"], r["keyframes"]
            rows.append(
                (
                    source,
                    sequence,
                    _f(d["mota"]),
                    _f(d["idf1"]),
                    str(d["id_switches"]),
                    str(d["fp"]),
                    str(d["misses"]),
                    _f(t["mota"]),
                    _f(t["idf1"]),
                    str(k["boxes_detected"]),
                    str(k["boxes_new_track_score"]),
                    str(k["track_detections"]),
                    str(k["tracks"]),
                    str(k["keyframes"]),
                    _f(k["keyframes_per_detection"]),
                )
            )
    return rows


def thinning_lines(clips: Result) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [
        ("clip", "labeler", "frames", "sampled", "boxes", "tracks", "tracked", "covered", "keys",
         "outside", "keys/det", "keys/covered", "track+thin ms"),
    ]  # fmt: skip
    for name, clip in clips.items():
        for step, k in clip["by_step"].items():
            rows.append(
                (
                    name,
                    clip["labeler"],
                    clip["frames"],
                    f"{k['frames_sampled']} ({step})",
                    str(k["boxes_detected"]),
                    str(k["tracks"]),
                    str(k["track_detections"]),
                    str(k["track_frames_covered"]),
                    str(k["keyframes"]),
                    str(k["outside_keyframes"]),
                    _f(k["keyframes_per_detection"]),
                    _f(k["keyframes_per_covered_frame"]),
                    f"{k['track_and_thin_ms']:.0f}",
                )
            )
    return rows


def speed_lines(speed: Result) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [("size", "decode fps", *SPEED_LABELERS)]
    for size, r in speed["sizes"].items():
        cells = [f"{r[n]['fps']:.1f} ({r[n]['ms_per_frame']:.0f} ms)" for n in SPEED_LABELERS]
        rows.append((size, f"{r['decode_fps']:.0f}", *cells))
    return rows


def print_tables(results: Result) -> None:
    """The results as plain tables, one per part."""
    print(f"tweenlab.autolabel benchmark ({results['mode']})\n")
    print("1. detection on mot17-mini, IoU 0.5, person class only")
    print(f"   rule: {RULE}")
    print(f"   R/P lenient: {LENIENT_RULE}")
    print_rows(detection_lines(results["detection"]))
    for name, row in results["detection"].items():
        if "not_applicable" in row:
            print(f"   {name}: not applicable: {row['not_applicable']}")
        elif "not_scored" in row:
            faces = {k: v["faces"] for k, v in row["sequences"].items()}
            print(f"   {name}: {row['not_scored']}: {faces} ({row['ms_per_1080p_frame']} ms/frame)")
    print("\n2a. tracking by detection on mot17-mini (motmetrics, same rule; 'thin' = thinned")
    print("    tracks replayed on every frame; >=0.6 = boxes that may start a track)")
    print_rows(tracking_lines(results["tracking"]))
    print("\n2b. keyframe thinning (IoU 0.9) on real clips: keyframes per tracked detection")
    print_rows(thinning_lines(results["thinning"]))
    speed = results["speed"]
    print(
        f"\n3. speed: detect frames/s (ms a frame), median of {speed['runs']} runs over "
        f"{speed['frames']} frames of {Path(speed['source']).name}; decode = PyAV to RGB"
    )
    print_rows(speed_lines(speed))
    t = results["target"]
    kind = "EXTRAPOLATED from a shorter video" if t["extrapolated"] else "measured"
    print(
        f"\n4. target: {t['target']}\n"
        f"   {Path(t['video']).name}: {t['frames']} frames, {t['duration_s']:.1f} s; "
        f"{t['frames_labelled']} frames labelled, {t['tracks']} tracks, {t['keyframes']} keys\n"
        f"   wall {t['wall_s']:.1f} s, CPU {t['cpu_s']:.1f} s ({t['cores_busy']:.2f} cores), "
        f"{t['labelled_fps']:.2f} labelled frames/s, load before {t['load_average_before']}\n"
        f"   sum of parts from table 3 (decode every frame + detect every 5th at 720p): "
        f"{t['parts_estimate_s']:.0f} s\n"
        f"   10 minutes of video: {t['wall_s_for_10_minutes']:.0f} s ({kind}): "
        f"{verdict(t['pass'])}"
    )


def parts_estimate(speed: Result, target: Result) -> float:
    """The target's floor from part 3's 720p figures: decode every frame, detect every 5th."""
    hd = speed["sizes"]["1280x720"]
    decode = target["frames"] / hd["decode_fps"]
    detect = target["frames_labelled"] * hd[TARGET_LABELER]["ms_per_frame"] / 1000
    return round(float(decode + detect), 1)


# -- run ---------------------------------------------------------------------------------------


def run(work: Path, *, quick: bool) -> Result:
    """Measure the four parts."""
    work.mkdir(parents=True, exist_ok=True)
    results: Result = {"mode": "quick" if quick else "full", "machine": machine_info()}
    results["rule"] = {"motchallenge": RULE, "lenient": LENIENT_RULE}
    log("detection on mot17-mini")
    seqs = [load_sequence(DATA / "mot17-mini" / name) for name in SEQUENCES]
    results["detection"], found = bench_detection(seqs)
    log("tracking on mot17-mini")
    results["tracking"] = bench_tracking(seqs, found["yolov3-tiny"])
    del seqs, found
    log("keyframe thinning on vtest.avi and bgs-traffic-topdown.avi")
    clips = DATA / "clips"
    results["thinning"] = {
        "vtest.avi": clip_thinning(
            clips / "vtest.avi", "yolov3-tiny", list(range(60 if quick else 200)), (1, 5)
        ),
        "bgs-traffic-topdown.avi": clip_thinning(
            clips / "bgs-traffic-topdown.avi", "motion", list(range(374)), (1, 5)
        ),
    }
    source = clips / "two-people-1080p.mp4"
    results["speed"] = bench_speed(source, work, frames=8 if quick else 24, runs=2 if quick else 3)
    results["target"] = bench_target(clips / "testvideo.mp4", 60.0 if quick else 600.0, work)
    results["target"]["parts_estimate_s"] = parts_estimate(results["speed"], results["target"])
    results["machine"]["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    return results


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke test (a few minutes)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/tweenlab-bench-autolabel"))
    args = parser.parse_args(argv)
    if not (DATA / "mot17-mini").exists():
        print(f"error: {DATA} is missing (../shared next to the repository)", file=sys.stderr)
        return 1
    results = run(args.work, quick=args.quick)
    RESULTS.mkdir(parents=True, exist_ok=True)
    output = RESULTS / ("autolabel-quick.json" if args.quick else "autolabel.json")
    output.write_text(json.dumps(results, indent=2) + "\n")
    print_tables(results)
    print(f"results: {output.relative_to(REPO)}")
    return 0 if results["target"]["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
