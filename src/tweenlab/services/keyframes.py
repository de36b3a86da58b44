"""Keyframe use cases: analyse a video once (cuts, transitions, suggestions), split it at its
scenes, extract its suggested keyframes; or analyse it in spans of frames, one per worker, and
merge them into the same analysis (``analyse_span``, ``merge_span_analyses``).

The analysis decodes the video once, small (scaled while decoding, the deblocking filter
skipped: it only smooths block edges the scaling averages away anyway), and keeps its signals and
findings among the video's derived files (``keyframes.npz``): a second call with another
suggestion policy, ``split --scenes`` or ``frames --keyframes`` reuse it without decoding.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tweenlab.core.time import FrameSelection
from tweenlab.errors import MediaError, UsageError
from tweenlab.keyframes import (
    Analysis,
    KeyframeDetector,
    Span,
    SpanFeatures,
    SuggestionPolicy,
    analyse_spans,
    analysis_size,
    extract_span,
    plan_spans,
)
from tweenlab.keyframes.plot import plot_analysis
from tweenlab.media import (
    Clip,
    DerivedFiles,
    ExtractedFrame,
    Frame,
    FrameIndex,
    VideoReader,
    frame_rgb,
    probe,
)
from tweenlab.plugins import registry
from tweenlab.services.media import Reporter, extract, split
from tweenlab.settings import Settings

__all__ = [
    "DEFAULT_DETECTOR",
    "AnalysisTap",
    "KeyframeResult",
    "analyse_span",
    "analyse_video",
    "extract_keyframes",
    "merge_span_analyses",
    "plan_video_spans",
    "split_scenes",
    "stored_analysis",
]

RGB = npt.NDArray[np.uint8]
_CACHE_NAME = "keyframes.npz"
DEFAULT_DETECTOR = "tweenlab"
_SPANS_FOLDER = "keyframe-spans"


def _quiet(task: str, done: int, total: int) -> None:
    del task, done, total


@dataclass(frozen=True)
class KeyframeResult:
    """What ``analyse_video`` found.

    Attributes:
        video: The video.
        analysis: Signals, cuts, transitions, flashes and suggested keyframes.
        signals_path: The derived file holding the signals.
        fps: Frames analysed per second of wall time (``None`` when read from the cache).
        errors: Frames that could not be decoded (skipped), as messages.
        plot: The PNG of the signals, when one was asked for.
        detector: The ``keyframe_detectors`` name that found them.
    """

    video: Path
    analysis: Analysis
    signals_path: Path
    fps: float | None
    errors: tuple[str, ...] = ()
    plot: Path | None = None
    detector: str = DEFAULT_DETECTOR

    def to_json(self) -> dict[str, Any]:
        """The result as written by ``tweenlab keyframes --json``.

        ``cuts`` lists every shot boundary's first frame of the new shot, so that cut scorers
        read it as they are: hard cuts and, for each transition, its middle frame;
        ``hard_cuts`` and ``transitions`` keep them apart.
        """
        analysis = self.analysis
        return {
            "video": str(self.video),
            "frames": len(analysis.frames),
            "cuts": analysis.boundaries,
            "hard_cuts": analysis.cuts,
            "transitions": [list(t) for t in analysis.transitions],
            "flashes": [list(f) for f in analysis.flashes],
            "suggested": analysis.suggested,
            "signals": str(self.signals_path),
            "plot": str(self.plot) if self.plot else None,
            "errors": list(self.errors),
            "fps": round(self.fps, 1) if self.fps else None,
            "tool": "tweenlab",
            "detector": self.detector,
        }


def analyse_video(
    video: Path,
    settings: Settings,
    *,
    policy: SuggestionPolicy | None = None,
    every_seconds: Fraction | None = None,
    plot: Path | None = None,
    reuse: bool = True,
    report: Reporter = _quiet,
    detector: str = DEFAULT_DETECTOR,
) -> KeyframeResult:
    """Find ``video``'s cuts and transitions and suggest the frames worth labelling.

    Args:
        video: The video.
        settings: Where derived files live.
        policy: How many keyframes to suggest (default: where change passes a threshold).
        every_seconds: Fixed-interval fallback by time: the first frame at or after every
            ``every_seconds`` seconds (from the frame index, so VFR-safe).
        plot: Also draw the signals into this PNG.
        reuse: Read the signals and findings kept from an earlier analysis when there are some.
        report: Progress callback.
        detector: A name in the ``keyframe_detectors`` registry: a streaming detector built as
            ``factory(policy, duration_seconds=...)``, fed ``process(n, image)`` for every
            frame, then ``flush()``, whose ``analysis()`` is the result (plugins register
            theirs under the ``tweenlab.keyframe_detectors`` entry points). Each detector's
            findings are kept apart.

    Example:
        >>> result = analyse_video(Path("clip.mp4"), Settings())  # doctest: +SKIP
        >>> result.analysis.cuts, result.analysis.suggested[:3]  # doctest: +SKIP
        ([100, 145, 270], [0, 37, 81])
    """
    derived = DerivedFiles(settings.derived_dir)
    index = derived.index(video, progress=lambda d, t: report("index", d, t))
    policy = _with_interval(policy or SuggestionPolicy(), index, every_seconds)
    duration = _duration(index)
    factory = registry("keyframe_detectors").get(detector)  # an unknown name: before decoding
    name = _CACHE_NAME if detector == DEFAULT_DETECTOR else f"keyframes-{detector}.npz"
    target = derived.folder(video) / name
    cached = Analysis.load(target) if reuse and target.exists() else None
    if cached is not None and len(cached.frames) and int(cached.frames[-1]) < len(index):
        analysis, fps = cached.resuggest(policy, duration_seconds=duration), None
    else:
        made = factory(policy, duration_seconds=duration)  # type: ignore[operator]
        analysis, fps = _decode_and_analyse(video, index, made, report)
        analysis.save(target)
    drawn = plot_analysis(analysis, plot) if plot is not None else None
    return KeyframeResult(video, analysis, target, fps, analysis.errors, drawn, detector)


def stored_analysis(video: Path, settings: Settings) -> Analysis | None:
    """The analysis an earlier ``analyse_video`` of ``video`` kept among its derived files (with
    the default suggestions), or ``None`` when there is none; never decodes the video, so a
    request may call it."""
    derived = DerivedFiles(settings.derived_dir)
    target = derived.folder(video) / _CACHE_NAME
    if not target.exists():
        return None
    cached = Analysis.load(target)
    index = derived.index(video)
    if cached is None or not len(cached.frames) or int(cached.frames[-1]) >= len(index):
        return None
    return cached.resuggest(SuggestionPolicy(), duration_seconds=_duration(index))


def split_scenes(
    video: Path, out_dir: Path, settings: Settings, *, report: Reporter = _quiet
) -> list[Clip]:
    """Cut ``video`` into one clip per shot (at hard cuts and the middle of transitions)."""
    found = analyse_video(video, settings, report=report)
    return split(video, out_dir, settings, frames=found.analysis.boundaries, report=report)


def extract_keyframes(
    video: Path,
    out_dir: Path,
    settings: Settings,
    *,
    policy: SuggestionPolicy | None = None,
    image_format: str = "jpg",
    quality: int | None = None,
    report: Reporter = _quiet,
) -> list[ExtractedFrame]:
    """Write ``video``'s suggested keyframes as images with a manifest."""
    found = analyse_video(video, settings, policy=policy, report=report)
    selection = FrameSelection(at=tuple(found.analysis.suggested))
    return extract(
        video,
        out_dir,
        selection,
        settings,
        image_format=image_format,
        quality=quality,
        report=report,
    )


