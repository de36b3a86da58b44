"""Reading MOT Challenge ground truth into an ``AnnotationSet``, and the MOT vocabulary (class
table, columns, ``seqinfo.ini`` keys) that the writer in ``mot`` shares.

Used through ``tweenlab.formats.mot.load``; kept apart because the reader is long.
"""

from __future__ import annotations

import configparser
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tweenlab.core.annotations import AnnotationSet, VideoRef
from tweenlab.core.schema import AttributeKind, AttributeSpec, AttributeValue, LabelSpec, Schema
from tweenlab.core.shapes import Box, ShapeKind
from tweenlab.core.thinning import thin_boxes
from tweenlab.core.track import Keyframe, Track
from tweenlab.errors import AnnotationError, FormatError

__all__ = ["MOT_CLASSES", "load"]

MOT_CLASSES = (
    "pedestrian",
    "person_on_vehicle",
    "car",
    "bicycle",
    "motorbike",
    "non_mot_vehicle",
    "static_person",
    "distractor",
    "occluder",
    "occluder_on_ground",
    "occluder_full",
    "reflection",
    "crowd",
)
_COLUMNS = ("frame", "id", "x", "y", "w", "h", "consider", "class", "visibility")
_MOT15_COLUMNS = ("frame", "id", "x", "y", "w", "h", "conf", "x3d", "y3d", "z3d")
_IGNORED = AttributeSpec("ignored", AttributeKind.CHECKBOX, per_frame=True)
_VISIBILITY = AttributeSpec(
    "visibility", AttributeKind.NUMBER, per_frame=True, default=1.0, maximum=1.0, step=0.01
)
#: Ids and frames a row may give: an id of 1e23 wrapped to a negative track id.
_MAX_ID = 2**31 - 1

_SEQINFO_KEYS = ("name", "imDir", "frameRate", "seqLength", "imWidth", "imHeight", "imExt")


def _gt_file(path: Path) -> Path | None:
    if path.is_file():
        return path
    for candidate in (path / "gt" / "gt.txt", path / "gt.txt"):
        if candidate.is_file():
            return candidate
    return None


# -- load ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    """The rows of a ``gt.txt``, checked, as columns (rows in file order)."""

    lines: npt.NDArray[np.int64]  # line number of each row
    frames: npt.NDArray[np.int64]  # 0-based
    ids: npt.NDArray[np.int64]
    boxes: npt.NDArray[np.float64]  # (N, 4) x, y, w, h
    ignored: npt.NDArray[np.bool_]
    classes: npt.NDArray[np.int64] | None  # None for MOT15's 10 columns
    visibility: npt.NDArray[np.float64]


def _split(line: str) -> list[str]:
    text = line.strip()
    return [v.strip() for v in text.split(",")] if "," in text else text.split()


