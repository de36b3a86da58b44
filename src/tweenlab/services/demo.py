"""The demo: every capability that exists so far, run on one video, with a report of the results.

With no video given it renders its own sample clip first (a panning camera over a textured
background, objects moving on curves and changing size, one hard cut), so it needs nothing but
the package. Later capabilities add their step here: keyframe suggestion reports the cuts it
finds (next to the sample's true cut) and the frames it suggests for labelling.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from tweenlab.core import AnnotationSet, Box, Keyframe, Track
from tweenlab.core.thinning import box_iou
from tweenlab.core.time import FrameSelection
from tweenlab.errors import LabelerError, UsageError
from tweenlab.formats import ExportOptions
from tweenlab.media import SampleClip, VideoReader, VideoWriter, render_sample_clip
from tweenlab.media._files import write_atomic
from tweenlab.propagation import FlowCache
from tweenlab.services.annotations import (
    export_annotations,
    load_annotations,
    sample_annotations,
    save_annotations,
)
from tweenlab.services.keyframes import analyse_video
from tweenlab.services.media import Ingested, Reporter, extract, ingest, split
from tweenlab.services.propagate import fill_annotations
from tweenlab.settings import Settings

__all__ = ["DemoReport", "run_demo"]


def _quiet(task: str, done: int, total: int) -> None:
    del task, done, total


@dataclass
class DemoReport:
    """Where the demo put its results, step by step (``steps``: name -> path or figure)."""

    out_dir: Path
    video: Path
    steps: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The report as written to ``report.json``."""
        return {"video": str(self.video), "out_dir": str(self.out_dir), "steps": self.steps}


def run_demo(
    out_dir: Path,
    settings: Settings,
    *,
    video: Path | None = None,
    report: Reporter = _quiet,
) -> DemoReport:
    """Run every capability on ``video`` (or a rendered sample clip) and write ``report.json``.

    Example:
        >>> result = run_demo(Path("tweenlab-demo"), Settings())  # doctest: +SKIP
        >>> sorted(result.steps)  # doctest: +SKIP
        ['autolabel', 'clips', 'filmstrip', 'frames', 'keyframes', 'probe', 'proxy', ...]
    """
    _claim_folder(out_dir)
    result = DemoReport(out_dir=out_dir, video=video or out_dir / "sample.mp4")
    cut_frames: list[int] | None = None
    sample: SampleClip | None = None
    if video is None:
        report("sample clip", 0, 1)
        sample = render_sample_clip(result.video)
        write_atomic(out_dir / "sample.json", json.dumps(sample.to_json(), indent=1).encode())
        result.steps["sample"] = {"video": str(result.video), "truth": str(out_dir / "sample.json")}
        cut_frames = [sample.cut_frame]
        report("sample clip", 1, 1)
    done = ingest(result.video, settings, report=report)
    write_atomic(out_dir / "probe.json", json.dumps(done.info.to_json(), indent=1).encode())
    result.steps["probe"] = str(out_dir / "probe.json")
    result.steps["proxy"] = str(done.proxy) if done.proxy else "not needed (keyframes are close)"
    result.steps["filmstrip"] = str(done.filmstrip.path)
    result.steps["random_access"] = _random_access(done)
    result.steps["keyframes"] = _keyframes(result.video, out_dir, settings, cut_frames, report)
    every = Fraction(5) if cut_frames is None else None
    clips = split(
        result.video, out_dir / "clips", settings, every=every, frames=cut_frames, report=report
    )
    result.steps["clips"] = [f"{c.path} ({c.frame_count} frames, {c.method})" for c in clips]
    frames = extract(
        result.video, out_dir / "frames", FrameSelection(fps=Fraction(1)), settings, report=report
    )
    result.steps["frames"] = f"{len(frames)} images and manifest.csv in {out_dir / 'frames'}"
    if sample is not None:
        cuts = result.steps["keyframes"]["cuts"]
        result.steps.update(_annotations(sample, done, out_dir, settings, cuts))
        result.steps["synthesis"] = _synthesis(sample, out_dir, settings, report)
    result.steps["autolabel"] = _prelabel(result.video, out_dir, settings, sample, report)
    write_atomic(out_dir / "report.json", json.dumps(result.to_json(), indent=1).encode())
    return result


