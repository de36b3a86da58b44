"""MOT Challenge ground truth (MOT16/17/20, and MOT15's 10 columns on import).

Layout of one sequence (``/work/shared/tools/validators/FORMATS.md`` section 2)::

    <folder>/gt/gt.txt         frame,id,x,y,w,h,consider,class,visibility   (1-based frame and id)
    <folder>/gt/labels.txt     the schema's labels in order; class = 1-based line number
    <folder>/seqinfo.ini       [Sequence] name imDir frameRate seqLength imWidth imHeight imExt
    <folder>/img1/000001.jpg   frame images when asked for, 1-based

Decisions, each a choice between tools that disagree:

* **x, y are written raw, 0-based**, as CVAT and datumaro write and read them, so an export
  round-trips through CVAT and datumaro unchanged. The MOTChallenge devkit calls them 1-based
  and motmetrics subtracts 1 on reading; IoU metrics do not care as long as ground truth and
  predictions agree. ``one_based=True`` on ``export``/``load`` gives the MOTChallenge
  convention (x + 1 on export, x - 1 on import).
* **consider = 0** is kept as a per-frame checkbox attribute ``ignored: True`` (datumaro's and
  CVAT's name for it), added to the schema only when a file has such rows; ``ignored`` true
  (or an attribute ``consider`` false) is written back as 0.
* **visibility** is ``1 - occluded`` unless a ``visibility`` attribute is in force. On import,
  fractional visibilities are kept as a per-frame number attribute ``visibility`` (unless
  ``keep_visibility=False``) and ``occluded = visibility <= 0``, as datumaro reads it.
* **What is written**: one row per exported frame (``plan.frames``) on which a track is visible,
  interpolated frames included, nothing for outside frames; the row holds the shape's
  axis-aligned bounds (rotated boxes and other shapes give their bounding box; shapes of zero
  width or height are left out, MOT needs sizes > 0). Frame numbers stay the video's (frame
  index + 1) whatever the frame choice; a split into subsets is not applied (one sequence).
* **seqinfo.ini** has exactly the seven keys datumaro requires; ``frameRate`` is the rounded
  integer frame rate (datumaro and the devkit parse an integer).
* **Import** makes one track per id: each row a keyframe, an ``outside`` keyframe after every
  gap and after the last row (unless the video ends there), then thinned with
  ``tweenlab.core.thinning.thin_track`` (``thin=False`` keeps every row). Classes map through
  ``gt/labels.txt`` when present, else through MOTChallenge's class table; the 10-column MOT15
  layout has no class: every track is a ``pedestrian``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tweenlab.core.annotations import AnnotationSet, VideoRef
from tweenlab.core.shapes import ShapeKind
from tweenlab.core.track import Keyframe, Track
from tweenlab.formats._mot_load import (
    _SEQINFO_KEYS,
    MOT_CLASSES,
    _gt_file,
    _split,
    load,
)
from tweenlab.formats.base import ExportOptions, ExportPlan, FormatModule, FrameImages

__all__ = ["FORMAT", "MOT_CLASSES", "detect", "export", "load"]

#: MOTChallenge class ids (TrackEval ``class_name_to_class_id``), used without ``labels.txt``.
# -- detect -------------------------------------------------------------------------------


def detect(path: Path) -> bool:
    """Whether ``path`` is a MOT sequence folder or ground-truth file (first row only)."""
    gt = _gt_file(Path(path))
    if gt is None or gt.suffix != ".txt":
        return False
    try:
        with gt.open(encoding="utf-8") as handle:
            line = next((text for text in handle if text.strip()), "")
    except (OSError, UnicodeDecodeError):
        return False
    values = _split(line)
    if len(values) not in (9, 10):
        return False
    try:
        [float(v) for v in values]
    except ValueError:
        return False
    return True


# -- export -------------------------------------------------------------------------------


def _number(value: float) -> str:
    """Up to 3 decimals, no trailing zeros: ``1363``, ``12.5``, ``0.333``."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _exact(value: float) -> str:
    """The shortest text that reads back as the same float: ``1``, ``0.86014``."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _bounds(boxes: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Axis-aligned ``(x, y, w, h)`` of ``(F, 5)`` boxes rotated about their centres."""
    angle = np.deg2rad(boxes[:, 4])
    cos, sin = np.abs(np.cos(angle)), np.abs(np.sin(angle))
    w = boxes[:, 2] * cos + boxes[:, 3] * sin
    h = boxes[:, 2] * sin + boxes[:, 3] * cos
    cx, cy = boxes[:, 0] + boxes[:, 2] / 2, boxes[:, 1] + boxes[:, 3] / 2
    rotated = boxes[:, 4] != 0
    out = boxes[:, :4].copy()
    out[rotated] = np.stack([cx - w / 2, cy - h / 2, w, h], axis=1)[rotated]
    return out


