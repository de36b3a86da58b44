"""Annotation use cases: save and load the native file, export datasets, import other tools' files.

An export is planned (which frames, which subset), written into a temporary folder by the format
module, given a ``provenance.json`` (video, frame index, pts, seconds of every exported frame) and
then renamed into place, so a failed export leaves nothing behind.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Protocol

from tweenlab.core.annotations import AnnotationSet, VideoRef
from tweenlab.core.retiming import factor_samples, retime_annotations
from tweenlab.core.schema import Schema
from tweenlab.core.shapes import Box, ShapeKind
from tweenlab.core.thinning import thin_track
from tweenlab.core.track import Keyframe, Track
from tweenlab.errors import MediaError, UsageError
from tweenlab.formats import (
    ExportOptions,
    ExportPlan,
    FrameImages,
    atomic_dir,
    check_replaceable,
    detect_format,
    get_format,
    native,
    plan_export,
)
from tweenlab.media import (
    DerivedFiles,
    FrameIndex,
    SampleClip,
    VideoInfo,
    VideoReader,
    probe,
    save_image,
)
from tweenlab.media._files import write_atomic
from tweenlab.settings import Settings

__all__ = [
    "ExportResult",
    "VideoFrameImages",
    "WrittenImages",
    "export_annotations",
    "import_annotations",
    "load_annotations",
    "retimed_images",
    "sample_annotations",
    "save_annotations",
    "video_ref",
]


class VideoFrameImages:
    """Writes exported frames' images straight from the video, by frame index."""

    def __init__(self, video: Path, index: FrameIndex) -> None:
        self.video = video
        self.index = index

    def timing(self, frame: int) -> tuple[int, float]:
        """``(pts, seconds)`` of ``frame``, for provenance."""
        return int(self.index.pts[frame]), float(self.index.seconds(frame))

    def write(self, frames: Sequence[int], paths: Sequence[Path]) -> None:
        """Write frame ``frames[i]`` to ``paths[i]`` (one forward pass over the video)."""
        for _ in self.written(frames, paths):
            pass

    def written(self, frames: Sequence[int], paths: Sequence[Path]) -> Iterator[int]:
        """Like ``write``, yielding each frame once its image is written (each atomically), so
        that a caller reports progress and stops between two images."""
        target = dict(zip(frames, paths, strict=True))
        done: set[int] = set()
        with VideoReader(self.video, index=self.index, cache_mb=0) as reader:
            for frame in reader.read_frames(target):
                save_image(frame.image, target[frame.index])
                done.add(frame.index)
                yield frame.index
        missing = sorted(set(target) - done)
        if missing:  # the dataset would list images that are not there
            shown = ", ".join(map(str, missing[:5])) + (" ..." if len(missing) > 5 else "")
            raise MediaError(
                self.video,
                f"{len(missing)} exported frames cannot be decoded ({shown}): repair the video "
                "first (tweenlab synth repair) or export without --images",
            )


class WrittenImages(Protocol):
    """Writes frames' images one by one (``VideoFrameImages``, or a retimed video's)."""

    def write(self, frames: Sequence[int], paths: Sequence[Path]) -> None:
        """Write frame ``frames[i]`` to ``paths[i]``."""
        ...

    def written(self, frames: Sequence[int], paths: Sequence[Path]) -> Iterator[int]:
        """Write frame ``frames[i]`` to ``paths[i]``, yielding each frame once written."""
        ...


def retimed_images(
    video: Path, index: FrameIndex, *, synthetic: int = 0, engine: str = "flow"
) -> WrittenImages:
    """The writer of an export's images: the video's frames, or with ``synthetic`` those of the
    video retimed by ``synthetic + 1`` (what ``ExportResult.images`` names then)."""
    if not synthetic:
        return VideoFrameImages(video, index)
    from tweenlab.services.synthesize import RetimedFrameImages  # noqa: PLC0415 (fast start)

    return RetimedFrameImages(video, index, synthetic + 1, engine=engine)