def _value(path: Path, line: int, column: str, text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise FormatError(path, f"{text!r} is not a number", line=line, field=column) from None
    if not math.isfinite(number):
        raise FormatError(path, f"{text!r} is not a finite number", line=line, field=column)
    if column in ("frame", "id", "class") and number != int(number):
        raise FormatError(path, f"{text!r} is not a whole number", line=line, field=column)
    return number


def _check_row(path: Path, line: int, values: list[str], frame_count: int | None) -> list[float]:
    """The row's numbers, or ``FormatError`` for the first thing wrong with it."""
    names = _COLUMNS if len(values) == 9 else _MOT15_COLUMNS
    numbers = {n: _value(path, line, n, v) for n, v in zip(names, values, strict=True)}
    problems = [
        ("frame", numbers["frame"] < 1, f"frame {numbers['frame']:g}: frames are 1-based"),
        (
            "frame",
            frame_count is not None and numbers["frame"] > frame_count,
            f"frame {numbers['frame']:g} is beyond the sequence's {frame_count} frames",
        ),
        ("id", numbers["id"] < 1, f"id {numbers['id']:g}: ground-truth ids are >= 1"),
        ("id", numbers["id"] > _MAX_ID, f"id {numbers['id']:g}: at most {_MAX_ID}"),
        ("frame", numbers["frame"] > _MAX_ID, f"frame {numbers['frame']:g}: at most {_MAX_ID}"),
        ("w", numbers["w"] <= 0, f"{numbers['w']:g} is not a positive size"),
        ("h", numbers["h"] <= 0, f"{numbers['h']:g} is not a positive size"),
        (
            "visibility",
            not 0 <= numbers.get("visibility", 1) <= 1,
            f"{numbers.get('visibility', 1):g} is not in 0..1",
        ),
    ]
    for column, wrong, detail in problems:
        if wrong:
            raise FormatError(path, detail, line=line, field=column)
    return list(numbers.values())


def _slow_rows(
    path: Path, numbered: list[tuple[int, str]], frame_count: int | None
) -> npt.NDArray[np.float64]:
    """Check row by row, raising at the first malformed one (the fast path found one)."""
    rows: list[list[float]] = []
    for line, text in numbered:
        values = _split(text)
        if len(values) not in (9, 10) or (rows and len(values) != len(rows[0])):
            layout = f"line {numbered[0][0]} has {len(rows[0])}" if rows else "9 or 10 expected"
            raise FormatError(
                path,
                f"has {len(values)} columns ({layout}; MOT ground truth is "
                f"{','.join(_COLUMNS)}, MOT15's has 10)",
                line=line,
                field="columns",
            )
        rows.append(_check_row(path, line, values, frame_count))
    return np.array(rows, dtype=np.float64)


def _fast_rows(texts: list[str], frame_count: int | None) -> npt.NDArray[np.float64] | None:
    """All rows parsed and checked at once, or ``None`` when one of them is wrong."""
    try:
        rows = np.loadtxt(texts, delimiter=",", ndmin=2, dtype=np.float64)
    except ValueError:
        return None
    if rows.shape[1] not in (9, 10) or not np.isfinite(rows).all():
        return None
    whole = rows[:, [0, 1, 7] if rows.shape[1] == 9 else [0, 1]]
    visibility = rows[:, 8] if rows.shape[1] == 9 else np.ones(len(rows))
    good = (
        (whole == np.round(whole)).all()
        and (rows[:, 0] >= 1).all()
        and (frame_count is None or (rows[:, 0] <= frame_count).all())
        and (rows[:, 1] >= 1).all()
        and (rows[:, :2] <= _MAX_ID).all()
        and (rows[:, 4:6] > 0).all()
        and ((visibility >= 0) & (visibility <= 1)).all()
    )
    return rows if good else None


def _read_table(path: Path, frame_count: int | None, shift: float) -> _Table:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise FormatError(path, f"cannot read it: {error}") from error
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    rows = _fast_rows([line for _, line in numbered], frame_count) if numbered else None
    if rows is None:  # find the first malformed row, or accept a layout loadtxt cannot read
        rows = _slow_rows(path, numbered, frame_count) if numbered else np.zeros((0, 9))
    nine = rows.shape[1] == 9
    table = _Table(
        lines=np.array([n for n, _ in numbered], dtype=np.int64),
        frames=rows[:, 0].astype(np.int64) - 1,
        ids=rows[:, 1].astype(np.int64),
        boxes=rows[:, 2:6] - [shift, shift, 0, 0],
        ignored=rows[:, 6] == 0,
        classes=rows[:, 7].astype(np.int64) if nine else None,
        visibility=rows[:, 8] if nine else np.ones(len(rows)),
    )
    _check_unique(path, table)
    return table


def _check_unique(path: Path, table: _Table) -> None:
    """Each id at most once per frame (TrackEval's ``_check_unique_ids``)."""
    order = np.lexsort((table.lines, table.frames, table.ids))
    same = (np.diff(table.ids[order]) == 0) & (np.diff(table.frames[order]) == 0)
    if same.any():
        later = order[1:][same]
        bad = int(later[np.argmin(table.lines[later])])
        first = int(table.lines[order[:-1][same][np.argmin(table.lines[later])]])
        raise FormatError(
            path,
            f"id {table.ids[bad]} is on frame {table.frames[bad] + 1} twice "
            f"(first on line {first})",
            line=int(table.lines[bad]),
            field="id",
        )


def _read_labels(path: Path) -> list[str] | None:
    labels_file = path.parent / "labels.txt"
    if not labels_file.is_file():
        return None
    lines = labels_file.read_text(encoding="utf-8").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    names = [line.strip() for line in lines]
    for number, name in enumerate(names, start=1):
        if not name:
            raise FormatError(labels_file, "empty label name", line=number, field="label")
        if names.index(name) != number - 1:
            raise FormatError(labels_file, f"label {name!r} repeats", line=number, field="label")
    return names


def _read_seqinfo(path: Path) -> VideoRef | None:
    ini = path / "seqinfo.ini"
    if not ini.is_file():
        return None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(ini.read_text(encoding="utf-8"))
        section = parser["Sequence"]
    except (configparser.Error, KeyError, UnicodeDecodeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise FormatError(ini, f"needs a [Sequence] section: {first}") from None
    values: dict[str, int | Fraction] = {}
    for key in ("seqLength", "imWidth", "imHeight", "frameRate"):
        text = section.get(key, "")
        try:
            values[key] = Fraction(text) if key == "frameRate" else int(text)
        except (TypeError, ValueError, ZeroDivisionError):
            raise FormatError(ini, f"{text!r} is not a number", field=key) from None
    try:
        return VideoRef(
            section.get("name", path.name),
            int(values["seqLength"]),
            int(values["imWidth"]),
            int(values["imHeight"]),
            values["frameRate"],
        )
    except AnnotationError as error:
        raise FormatError(ini, error.detail, field="seqLength/imWidth/imHeight") from None


def _groups(table: _Table) -> dict[int, npt.NDArray[np.int64]]:
    """Track id -> its rows, in frame order."""
    order = np.lexsort((table.frames, table.ids))
    starts = np.flatnonzero(np.diff(table.ids[order])) + 1
    return {int(table.ids[rows[0]]): rows for rows in np.split(order, starts) if rows.size}


def _label_names(
    path: Path, table: _Table, groups: dict[int, npt.NDArray[np.int64]], labels: list[str] | None
) -> dict[int, str]:
    """Track id -> label name, checking each id keeps one class (MOT15: all pedestrians)."""
    if table.classes is None:
        return dict.fromkeys(groups, MOT_CLASSES[0])
    names = {}
    for track_id, rows in groups.items():
        by_line = rows[np.argsort(table.lines[rows])]
        classes = table.classes[by_line]
        if (classes != classes[0]).any():
            row = by_line[np.argmax(classes != classes[0])]
            raise FormatError(
                path,
                f"id {track_id} changes class from {classes[0]} to {table.classes[row]}",
                line=int(table.lines[row]),
                field="class",
            )
        names[track_id] = _class_name(path, int(classes[0]), int(table.lines[by_line[0]]), labels)
    return names


def _class_name(path: Path, class_id: int, line: int, labels: list[str] | None) -> str:
    names = labels if labels is not None else list(MOT_CLASSES)
    if not 1 <= class_id <= len(names):
        source = "gt/labels.txt" if labels is not None else "MOTChallenge's class table"
        raise FormatError(
            path, f"class {class_id} is not 1..{len(names)} ({source})", line=line, field="class"
        )
    return names[class_id - 1]


def _schema(
    path: Path,
    table: _Table,
    names: dict[int, str],
    labels: list[str] | None,
    *,
    given: Schema | None,
    keep_visibility: bool,
) -> Schema:
    if given is not None:
        for track_id, name in names.items():
            line = int(table.lines[table.ids == track_id].min())
            try:
                if name not in given.names:
                    raise AnnotationError(f"label {name!r} is not in the schema {given.names}")
                given.check_kind(name, ShapeKind.BOX)
            except AnnotationError as error:
                raise FormatError(path, error.detail, line=line, field="class") from None
        base = given
    else:
        base = Schema.of(*(labels or [n for n in MOT_CLASSES if n in names.values()]))
    partial = ((table.visibility != 0) & (table.visibility != 1)).any()
    wanted = {_IGNORED: table.ignored.any(), _VISIBILITY: partial and keep_visibility}
    extra = [spec for spec, needed in wanted.items() if needed]
    used = set(names.values())
    return Schema(
        tuple(
            _with_attributes(label, extra) if label.name in used else label for label in base.labels
        )
    )


def _with_attributes(label: LabelSpec, specs: Sequence[AttributeSpec]) -> LabelSpec:
    present = {a.name for a in label.attributes}
    added = tuple(spec for spec in specs if spec.name not in present)
    return LabelSpec(label.name, label.color, label.kinds, label.attributes + added)


def _kept(
    frames: npt.NDArray[np.int64],
    boxes: npt.NDArray[np.float64],
    states: npt.NDArray[np.float64],
    min_iou: float,
) -> list[int]:
    """Rows to keep as keyframes: ``thin_boxes`` between the rows where the state (occluded,
    ignored, visibility) changes, which stay, as the ends of every run of frames do."""
    changes = np.flatnonzero((np.diff(states, axis=0) != 0).any(axis=1)) + 1
    breaks = sorted({0, len(frames) - 1, *changes.tolist()})
    kept = set(breaks)
    for first, last in pairwise(breaks):
        chosen = thin_boxes(frames[first : last + 1], boxes[first : last + 1], min_iou=min_iou)
        kept.update(first + int(i) for i in chosen)
    return sorted(kept)


def _keyframes(
    table: _Table,
    rows: npt.NDArray[np.int64],
    frame_count: int,
    label: LabelSpec,
    thin: float | None,
) -> dict[int, Keyframe]:
    """One keyframe per row (or per kept row when thinning to IoU ``thin``), and an
    ``outside`` keyframe after each gap and after the last row."""
    frames, boxes = table.frames[rows], table.boxes[rows]
    states = np.stack(
        [table.visibility[rows] <= 0, table.ignored[rows], table.visibility[rows]], axis=1
    ).astype(np.float64)
    names = {a.name for a in label.attributes if a.per_frame}
    if "visibility" not in names:
        states = states[:, :2]
    keep = _kept(frames, boxes, states, thin) if thin is not None else range(len(rows))
    after_gap = set(np.flatnonzero(np.diff(frames, append=frame_count + 1) > 1).tolist())
    keys: dict[int, Keyframe] = {}
    for index in keep:
        attributes: dict[str, AttributeValue] = {}
        if "ignored" in names:
            attributes["ignored"] = bool(table.ignored[rows[index]])
        if "visibility" in names:
            attributes["visibility"] = float(table.visibility[rows[index]])
        box, frame = Box(*boxes[index].tolist()), int(frames[index])
        keys[frame] = Keyframe(box, occluded=bool(states[index, 0]), attributes=attributes)
        if index in after_gap and frame + 1 < frame_count:
            keys[frame + 1] = Keyframe(box, outside=True, attributes=attributes)
    return keys


def load(
    path: Path,
    *,
    video: VideoRef | None = None,
    schema: Schema | None = None,
    thin: bool = True,
    min_iou: float = 0.95,
    one_based: bool = False,
    keep_visibility: bool = True,
) -> AnnotationSet:
    """Read MOT ground truth: a sequence folder (``gt/gt.txt``), a folder with ``gt.txt``, or
    the file itself.

    Args:
        path: Where it is.
        video: The video it annotates; without it, ``seqinfo.ini`` says (name, seqLength,
            imWidth, imHeight, frameRate), and without that the frame count is the last
            frame in the file and the size the right and bottom edges of the boxes (rounded
            up), at 25 fps: a guess worth replacing with the real ``video``.
        schema: Labels to use (every class must name one of them); by default the labels of
            ``gt/labels.txt`` or MOTChallenge's classes in use.
        thin: Thin each dense track to the fewest keyframes that keep IoU >= ``min_iou``.
        min_iou: For ``thin``.
        one_based: The file's ``x, y`` are MOTChallenge's 1-based ones (1 is subtracted).
        keep_visibility: Keep fractional visibilities as the attribute ``visibility``.

    Raises:
        FormatError: Naming the file, line and column of the first malformed row (column
            count, a value that is not a finite number, a size <= 0, frame 0 or beyond the
            sequence, an id twice on a frame, an unknown class). Nothing is returned then.

    Example:
        >>> annotations = load(Path("MOT17-02-FRCNN"))  # doctest: +SKIP
    """
    path = Path(path)
    gt = _gt_file(path)
    if gt is None:
        raise FormatError(path, "no gt/gt.txt or gt.txt here")
    folder = gt.parent.parent if gt.parent.name == "gt" else gt.parent
    described = _read_seqinfo(folder)
    if video is not None and described is not None:
        _check_same_picture(folder / "seqinfo.ini", described, video)
    video = video or described
    table = _read_table(gt, video.frame_count if video else None, 1.0 if one_based else 0.0)
    labels = _read_labels(gt)
    groups = _groups(table)
    names = _label_names(gt, table, groups, labels)
    video = video or _guess_video(folder, table)
    final = _schema(gt, table, names, labels, given=schema, keep_visibility=keep_visibility)
    tracks = {}
    for track_id, rows in groups.items():
        label = final.label(names[track_id])
        keys = _keyframes(table, rows, video.frame_count, label, min_iou if thin else None)
        tracks[track_id] = Track(track_id, label.name, keys, source="imported")
    try:
        return AnnotationSet(video, final, tracks)
    except AnnotationError as error:
        raise FormatError(gt, error.detail, field=error.field) from None


def _check_same_picture(ini: Path, described: VideoRef, video: VideoRef) -> None:
    """``FormatError`` where the sequence's ``seqinfo.ini`` describes a picture of another size
    than the video given for it (MOT17-04's 1920x1080 boxes imported onto a 640x360 video)."""
    if (described.width, described.height) != (video.width, video.height):
        raise FormatError(
            ini,
            f"describes {described.width}x{described.height} frames, the video "
            f"{video.name} is {video.width}x{video.height}: not this video's annotations",
            field="imWidth/imHeight",
        )


def _guess_video(folder: Path, table: _Table) -> VideoRef:
    edges = table.boxes[:, :2] + table.boxes[:, 2:]
    right, bottom = edges.max(axis=0).tolist() if len(edges) else (1.0, 1.0)
    frames = int(table.frames.max(initial=0)) + 1
    return VideoRef(
        folder.name or "sequence", frames, max(1, math.ceil(right)), max(1, math.ceil(bottom))
    )