def _track_boxes(
    track: Track, frames: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Frames on which ``track`` is visible and its bounds there, ``(F,)`` and ``(F, 4)``."""
    if track.kind is ShapeKind.BOX:
        boxes, visible = track.box_array(frames)
        return frames[visible], _bounds(boxes[visible])
    shown, bounds = [], []
    for frame in frames.tolist():
        state = track.at(frame)
        if state is not None and not state.outside:
            shown.append(frame)
            bounds.append(state.shape.bbox())
    return np.asarray(shown, dtype=np.int64), np.asarray(bounds, dtype=np.float64).reshape(-1, 4)


def _visibility(keyframe: Keyframe, track: Track) -> float:
    value = keyframe.attributes.get("visibility", track.attributes.get("visibility"))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return 0.0 if keyframe.occluded else 1.0


def _consider(keyframe: Keyframe, track: Track) -> int:
    attributes = {**track.attributes, **keyframe.attributes}
    return int(attributes.get("ignored") is not True and attributes.get("consider") is not False)


def _track_rows(
    track: Track, row_id: int, class_id: int, frames: npt.NDArray[np.int64], shift: float
) -> Iterator[str]:
    shown, bounds = _track_boxes(track, frames[frames >= track.start])
    keys = np.fromiter(track.frames, dtype=np.int64, count=len(track.frames))
    keyframes = list(track.keyframes.values())
    in_force = np.maximum(np.searchsorted(keys, shown, side="right") - 1, 0)  # carried back: first
    flags = [(_consider(k, track), _exact(_visibility(k, track))) for k in keyframes]
    for frame, (x, y, w, h), key in zip(
        shown.tolist(), bounds.tolist(), in_force.tolist(), strict=True
    ):
        if w <= 0 or h <= 0:
            continue
        consider, visibility = flags[key]
        yield (
            f"{frame + 1},{row_id},{_number(x + shift)},{_number(y + shift)},{_number(w)},"
            f"{_number(h)},{consider},{class_id},{visibility}"
        )


def _seqinfo(video: VideoRef, extension: str) -> str:
    name = Path(video.name).stem.replace("\n", " ") or "sequence"
    values = (
        name,
        "img1",
        str(max(1, round(video.fps))),
        str(video.frame_count),
        str(video.width),
        str(video.height),
        extension,
    )
    lines = [f"{key}={value}" for key, value in zip(_SEQINFO_KEYS, values, strict=True)]
    return "[Sequence]\n" + "\n".join(lines) + "\n"


def export(
    annotations: AnnotationSet,
    folder: Path,
    plan: ExportPlan,
    options: ExportOptions,
    images: FrameImages | None = None,
    *,
    one_based: bool = False,
) -> None:
    """Write one MOT sequence into ``folder`` (see the module's docstring for the choices).

    Args:
        annotations: What to write.
        folder: The sequence folder (made by the caller).
        plan: The exported frames; rows are written for these frames only.
        options: ``images`` picks ``img1/*.jpg`` or ``*.png``.
        images: Writes the frame images when ``options.images`` is set.
        one_based: Write MOTChallenge's 1-based ``x, y`` instead of the raw 0-based ones.
    """
    folder = Path(folder)
    (folder / "gt").mkdir(parents=True, exist_ok=True)
    frames = np.asarray(sorted({f.frame for f in plan.frames}), dtype=np.int64)
    tracks = annotations.tracks
    renumber = any(track_id < 1 for track_id in tracks)
    shift = 1.0 if one_based else 0.0
    with (folder / "gt" / "gt.txt").open("w", encoding="utf-8", newline="\n") as handle:
        for position, track in enumerate(tracks.values()):
            row_id = position + 1 if renumber else track.id
            class_id = annotations.schema.index(track.label) + 1
            for row in _track_rows(track, row_id, class_id, frames, shift):
                handle.write(row + "\n")
    labels = "".join(f"{name}\n" for name in annotations.schema.names)
    (folder / "gt" / "labels.txt").write_text(labels, encoding="utf-8")
    extension = f".{options.images or 'jpg'}"
    (folder / "seqinfo.ini").write_text(_seqinfo(annotations.video, extension), encoding="utf-8")
    if images is not None and options.images:
        (folder / "img1").mkdir(exist_ok=True)
        paths = [folder / "img1" / f"{frame + 1:06d}{extension}" for frame in frames.tolist()]
        images.write(frames.tolist(), paths)


FORMAT = FormatModule(name="mot", detect=detect, export=export, load=load, extensions=(".txt",))