DEMO_MARK = ".tweenlab-demo"  # in a folder the demo made: a later demo may write over it


def _claim_folder(out_dir: Path) -> None:
    """Make ``out_dir`` the demo's, or a one-line ``UsageError``: the demo writes files of fixed
    names (``annotations.json``, ``report.json``, ...), so it takes a new or empty folder or one
    an earlier demo made (it holds ``DEMO_MARK``), never a folder of other files (``--out .``
    in a project replaced its ``annotations.json``) or a file (an internal error)."""
    above = next((p for p in (out_dir, *out_dir.parents) if p.exists()), None)
    if above is not None and not above.is_dir():
        where = "is a file" if above == out_dir else f"is under {above}, which is a file"
        raise UsageError(f"--out {out_dir}: {where}; the demo writes a folder")
    if out_dir.is_dir() and not (out_dir / DEMO_MARK).is_file() and any(out_dir.iterdir()):
        raise UsageError(
            f"--out {out_dir}: holds files and is not an earlier demo's (no {DEMO_MARK}); the "
            "demo writes files of fixed names there: give a new or empty folder"
        )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / DEMO_MARK).touch()
    except OSError as error:
        raise UsageError(f"--out {out_dir}: cannot write there ({error.strerror})") from error


def _annotations(
    sample: SampleClip, done: Ingested, out_dir: Path, settings: Settings, cuts: list[int]
) -> dict[str, Any]:
    """Label the sample's objects on every 10th frame, fill the frames between by motion, then
    export datasets from the filled tracks.

    The sample's true boxes say how far straight-line interpolation between the keyframes is
    from the truth, and how much of that gap motion-guided in-betweening closes. The exports
    carry the motion-guided boxes (the tracks' in-between shapes), not the straight ones.
    """
    annotations = sample_annotations(sample, done.info, every=10)
    native = out_dir / "annotations.json"
    save_annotations(annotations, native)
    steps: dict[str, Any] = {
        "annotations": f"{native} ({len(annotations.tracks)} tracks, "
        f"{annotations.shape_count()} keyframes every 10 frames)"
    }
    steps["interpolation"] = "linear interpolation from every 10th frame: " + _quality(
        sample, annotations
    )
    cache = FlowCache(sample.path, done.index, done.folder, proxy=done.proxy)
    filled, reports = fill_annotations(annotations, cache, cuts=cuts)
    guided = out_dir / "annotations-filled.json"
    save_annotations(filled, guided)
    suggested = sorted({f for r in reports for f in r.suggested})
    steps["in-betweening"] = (
        f"motion-guided from the same keyframes: {_quality(sample, filled)}; {guided}; "
        f"suggested next keyframes {suggested[:8]}"
    )
    steps["extension"] = _extension(sample, annotations, cache, cuts)
    annotations = filled
    # Two shots are too few to split 80/10/10 by scene, so the split is by blocks of frames.
    options = ExportOptions(frames="all", images="jpg", split=(0.8, 0.1, 0.1), split_blocks=10)
    for name in ("coco", "yolo", "mot", "cvat_video"):
        result = export_annotations(
            annotations, out_dir / "export" / name, name, options, settings, video=sample.path
        )
        steps[f"export {name}"] = f"{result.folder} ({len(result.plan.frames)} frames)"
    return steps


def _synthesis(
    sample: SampleClip, out_dir: Path, settings: Settings, report: Reporter
) -> dict[str, str]:
    """Retime the clip with its labels, export synthesised frames as extra samples, and repair
    a damaged copy of its first second (one frame blurred, one repeated)."""
    from tweenlab.services import synthesize  # noqa: PLC0415 (the demo's last steps)

    report("frame synthesis", 0, 3)
    folder = out_dir / "synthesis"
    folder.mkdir(parents=True, exist_ok=True)
    filled = load_annotations(out_dir / "annotations-filled.json")
    retimed = synthesize.retime_video(sample.path, folder / "retimed-2x.mp4", settings, factor=2)
    labels = synthesize.retimed_annotations(
        filled, sample.path, settings, factor=2, out=retimed.path
    )
    save_annotations(labels, folder / "retimed-2x.json")
    steps = {
        "retime": f"{retimed.path} ({retimed.frames} frames at twice the rate, "
        f"{retimed.synthesised} synthesised), labels at each new frame's time in "
        f"{folder / 'retimed-2x.json'}"
    }
    report("frame synthesis", 1, 3)
    options = ExportOptions(frames="every", step=10, images="jpg", synthetic=1)
    exported = export_annotations(
        filled, folder / "coco-synthetic", "coco", options, settings, video=sample.path
    )
    made = sum(f.synthetic for f in exported.plan.frames)
    steps["synthetic samples"] = (
        f"{exported.folder}: {len(exported.plan.frames)} frames, {made} of them synthesised "
        "(labelled at t = 0.5, marked in provenance.json)"
    )
    report("frame synthesis", 2, 3)
    steps["repair"] = _repair(sample, folder, settings)
    report("frame synthesis", 3, 3)
    return steps


