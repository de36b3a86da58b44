"""What every dataset format shares: what to export, the plan of frames and splits, images,
provenance, and writing the whole export atomically.

A format is one module with ``detect(path) -> bool``, ``export(...)`` and (where it can be read)
``load(...)``, registered by name in the ``formats`` registry of ``tweenlab.plugins``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from tweenlab.core.annotations import AnnotationSet
from tweenlab.core.shapes import ShapeKind
from tweenlab.core.track import Keyframe, Track, TrackState
from tweenlab.errors import UsageError

__all__ = [
    "MAX_SYNTHETIC",
    "ExportOptions",
    "ExportPlan",
    "ExportedFrame",
    "FormatModule",
    "FrameImages",
    "RawJson",
    "TrackRows",
    "atomic_dir",
    "frame_name",
    "plan_export",
    "track_rows",
    "visible_states",
]

FrameChoice = Literal["keyframes", "all", "every"]
SUBSETS = ("train", "val", "test")
#: Most synthesised frames after one exported frame (their names hold t in thousandths).
MAX_SYNTHETIC = 15


@dataclass(frozen=True)
class ExportOptions:
    """What an export contains.

    Attributes:
        frames: ``keyframes`` (frames that are a keyframe of any track), ``all`` (every frame on
            which any track is visible) or ``every`` (every ``step``-th frame of the video).
        step: For ``every``.
        images: Write frame images as ``jpg`` or ``png``, or ``None`` for annotations only.
        split: Fractions for train/val/test (summing to 1), or ``None`` for one subset.
        scene_starts: First frame of each scene (cuts); a scene never spans two subsets.
            Without it, the video is cut into ``split_blocks`` equal blocks of frames.
        split_blocks: Blocks to assign when no scenes are known.
        subset: The subset name when not splitting (CVAT's ``default``).
        synthetic: Frames to synthesise after each exported frame, at even times toward the
            next frame of the video, as extra training samples labelled with the in-between
            annotations at their time (``tweenlab.core.retiming``). Only where both frames
            show the same objects, in one scene and one subset. The export is then of the
            video retimed by ``synthetic + 1``: its frame numbers are on that timeline, its
            file names and provenance give the video's frame (and ``t`` for a synthesised one).

    Example:
        >>> ExportOptions.parse_frames("every:10")
        ('every', 10)
    """

    frames: FrameChoice = "all"
    step: int = 1
    images: Literal["jpg", "png"] | None = None
    split: tuple[float, float, float] | None = None
    scene_starts: tuple[int, ...] = ()
    split_blocks: int = 10
    subset: str = "default"
    synthetic: int = 0

    def __post_init__(self) -> None:
        if self.step < 1:
            raise UsageError(f"--frames every:N needs N >= 1, got {self.step}")
        if not 0 <= self.synthetic <= MAX_SYNTHETIC:
            raise UsageError(
                f"--synthetic {self.synthetic}: give 0 to {MAX_SYNTHETIC} frames per exported frame"
            )
        if self.split is not None:
            if len(self.split) != 3 or not all(math.isfinite(f) and f >= 0 for f in self.split):
                raise UsageError(f"--split needs three fractions >= 0, got {self.split}")
            if abs(sum(self.split) - 1) > 1e-6:
                raise UsageError(f"--split fractions must add up to 1, got {sum(self.split)}")

    @staticmethod
    def parse_frames(text: str) -> tuple[FrameChoice, int]:
        """Parse ``keyframes``, ``all`` or ``every:N`` (``none`` means ``all``, no images)."""
        if text in ("all", "none"):
            return "all", 1
        if text == "keyframes":
            return "keyframes", 1
        if text.startswith("every:") and text[6:].isdigit() and int(text[6:]) >= 1:
            return "every", int(text[6:])
        raise UsageError(f"--frames: {text!r} is not none, keyframes, all or every:N")


@dataclass(frozen=True)
class ExportedFrame:
    """One frame of an export, with its provenance.

    Attributes:
        frame: The frame of the exported annotations (the video's, or the retimed timeline's
            in an export with synthesised frames).
        subset: Its subset.
        name: Its file stem.
        pts: The video's timestamp (none for a synthesised frame).
        seconds: Its time in the video.
        source: The video's frame, or the one before a synthesised frame (``frame`` when None).
        t: How far a synthesised frame lies from ``source`` to the next frame (0: a real one).
    """

    frame: int
    subset: str
    name: str
    pts: int | None = None
    seconds: float | None = None
    source: int | None = None
    t: Fraction = Fraction(0)

    @property
    def synthetic(self) -> bool:
        """A synthesised frame, not one of the video's."""
        return self.t != 0


@dataclass(frozen=True)
class ExportPlan:
    """The frames an export writes, in order, each with its subset and file stem."""

    frames: tuple[ExportedFrame, ...]
    subsets: tuple[str, ...]

    def in_subset(self, subset: str) -> list[ExportedFrame]:
        """The frames of one subset."""
        return [f for f in self.frames if f.subset == subset]

    def provenance(self, video: str, *, engine: str | None = None) -> list[dict[str, Any]]:
        """One record per exported frame: subset, name, video, frame (the video's), pts,
        seconds, and whether it was synthesised; a synthesised frame's record adds ``t`` (its
        time after ``frame``, toward ``frame + 1``), ``between`` and the ``engine``."""
        records = []
        for f in self.frames:
            source = f.frame if f.source is None else f.source
            record: dict[str, Any] = {
                "subset": f.subset,
                "name": f.name,
                "video": video,
                "frame": source,
                "pts": f.pts,
                "seconds": f.seconds,
                "synthetic": f.synthetic,
            }
            if f.synthetic:
                record.update(t=float(f.t), between=[source, source + 1], engine=engine)
            records.append(record)
        return records


def frame_name(frame: int) -> str:
    """The CVAT convention for a frame's file stem: ``frame_000042``."""
    return f"frame_{frame:06d}"


def plan_export(
    annotations: AnnotationSet,
    options: ExportOptions,
    *,
    timing: Callable[[int], tuple[int, float]] | None = None,
    cuts: Collection[int] = (),
) -> ExportPlan:
    """Choose the exported frames and their subsets.

    Args:
        annotations: What is exported.
        options: Which frames, which split.
        timing: ``frame -> (pts, seconds)`` from the video's index, for provenance.
        cuts: First frames of new shots (the keyframe analysis's hard cuts): no frame is
            synthesised across one (nor across ``options.scene_starts``).
    """
    chosen = _chosen_frames(annotations, options)
    subset_of = _subsets(chosen, annotations.video.frame_count, options)
    frames = []
    factor = options.synthetic + 1
    for frame in chosen:
        pts, seconds = timing(frame) if timing is not None else (None, None)
        subset = subset_of(frame)
        if factor == 1:
            frames.append(ExportedFrame(frame, subset, frame_name(frame), pts, seconds))
            continue
        frames.append(ExportedFrame(frame * factor, subset, frame_name(frame), pts, seconds, frame))
        if _synthesisable(annotations, options, subset_of, frame, cuts):
            frames += _synthesised(frame, factor, subset, timing)
    used = tuple(s for s in (*SUBSETS, options.subset) if any(f.subset == s for f in frames))
    return ExportPlan(tuple(frames), used or (options.subset,))


def _synthesisable(
    annotations: AnnotationSet,
    options: ExportOptions,
    subset_of: Callable[[int], str],
    frame: int,
    cuts: Collection[int],
) -> bool:
    """Whether frames may be synthesised between ``frame`` and the next: both in the video,
    in one shot and one subset, with the same objects in the picture."""
    after = frame + 1
    if after >= annotations.video.frame_count or after in options.scene_starts or after in cuts:
        return False
    if subset_of(after) != subset_of(frame):
        return False
    shown = [id_ for id_, _ in visible_states(annotations, frame)]
    return shown == [id_ for id_, _ in visible_states(annotations, after)]


def _synthesised(
    frame: int, factor: int, subset: str, timing: Callable[[int], tuple[int, float]] | None
) -> list[ExportedFrame]:
    """The frames synthesised after ``frame``, at ``j / factor`` toward the next."""
    start = end = None
    if timing is not None:
        start, end = timing(frame)[1], timing(frame + 1)[1]
    made = []
    for j in range(1, factor):
        t = Fraction(j, factor)
        seconds = None if start is None or end is None else start + float(t) * (end - start)
        name = f"{frame_name(frame)}_t{j * 1000 // factor:03d}"
        made.append(ExportedFrame(frame * factor + j, subset, name, None, seconds, frame, t))
    return made


def _chosen_frames(annotations: AnnotationSet, options: ExportOptions) -> list[int]:
    count = annotations.video.frame_count
    if options.frames == "every":
        return list(range(0, count, options.step))
    if options.frames == "keyframes":
        keys = {
            f for t in annotations.tracks.values() for f, k in t.keyframes.items() if not k.outside
        }
        return sorted(keys)
    visible: set[int] = set()
    for track in annotations.tracks.values():
        visible.update(track.visible_frames(count))
    return sorted(visible)


def _subsets(frames: Sequence[int], count: int, options: ExportOptions) -> Callable[[int], str]:
    if options.split is None:
        return lambda frame: options.subset
    starts = (
        sorted({0, *options.scene_starts})
        if options.scene_starts
        else [round(i * count / options.split_blocks) for i in range(options.split_blocks)]
    )
    weights = np.bincount(
        np.searchsorted(starts, frames, side="right") - 1, minlength=len(starts)
    ).astype(float)
    assignment = _assign_scenes(weights, options.split)
    return lambda frame: SUBSETS[assignment[int(np.searchsorted(starts, frame, side="right")) - 1]]


def _assign_scenes(weights: np.ndarray, split: tuple[float, float, float]) -> list[int]:
    """Give whole scenes to subsets, largest first, to the subset furthest below its share."""
    total = max(weights.sum(), 1.0)
    filled = np.zeros(3)
    assignment = [0] * len(weights)
    for scene in np.argsort(-weights, kind="stable"):
        need = np.array(split) * total - filled
        need[np.array(split) == 0] = -np.inf
        subset = int(np.argmax(need))
        assignment[int(scene)] = subset
        filled[subset] += weights[scene]
    return assignment


def visible_states(annotations: AnnotationSet, frame: int) -> Iterator[tuple[int, TrackState]]:
    """``(track id, state)`` of every track visible on ``frame``, in track-id order."""
    for track_id, track in annotations.tracks.items():
        state = track.at(frame)
        if state is not None and not state.outside:
            yield track_id, state


@dataclass(frozen=True, eq=False)
class TrackRows:
    """One track on the exported frames where it is visible, computed in one vectorised pass.

    Attributes:
        track: The track.
        frames: Exported frames on which it is visible, ascending.
        keyframe: Whether each of those frames is one of its keyframes.
        boxes: For box tracks, ``(len(frames), 5)`` [x, y, w, h, rotation]; else ``None``.
    """

    track: Track
    frames: npt.NDArray[np.int64]
    keyframe: npt.NDArray[np.bool_]
    boxes: npt.NDArray[np.float64] | None
    held: npt.NDArray[np.int64]

    def in_force(self) -> list[Keyframe]:
        """For each row, the keyframe whose flags and frame attributes hold there."""
        keyframes = list(self.track.keyframes.values())
        return [keyframes[i] for i in self.held.tolist()]

    def states(self) -> Iterator[TrackState]:
        """The full state on each frame (shapes interpolated one by one: slower than boxes)."""
        for frame in self.frames.tolist():
            state = self.track.at(frame)
            assert state is not None
            yield state


def track_rows(annotations: AnnotationSet, frames: Sequence[int]) -> Iterator[TrackRows]:
    """Every track's rows on ``frames`` (sorted), in track-id order; box tracks vectorised."""
    wanted = np.asarray(frames, dtype=np.int64)
    for track in annotations.tracks.values():
        keys = np.fromiter(track.frames, dtype=np.int64, count=len(track.frames))
        if track.kind is ShapeKind.BOX:
            boxes, visible = track.box_array(wanted)
            shown, boxes = wanted[visible], boxes[visible]
        else:
            shown, boxes = wanted[track.visible_at(wanted)], None
        held = np.maximum(np.searchsorted(keys, shown, side="right") - 1, 0)  # carried back
        yield TrackRows(track, shown, np.isin(shown, keys), boxes, held)


class FrameImages(Protocol):
    """Writes frame images for an export (``tweenlab.services`` builds one from a video)."""

    def write(self, frames: Sequence[int], paths: Sequence[Path]) -> None:
        """Write frame ``frames[i]`` to ``paths[i]`` (format by suffix)."""


@dataclass
class FormatModule:
    """A registered format: its name and functions (what the ``formats`` registry holds).

    ``images_dataset``: each exported frame is an image sample on its own (COCO, YOLO,
    Datumaro), so synthesised frames may join them; a video format (MOT, CVAT for video) holds
    one sequence on the video's frame grid, and the native file holds no images.
    """

    name: str
    detect: Callable[[Path], bool]
    export: Callable[..., None] | None = None
    load: Callable[..., AnnotationSet] | None = None
    extensions: tuple[str, ...] = field(default=())
    images_dataset: bool = False


@contextlib.contextmanager
def atomic_dir(target: Path, *, replaces: str = "a tweenlab export") -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; on success it replaces ``target``.

    An export is written whole or not at all: on any error the temporary folder is removed
    and ``target`` is left as it was. ``target`` must be missing, an empty folder, or a
    folder ``replaces`` names (``check_replaceable``): never a folder of other files, which
    replacing would delete.
    """
    target = Path(target)
    check_replaceable(target, replaces)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield temporary
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            os.replace(temporary, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(temporary, target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


#: The file every export writes at its top: a folder holding it is a tweenlab export.
EXPORT_MARK = "provenance.json"


def check_replaceable(target: Path, what: str = "a tweenlab export") -> None:
    """``UsageError`` unless ``target`` may be replaced whole by a new folder: it is missing,
    an empty folder, or a tweenlab export (it holds ``EXPORT_MARK``). ``--out`` naming a folder
    of other files (the video and annotations among them) once deleted them all, exit 0; a
    file became a folder; ``.`` and ``..`` were internal errors."""
    target = Path(target)
    if target.name in ("", ".", "..") or target.resolve() == target.resolve().parent:
        raise UsageError(f"--out {target}: give the export its own folder (out/coco, say)")
    if not target.exists():
        return
    if not target.is_dir():
        raise UsageError(f"--out {target}: is a file; an export is a folder")
    if (target / EXPORT_MARK).is_file() or not any(target.iterdir()):
        return
    raise UsageError(
        f"--out {target}: holds files and is not {what} (no {EXPORT_MARK}); an export replaces "
        "its folder whole: give a new or empty folder"
    )


class RawJson(str):
    """Text that is already JSON: ``write_json`` writes it as it is (for the hottest loops)."""

    __slots__ = ()


def write_json(path: Path, data: Any, *, stream: dict[str, Iterable[Any]] | None = None) -> None:
    """Write ``data`` as compact UTF-8 JSON, with the C encoder.

    ``stream`` maps extra top-level keys to iterables of items that are encoded and written in
    batches, so a list of a million annotations is never held as one string (nor, if the
    iterable is a generator, as a million dicts).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    with path.open("w", encoding="utf-8") as handle:
        head = encode(data)
        if not stream:
            handle.write(head)
            return
        handle.write(head[:-1] + ("," if len(head) > 2 else ""))
        for number, (key, items) in enumerate(stream.items()):
            handle.write(("," if number else "") + encode(key) + ":[")
            for index, batch in enumerate(_batches(items, 4096)):
                handle.write(("," if index else "") + _encode_batch(batch, encode))
            handle.write("]")
        handle.write("}")


def _encode_batch(batch: list[Any], encode: Callable[[Any], str]) -> str:
    """Items as JSON joined by commas: ``RawJson`` as it is, the rest encoded."""
    raw = [isinstance(item, RawJson) for item in batch]
    if all(raw):
        return ",".join(batch)
    if not any(raw):
        return encode(batch)[1:-1]
    return ",".join(
        item if is_raw else encode(item) for item, is_raw in zip(batch, raw, strict=True)
    )


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