def plan_video_spans(video: Path, settings: Settings, span_frames: int) -> list[Span]:
    """``video``'s spans of about ``span_frames`` frames, each starting at a keyframe."""
    index = DerivedFiles(settings.derived_dir).index(video)
    return plan_spans(index.keyframe_indices().tolist(), len(index), span_frames)


def analyse_span(
    video: Path,
    span: Span,
    settings: Settings,
    *,
    reuse: bool = True,
    report: Reporter = _quiet,
) -> tuple[Path, tuple[str, ...]]:
    """Compute the signals of one span of ``video`` and keep them among its derived files.

    Decodes from ``span.start`` to ``span.stop`` inclusive (the overlap
    ``merge_span_analyses`` needs), starting at the keyframe at or before ``span.start``: the
    span's own first frame when ``plan_video_spans`` planned it. Writes the file atomically under a
    name made of the span, so running it twice writes the same file twice; with ``reuse``, a
    file an earlier run left (a job resumed after its coordinator died) is kept as it is.

    Returns:
        The file, and the frames that could not be decoded, as messages.
    """
    derived = DerivedFiles(settings.derived_dir)
    target = derived.folder(video) / _SPANS_FOLDER / f"{span.name}.npz"
    kept = SpanFeatures.load(target) if reuse and target.exists() else None
    if kept is None or kept.span != span:
        index = derived.index(video)
        with _analysis_reader(video, index) as reader:
            frames = reader.read_range(span.start, span.stop + 1)
            features = extract_span(span, _reported(frames, span, report))
            errors = tuple(str(e) for e in reader.errors)
        kept = replace(features, errors=errors)
        kept.save(target)
    report("keyframes", len(span), len(span))
    return target, kept.errors