def _repair(sample: SampleClip, folder: Path, settings: Settings) -> str:
    """Damage a copy of the first 25 frames (blur frame 12, repeat frame 18 as 19), repair it,
    and say how close the repaired frame 12 is to the original."""
    from tweenlab.services import synthesize  # noqa: PLC0415 (the demo's last steps)

    blurred, repeated = 12, 19
    damaged = folder / "damaged.mp4"
    with VideoReader(sample.path, cache_mb=0) as reader:
        original = [reader[n] for n in range(25)]
    height, width = original[0].shape[:2]
    with VideoWriter(damaged, width, height, Fraction(1, 25), crf=12) as writer:
        for n, image in enumerate(original):
            if n == blurred:
                soft = Image.fromarray(image).filter(ImageFilter.GaussianBlur(3))
                writer.write(np.asarray(soft), pts=n)
            else:
                writer.write(original[n - 1] if n == repeated else image, pts=n)
    done = synthesize.repair_video(
        damaged, folder / "repaired.mp4", settings, report=folder / "repair.json"
    )
    with VideoReader(folder / "repaired.mp4", cache_mb=0) as fixed, VideoReader(damaged) as bad:
        before, after = (
            _psnr(original[blurred], bad[blurred]),
            _psnr(original[blurred], fixed[blurred]),
        )
    found = ", ".join(f"{b.frame} ({b.reason})" for b in done.replaced)
    return (
        f"{folder / 'repaired.mp4'}: replaced {found}; frame {blurred} is {after:.1f} dB from the "
        f"original, its blurred copy {before:.1f} dB; report {folder / 'repair.json'}"
    )


def _psnr(truth: np.ndarray, guess: np.ndarray) -> float:
    error = float(np.mean((truth.astype(np.float64) - guess.astype(np.float64)) ** 2))
    return float(10 * np.log10(255.0**2 / max(error, 1e-10)))


def _prelabel(
    video: Path, out_dir: Path, settings: Settings, sample: SampleClip | None, report: Reporter
) -> str:
    """Pre-label every 5th frame with the default labeler (YOLOv3-tiny, 80 COCO classes): its
    detections become thinned tracks marked as predictions. On the sample clip, whose objects
    are drawn shapes no COCO class names, say how many of them it found, whatever it called
    them."""
    from tweenlab.autolabel import LabelerOptions  # noqa: PLC0415 (OpenCV: not at start-up)
    from tweenlab.services.autolabel import DEFAULT_LABELER, autolabel_file  # noqa: PLC0415

    out = out_dir / "annotations-predicted.json"
    out.unlink(missing_ok=True)  # an earlier demo's, maybe of another video: not merged with
    try:
        done = autolabel_file(
            video,
            out,
            settings,
            labeler=DEFAULT_LABELER,
            options=LabelerOptions(),
            every=5,
            report=report,
        )
    except LabelerError as error:
        return f"skipped: {error}"
    made = done.prelabels
    labels = sorted({t.label for t in made.tracks})
    text = (
        f"{out}: {DEFAULT_LABELER} found {made.detections} objects on {done.frames_labelled} "
        f"frames -> {len(made.tracks)} predicted tracks, {made.keyframes} keyframes ({labels})"
    )
    if sample is not None:
        text += "; " + _found_objects(sample, load_annotations(out), step=5)
    return text