class _ImageList:
    """A ``FrameImages`` that writes nothing: it lists the images an export asks for, by path
    relative to the export's folder, for others to write later (a sharded export's parts)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.images: list[tuple[int, str]] = []

    def write(self, frames: Sequence[int], paths: Sequence[Path]) -> None:
        for frame, path in zip(frames, paths, strict=True):
            self.images.append((int(frame), path.relative_to(self.folder).as_posix()))


@dataclass(frozen=True)
class ExportResult:
    """Where an export went and what it holds.

    Attributes:
        folder: The export's folder.
        format: Its format.
        plan: Its frames.
        images: With ``defer_images``, the images left to write: ``(frame, path relative to
            folder)``, in the order the format asked for them; else empty.
    """

    folder: Path
    format: str
    plan: ExportPlan
    images: tuple[tuple[int, str], ...] = ()


def video_ref(video: Path, settings: Settings) -> tuple[VideoRef, FrameIndex]:
    """The ``VideoRef`` of a video file (display size, exact frame count) and its index."""
    index = DerivedFiles(settings.derived_dir).index(video)
    info = probe(video, index=index)
    width, height = info.display_size
    return VideoRef(video.name, info.frame_count, width, height, info.frame_rate), index


def sample_annotations(sample: SampleClip, info: VideoInfo, *, every: int) -> AnnotationSet:
    """Box tracks of the sample clip's objects, keyed from its true boxes on every ``every``-th
    frame of each shot (and its last frame), closed with an outside keyframe at the cut."""
    labels = sorted({obj.label for obj in sample.objects})
    video = VideoRef(sample.path.name, info.frame_count, info.width, info.height, info.frame_rate)
    tracks = {}
    for number, obj in enumerate(sample.objects, start=1):
        frames = sorted({*range(obj.first_frame, obj.last_frame + 1, every), obj.last_frame})
        keys = {f: Keyframe(Box(*obj.boxes[f - obj.first_frame])) for f in frames}
        if obj.last_frame + 1 < info.frame_count:
            keys[obj.last_frame + 1] = Keyframe(keys[obj.last_frame].shape, outside=True)
        tracks[number] = Track(number, obj.label, keys, attributes={})
    return AnnotationSet(video, Schema.of(*labels), tracks)


def load_annotations(path: Path) -> AnnotationSet:
    """Read a native tweenlab annotation file (``FormatError`` naming it when it is missing,
    unreadable or malformed)."""
    return native.load(path)


def save_annotations(annotations: AnnotationSet, path: Path) -> None:
    """Write a native tweenlab annotation file atomically."""
    write_atomic(path, native.dumps(annotations).encode("utf-8"))


def export_annotations(
    annotations: AnnotationSet,
    out: Path,
    format_name: str,
    options: ExportOptions,
    settings: Settings,
    *,
    video: Path | None = None,
    defer_images: bool = False,
    engine: str = "flow",
) -> ExportResult:
    """Export ``annotations`` as ``format_name`` into the folder ``out``, atomically.

    With ``options.synthetic``, frames synthesised by ``engine`` (``tweenlab.synthesis``)
    follow each exported frame, labelled at their time (``tweenlab.core.retiming``) and marked
    ``"synthetic": true`` in the provenance; they need ``video`` and ``options.images``, none
    is made across a hard cut the keyframe analysis finds (its signals are kept), and deferred
    images are then frames of the retimed video (``retimed_images`` writes them).

    With ``video``, exported frames get their pts in the provenance and, when
    ``options.images`` is set, their images. With ``defer_images`` too, no image is decoded
    or written: ``result.images`` lists them, under the names this export gives them, for
    ``VideoFrameImages.written`` to write into ``out`` later, in any order and any number of
    processes (how the export job splits the work).

    Example:
        >>> options = ExportOptions(frames="all", images="jpg", split=(0.8, 0.1, 0.1))
        >>> export_annotations(annotations, Path("out"), "coco", options, Settings(),
        ...                    video=Path("clip.mp4"))  # doctest: +SKIP
    """
    module = get_format(format_name)
    if module.export is None:
        raise UsageError(f"--format {format_name}: this format cannot be exported")
    check_replaceable(out, "a tweenlab export")  # before any work
    images: FrameImages | None = None
    timing = None
    if options.synthetic and not module.images_dataset:
        raise UsageError(
            f"--synthetic: {format_name} is not a dataset of separate images; synthesised "
            "samples go into coco, yolo, yolo_segment or datumaro"
        )
    if options.synthetic and (video is None or options.images is None):
        raise UsageError(
            "--synthetic needs --video and --images: synthesised frames are new images"
        )
    if video is not None:
        ref, index = video_ref(video, settings)
        if ref.frame_count != annotations.video.frame_count:
            raise UsageError(
                f"--video {video} has {ref.frame_count} frames, the annotations are of a video "
                f"with {annotations.video.frame_count} ({annotations.video.name})"
            )
        frames = VideoFrameImages(video, index)
        images, timing = frames, frames.timing
    cuts: set[int] = set()
    if options.synthetic:  # nothing is synthesised across a hard cut
        from tweenlab.services.keyframes import analyse_video  # noqa: PLC0415 (fast start)

        assert video is not None
        cuts = set(analyse_video(video, settings).analysis.cuts)
    plan = plan_export(annotations, options, timing=timing, cuts=cuts)
    written = annotations
    if options.synthetic:
        assert video is not None
        written, images = _with_synthesised(annotations, options, video, index, engine)
    with atomic_dir(out, replaces="a tweenlab export") as folder:
        listed = _ImageList(folder)
        wanted = images is not None and options.images is not None
        writer = (listed if defer_images else images) if wanted else None
        module.export(written, folder, plan, options, writer)
        provenance = plan.provenance(annotations.video.name, engine=engine)
        (folder / "provenance.json").write_text(json.dumps(provenance, indent=0), "utf-8")
    return ExportResult(out, format_name, plan, tuple(listed.images))


def _with_synthesised(
    annotations: AnnotationSet, options: ExportOptions, video: Path, index: FrameIndex, engine: str
) -> tuple[AnnotationSet, FrameImages]:
    """The annotations on the timeline retimed by ``synthetic + 1``, and the images of its
    frames: the video's, and synthesised ones between them."""
    factor = options.synthetic + 1
    count, fps = annotations.video.frame_count, Fraction(annotations.video.fps)
    retimed = retime_annotations(annotations, factor_samples(count, factor), fps=fps * factor)
    return retimed, retimed_images(video, index, synthetic=options.synthetic, engine=engine)


def import_annotations(
    path: Path,
    settings: Settings,
    *,
    format_name: str | None = None,
    video: Path | None = None,
    schema: Schema | None = None,
    thin: float | None = 0.95,
) -> AnnotationSet:
    """Read another tool's annotation file (format detected when not given).

    Dense box tracks (one box per frame, as MOT, COCO and CVAT exports hold) are thinned to the
    fewest keyframes whose interpolation stays within IoU ``thin`` of every imported box;
    ``thin=None`` keeps every imported box as a keyframe. A native file's keyframes are a
    person's, and are kept as they are.
    """
    name = format_name or detect_format(path)
    module = get_format(name)
    if module.load is None:
        raise UsageError(f"--format {name}: this format cannot be imported")
    ref = video_ref(video, settings)[0] if video is not None else None
    if name == "mot":  # thins as it reads, keeping rows where the state changes
        return module.load(
            path, video=ref, schema=schema, thin=thin is not None, min_iou=thin or 0.95
        )
    loaded = module.load(path, video=ref, schema=schema)
    if thin is None or name == "native":
        return loaded
    boxes = [t for t in loaded.tracks.values() if t.kind is ShapeKind.BOX]
    return loaded.with_tracks(thin_track(track, min_iou=thin) for track in boxes)