def merge_span_analyses(
    video: Path,
    settings: Settings,
    parts: Sequence[Path],
    *,
    policy: SuggestionPolicy | None = None,
) -> KeyframeResult:
    """Merge the files ``analyse_span`` wrote for every span of ``video`` (in order) into its
    analysis, equal to ``analyse_video``'s, and keep it where ``analyse_video`` looks for it.
    The span files are removed once it is kept."""
    derived = DerivedFiles(settings.derived_dir)
    index = derived.index(video)
    loaded = [SpanFeatures.load(path) for path in parts]
    for path, features in zip(parts, loaded, strict=True):
        if features is None:
            raise MediaError(video, f"the signals of a span are missing or unreadable: {path}")
    spans = [features for features in loaded if features is not None]
    policy = policy or SuggestionPolicy()
    errors = tuple(dict.fromkeys(e for features in spans for e in features.errors))
    analysis = analyse_spans(spans, policy, duration_seconds=_duration(index))
    analysis = replace(analysis, errors=errors)
    if len(analysis.frames) == 0:
        raise MediaError(video, "no frame could be decoded")
    target = derived.folder(video) / _CACHE_NAME
    analysis.save(target)
    for path in parts:
        path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty: another job's spans are still there
        (derived.folder(video) / _SPANS_FOLDER).rmdir()
    return KeyframeResult(video, analysis, target, None, errors)


def _reported(frames: Iterator[Frame], span: Span, report: Reporter) -> Iterator[tuple[int, RGB]]:
    for frame in frames:
        if frame.index % 100 == 0:
            report("keyframes", frame.index - span.start, len(span))
        yield frame.index, frame.image


def _decode_and_analyse(
    video: Path, index: FrameIndex, detector: KeyframeDetector, report: Reporter
) -> tuple[Analysis, float]:
    total = len(index)
    started = time.perf_counter()
    with _analysis_reader(video, index) as reader:
        for frame in reader.read_range():
            detector.process(frame.index, frame.image)
            if frame.index % 100 == 0:
                report("keyframes", frame.index, total)
        errors = tuple(str(e) for e in reader.errors)
    detector.flush()
    analysis = replace(detector.analysis(), errors=errors)
    if len(analysis.frames) == 0:
        raise MediaError(video, "no frame could be decoded")
    report("keyframes", total, total)
    fps = len(analysis.frames) / max(time.perf_counter() - started, 1e-9)
    return analysis, fps


def _analysis_reader(video: Path, index: FrameIndex) -> VideoReader:
    """How every analysis decodes (the whole video or one span: the same pixels either way)."""
    return VideoReader(video, index=index, size=_analysis_size(video, index), cache_mb=0, fast=True)


def _analysis_size(video: Path, index: FrameIndex) -> tuple[int, int]:
    info = probe(video, index=index)
    if info.width <= 0 or info.height <= 0:
        raise MediaError(video, f"cannot analyse a {info.width}x{info.height} video")
    return analysis_size(info.width, info.height)


class AnalysisTap:
    """The keyframe analysis of ``video`` fed by another pass over its decoded frames (the
    proxy's, at ingest: ``write_proxy(tap=...)``), so the video is decoded once. The frames are
    scaled as the analysis's own reader scales them; they come with the decoder's deblocking
    on, which the analysis's own pass skips, so the signals differ from its by that little.

    Example:
        >>> tap = AnalysisTap(video, settings)  # doctest: +SKIP
        >>> write_proxy(video, proxy, tap=tap)  # doctest: +SKIP
        >>> tap.keep()  # kept where analyse_video finds it  # doctest: +SKIP
    """

    def __init__(self, video: Path, settings: Settings) -> None:
        self.video = video
        derived = DerivedFiles(settings.derived_dir)
        self.index = derived.index(video)
        self.target = derived.folder(video) / _CACHE_NAME
        self.size = _analysis_size(video, self.index)
        self.detector = KeyframeDetector(SuggestionPolicy(), duration_seconds=_duration(self.index))
        self.frames = 0

    def __call__(self, n: int, frame: Any) -> None:
        self.detector.process(n, frame_rgb(frame, self.size, fast=True))
        self.frames += 1

    def keep(self) -> Analysis | None:
        """The analysis, kept among the video's derived files; ``None`` when no frame came
        (the proxy was there already: nothing was decoded)."""
        if not self.frames:
            return None
        self.detector.flush()
        analysis = self.detector.analysis()
        analysis.save(self.target)
        return analysis


def _with_interval(
    policy: SuggestionPolicy, index: FrameIndex, every_seconds: Fraction | None
) -> SuggestionPolicy:
    if every_seconds is None:
        return policy
    if every_seconds <= 0:
        raise UsageError(f"--every-seconds: must be positive, got {every_seconds}")
    selection = FrameSelection(fps=1 / Fraction(every_seconds))
    frames = selection.indices(len(index), index.all_seconds())
    return SuggestionPolicy(frames=tuple(frames))


def _duration(index: FrameIndex) -> float:
    last = len(index) - 1
    durations = index.frame_durations()
    tail = float(durations[-1] * index.time_base) if len(durations) else 0.0
    return float(index.seconds(last)) + tail