def _found_objects(sample: SampleClip, annotations: AnnotationSet, *, step: int) -> str:
    """Of the sample's objects on every ``step``-th frame, the share a predicted box covers at
    IoU 0.5 (any class)."""
    found = total = 0
    for obj in sample.objects:
        for frame in range(obj.first_frame, obj.last_frame + 1, step):
            truth = obj.boxes[frame - obj.first_frame]
            total += 1
            for track in annotations.tracks.values():
                state = track.at(frame)
                if state is None or state.outside:
                    continue
                box = state.shape
                guess = [box.x, box.y, box.w, box.h]  # type: ignore[attr-defined]
                if float(box_iou(guess, truth)) >= 0.5:
                    found += 1
                    break
    return f"{found} of {total} sample object boxes covered at IoU 0.5"


def _extension(
    sample: SampleClip, annotations: AnnotationSet, cache: FlowCache, cuts: list[int]
) -> str:
    """Each object keyed on its middle frame alone, carried back and on by motion until it is
    lost or a cut comes: how many of its frames that covers and how well, against the track as
    a peer keeps it (nothing before the keyframe, the keyframe held after it)."""
    tracks = {}
    for number, obj in enumerate(sample.objects, start=1):
        middle = (obj.first_frame + obj.last_frame) // 2
        key = Keyframe(Box(*obj.boxes[middle - obj.first_frame]))
        tracks[number] = Track(number, obj.label, {middle: key})
    alone = replace(annotations, tracks=tracks)
    carried, reports = fill_annotations(alone, cache, cuts=cuts)
    return (
        f"one keyframe per object (its middle frame) carried both ways until lost or a cut: "
        f"{sum(r.extended for r in reports)} frames; {_coverage(sample, carried)}, against "
        f"{_coverage(sample, alone)} with the keyframe alone"
    )


def _coverage(sample: SampleClip, annotations: AnnotationSet) -> str:
    """Mean IoU against the sample's true boxes over every frame of its objects (0 where the
    track shows nothing)."""
    scores = []
    for track, obj in zip(annotations.tracks.values(), sample.objects, strict=True):
        frames = np.arange(obj.first_frame, obj.last_frame + 1)
        boxes, visible = track.box_array(frames)
        scores.append(np.where(visible, box_iou(boxes[:, :4], np.asarray(obj.boxes)), 0.0))
    return f"mean IoU {np.concatenate(scores).mean():.3f}"


def _quality(sample: SampleClip, annotations: AnnotationSet) -> str:
    """Mean and worst IoU of the tracks' boxes against the sample's true boxes."""
    scores = []
    for track, obj in zip(annotations.tracks.values(), sample.objects, strict=True):
        frames = np.arange(obj.first_frame, obj.last_frame + 1)
        boxes, _ = track.box_array(frames)
        scores.append(box_iou(boxes[:, :4], np.asarray(obj.boxes)))
    iou = np.concatenate(scores)
    return f"mean IoU {iou.mean():.3f}, worst {iou.min():.3f}"


def _keyframes(
    video: Path, out_dir: Path, settings: Settings, true_cuts: list[int] | None, report: Reporter
) -> dict[str, Any]:
    """Cuts, transitions and suggested keyframes in one pass, with a plot of the signals."""
    found = analyse_video(video, settings, plot=out_dir / "keyframes.png", report=report)
    analysis = found.analysis
    step: dict[str, Any] = {"cuts": analysis.cuts, "transitions": analysis.transitions}
    if true_cuts is not None:
        step["true_cuts"] = true_cuts
    step["suggested"] = analysis.suggested
    step["plot"] = str(found.plot)
    return step


def _random_access(done: Ingested, samples: int = 30) -> str:
    """Read random frames through the index (and proxy) and say how fast."""
    count = done.info.frame_count
    chosen = random.Random(0).sample(range(count), min(samples, count))
    with done.reader(cache_mb=0) as reader:
        started = time.perf_counter()
        for n in chosen:
            reader[n]
        per_frame = (time.perf_counter() - started) / len(chosen) * 1000
        first = reader[chosen[0]]
        again = reader[chosen[0]]
    same = bool(np.array_equal(first, again))
    return f"{len(chosen)} random frames, {per_frame:.1f} ms each, repeatable: {same}"
