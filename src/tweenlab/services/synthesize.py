"""Frame-synthesis use cases: interpolate image files, repair, retime and extrapolate videos.

Retiming takes its flow from the video's flow cache (``propagation.FlowCache``, shared with
in-betweening), so a video's flow is computed once for every use.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from tweenlab.core.annotations import AnnotationSet
from tweenlab.core.retiming import retime_annotations
from tweenlab.errors import UsageError
from tweenlab.media import (
    DerivedFiles,
    FrameIndex,
    VideoReader,
    check_targets,
    probe,
    save_image,
    write_manifests,
)
from tweenlab.media._files import staged_folder
from tweenlab.services.flow import flow_cache
from tweenlab.services.keyframes import analyse_video
from tweenlab.settings import Settings
from tweenlab.synthesis import (
    DEFAULT_ENGINE,
    FlowSynthesizer,
    Image,
    PairFlow,
    RepairReport,
    Retimed,
    check_times,
    repair,
    retime,
    sample_times,
    synthesizer,
)

__all__ = [
    "MAX_EXTRAPOLATED",
    "Extrapolated",
    "RetimedFrameImages",
    "extrapolate_video",
    "interpolate_files",
    "read_image",
    "repair_video",
    "retime_video",
    "retimed_annotations",
]


def read_image(path: Path) -> Image:
    """An image file as RGB uint8; ``UsageError`` for a missing, unreadable or non-RGB file."""
    try:
        with PILImage.open(path) as image:
            mode = image.mode
            opaque = mode == "RGBA" and image.getchannel("A").getextrema() == (255, 255)
            if mode != "RGB" and not opaque:
                raise UsageError(f"{path}: mode {mode} image; frame synthesis needs RGB")
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError) as error:
        raise UsageError(f"{path}: not a readable image ({error})") from error


def interpolate_files(
    first: Path, second: Path, out: Path, times: Sequence[float], *, engine: str = DEFAULT_ENGINE
) -> list[Path]:
    """Write the frames at ``times`` between two image files; one time writes ``out``, several
    write ``out`` with ``_1``, ``_2``... before the suffix."""
    checked = check_times(times)
    count = len(checked)
    if count == 1:
        targets = [out]
    else:
        targets = [out.with_name(f"{out.stem}_{i}{out.suffix}") for i in range(1, count + 1)]
    check_targets(out.parent, [target.name for target in targets], first, second)
    images = read_image(first), read_image(second)
    if images[0].shape != images[1].shape:
        (h0, w0), (h1, w1) = images[0].shape[:2], images[1].shape[:2]
        raise UsageError(f"{first} is {w0}x{h0} and {second} {w1}x{h1}: give frames of one size")
    frames = synthesizer(engine).interpolate(*images, checked)
    for frame, target in zip(frames, targets, strict=True):
        save_image(frame, target)
    return targets


def repair_video(
    video: Path,
    out: Path,
    settings: Settings,
    *,
    report: Path | None = None,
    engine: str = DEFAULT_ENGINE,
) -> RepairReport:
    """Replace the blurred, repeated and undecodable frames of ``video``; write ``out``.
    Nothing is interpolated across the hard cuts the keyframe analysis finds (its signals are
    kept): a bad frame next to one is left."""
    index = DerivedFiles(settings.derived_dir).index(video)
    cuts = analyse_video(video, settings).analysis.cuts
    done = repair(video, out, index=index, engine=synthesizer(engine), cuts=cuts)
    if report is not None:
        done.save(report)
    return done


def retimed_annotations(
    annotations: AnnotationSet,
    video: Path,
    settings: Settings,
    *,
    factor: int | None = None,
    fps: Fraction | None = None,
    out: Path | None = None,
) -> AnnotationSet:
    """``annotations`` of ``video`` on the frames ``retime_video`` writes with the same
    ``factor`` or ``fps``: each synthesised frame labelled at its time (``core.retiming``), and
    a frame that repeats a neighbour across a hard cut labelled as that neighbour. With ``out``
    (the retimed video ``retime_video`` writes) the labels name that video, whose frame count
    and rate they carry, instead of the source."""
    index = DerivedFiles(settings.derived_dir).index(video)
    _check_faster(video, index, fps)
    if len(index) != annotations.video.frame_count:
        raise UsageError(
            f"{video} has {len(index)} frames, the annotations are of a video with "
            f"{annotations.video.frame_count} ({annotations.video.name})"
        )
    cuts = set(analyse_video(video, settings).analysis.cuts)
    samples = [
        (n + (t >= Fraction(1, 2)), Fraction(0)) if t and n + 1 in cuts else (n, t)
        for _, n, t in sample_times(index, factor=factor, fps=fps)[1]
    ]
    rate = fps if fps is not None else Fraction(annotations.video.fps) * (factor or 1)
    retimed = retime_annotations(annotations, samples, fps=rate)
    if out is None:
        return retimed
    return replace(retimed, video=replace(retimed.video, name=out.name))


def retime_video(
    video: Path,
    out: Path,
    settings: Settings,
    *,
    factor: int | None = None,
    fps: Fraction | None = None,
    engine: str = DEFAULT_ENGINE,
) -> Retimed:
    """Write ``video`` at a higher frame rate; the flow engine reads the video's flow cache,
    and nothing is interpolated across the hard cuts the keyframe analysis finds (its signals
    are kept, so a video analysed before is not decoded again for them).

    Raises:
        UsageError: Neither or both of ``factor`` and ``fps``, an ``fps`` not above the
            video's frame rate, or a video of one frame.
    """
    derived = DerivedFiles(settings.derived_dir)
    index = derived.index(video)
    _check_faster(video, index, fps)
    built = synthesizer(engine)
    flows = None
    if isinstance(built, FlowSynthesizer):
        cache = flow_cache(video, index, derived, settings)

        def flows(n: int) -> PairFlow:
            pair = cache.pair(n)
            forward, backward = (
                np.asarray(f, dtype=np.float32) for f in (pair.forward, pair.backward)
            )
            return PairFlow(forward, backward, cache.scale)

    cuts = analyse_video(video, settings).analysis.cuts
    return retime(
        video, out, factor=factor, fps=fps, index=index, engine=built, flows=flows, cuts=cuts
    )


def _check_faster(video: Path, index: FrameIndex, fps: Fraction | None) -> None:
    """Refuse an ``fps`` not above ``video``'s frame rate: sampled more sparsely than it was
    filmed, the video would lose frames, and retiming makes a higher rate."""
    if fps is None or len(index) < 2:  # a one-frame video is refused by retime itself
        return
    info = probe(video, index=index)
    rate = max(info.frame_rate, info.average_rate)
    if fps <= rate:
        raise UsageError(
            f"--fps {_shown(fps)}: not above {video.name}'s frame rate, {_shown(rate)} fps; "
            "retime makes a higher frame rate (frames would be dropped): give an --fps above "
            f"{_shown(rate)}, or --factor"
        )


def _shown(rate: Fraction) -> str:
    """A rate as people write it: ``30``, ``29.97`` (``30000/1001``)."""
    if rate.denominator == 1:
        return str(rate.numerator)
    return f"{float(rate):.4g} ({rate})"


#: The most frames ``extrapolate_video`` makes: constant velocity is a guess for a few frames,
#: and ``--count 1000000`` wrote 1.3 GB of PNGs before it was stopped.
MAX_EXTRAPOLATED = 1000


@dataclass(frozen=True)
class Extrapolated:
    """A frame made after frame ``after`` of ``source``: ``step`` frames on (its place in time,
    ``frame = after + step``, at ``seconds`` from the first frame), written as ``file``."""

    source: str
    after: int
    step: int
    frame: int
    seconds: float
    file: str
    engine: str
    synthetic: bool = True


def extrapolate_video(
    video: Path,
    out_dir: Path,
    settings: Settings,
    *,
    count: int,
    after: int | None = None,
    engine: str = DEFAULT_ENGINE,
    image_format: str = "png",
) -> list[Extrapolated]:
    """Write ``count`` frames continuing ``video`` after frame ``after`` (the last by default)
    as images in ``out_dir``, with ``manifest.csv`` and ``manifest.json`` marking each as
    synthetic. The motion between frame ``after - 1`` and ``after`` is continued at constant
    velocity; each frame is spaced as those two are.

    Raises:
        UsageError: A video of one frame, ``after`` outside ``1 .. frames - 1``, ``count`` under
            1, or an engine that cannot extrapolate (only ``flow`` can).
    """
    if not 1 <= count <= MAX_EXTRAPOLATED:
        raise UsageError(f"--count must be from 1 to {MAX_EXTRAPOLATED}, got {count}")
    index = DerivedFiles(settings.derived_dir).index(video)
    frames = len(index)
    if frames < 2:
        raise UsageError(f"{video}: extrapolation needs 2 frames, the video has {frames}")
    last = frames - 1 if after is None else after
    if not 1 <= last < frames:
        raise UsageError(
            f"--after {last}: outside {video}'s frames 1..{frames - 1} "
            "(the frame before it is needed too)"
        )
    built = synthesizer(engine)
    if not isinstance(built, FlowSynthesizer):
        raise UsageError(f"engine {engine!r} cannot extrapolate; the flow engine can")
    digits = max(6, len(str(frames + count)))
    names = [f"{video.stem}_{last:0{digits}d}_next{k}.{image_format}" for k in range(1, count + 1)]
    check_targets(out_dir, [*names, "manifest.csv", "manifest.json"], video)
    with VideoReader(video, index=index, cache_mb=0) as reader:
        pair = [reader[last - 1], reader[last]]
    spacing = index.seconds(last) - index.seconds(last - 1)
    rows = []
    with staged_folder(out_dir) as staging:  # all of it or none: the manifests come last
        for step, image in enumerate(built.extrapolated(pair, count), start=1):
            save_image(image, staging / names[step - 1])
            seconds = float(index.seconds(last) + step * spacing)
            rows.append(
                Extrapolated(video.name, last, step, last + step, seconds, names[step - 1], engine)
            )
        write_manifests(staging, rows, list(Extrapolated.__dataclass_fields__))
    return rows


class RetimedFrameImages:
    """Writes the frames of a video retimed by ``factor`` (an export's ``FrameImages``): frame
    ``v`` is the video's frame ``v / factor`` when that is whole, else synthesised by
    ``engine`` between frames ``v // factor`` and the next, at ``(v % factor) / factor``.

    One forward pass decodes each needed frame once; a pair's frames come from one call of
    the engine (one flow computation for the flow engine).
    """

    def __init__(self, video: Path, index: FrameIndex, factor: int, *, engine: str) -> None:
        self.video, self.index, self.factor = video, index, factor
        self.engine = synthesizer(engine)

    def write(self, frames: Sequence[int], paths: Sequence[Path]) -> None:
        """Write frame ``frames[i]`` of the retimed video to ``paths[i]``."""
        for _ in self.written(frames, paths):
            pass

    def written(self, frames: Sequence[int], paths: Sequence[Path]) -> Iterator[int]:
        """Like ``write``, yielding each frame once its image is written (an export job's
        parts report progress and stop between two images).

        A frame whose neighbour cannot be decoded is not written (as a corrupt frame of the
        video itself is not: the reader reports it).
        """
        wanted: dict[int, list[tuple[int, Fraction, Path]]] = defaultdict(list)
        for frame, path in zip(frames, paths, strict=True):
            n, j = divmod(int(frame), self.factor)
            wanted[n].append((int(frame), Fraction(j, self.factor), path))
        needed = set(wanted) | {n + 1 for n, items in wanted.items() if _between(items)}
        previous: tuple[int, Image] | None = None
        with VideoReader(self.video, index=self.index, cache_mb=0) as reader:
            for decoded in reader.read_frames(needed):
                n, image = decoded.index, decoded.image
                for frame, t, path in wanted.get(n, []):
                    if t == 0:
                        save_image(image, path)
                        yield frame
                if previous is not None and previous[0] == n - 1:
                    yield from self._synthesise(previous[1], image, _between(wanted[n - 1]))
                previous = (n, image)

    def _synthesise(
        self, first: Image, second: Image, items: list[tuple[int, Fraction, Path]]
    ) -> Iterator[int]:
        if not items:
            return
        made = self.engine.interpolate(first, second, [float(t) for _, t, _ in items])
        for image, (frame, _, path) in zip(made, items, strict=True):
            save_image(image, path)
            yield frame


def _between(
    items: list[tuple[int, Fraction, Path]],
) -> list[tuple[int, Fraction, Path]]:
    return [item for item in items if item[1] > 0]
