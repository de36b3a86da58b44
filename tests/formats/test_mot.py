"""MOT Challenge ground truth: read back by motmetrics, datumaro and the validators (TrackEval);
round trips through ``load``; malformed files name their line and column."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import datumaro as dm
import motmetrics as mm
import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from tests.formats.helpers import (
    VIDEO,
    SolidFrames,
    box_annotations,
    every_kind_annotations,
    expected_objects,
    export_with,
    make_schema,
    mixed_annotations,
    run_validator,
)
from tweenlab.core import (
    AnnotationSet,
    Box,
    Keyframe,
    LabelSpec,
    Schema,
    ShapeKind,
    Track,
    VideoRef,
)
from tweenlab.core.thinning import box_iou
from tweenlab.errors import FormatError
from tweenlab.formats import ExportedFrame, ExportOptions, ExportPlan, mot

ALL_KINDS = frozenset(ShapeKind)
SETS: dict[str, Callable[[], AnnotationSet]] = {
    "boxes": box_annotations,
    "mixed": mixed_annotations,
    "every_kind": every_kind_annotations,
}


def _export(annotations: AnnotationSet, folder: Path, **options: object) -> ExportPlan:
    return export_with(mot.FORMAT, annotations, folder, ExportOptions(**options))  # type: ignore[arg-type]


def _expected(
    annotations: AnnotationSet, plan: ExportPlan
) -> dict[tuple[int, int], tuple[float, float, float, float]]:
    """``(1-based frame, id) -> (x, y, w, h)`` that ``visible_states`` says must be written."""
    return {
        (e.frame + 1, e.track_id): e.bbox for e in expected_objects(annotations, plan, ALL_KINDS)
    }


def _motmetrics(gt: Path) -> pd.DataFrame:
    return mm.io.loadtxt(str(gt), fmt="mot16", min_confidence=-1)


def test_layout(tmp_path: Path) -> None:
    images = SolidFrames()
    plan = export_with(
        mot.FORMAT, box_annotations(), tmp_path / "seq", ExportOptions(images="jpg"), images
    )
    seq = tmp_path / "seq"
    assert (seq / "gt" / "labels.txt").read_text() == "car\nperson\n"
    assert (seq / "seqinfo.ini").read_text().splitlines() == [
        "[Sequence]",
        "name=clip",
        "imDir=img1",
        "frameRate=30",
        "seqLength=24",
        "imWidth=64",
        "imHeight=48",
        "imExt=.jpg",
    ]
    frames = [f.frame for f in plan.frames]
    assert images.calls == [(frames, [seq / "img1" / f"{f + 1:06d}.jpg" for f in frames])]
    assert (seq / "gt" / "gt.txt").read_text().splitlines()[:2] == [
        "1,1,4,4,16,10,1,1,1",
        "2,1,6,5,16,10,1,1,1",
    ]


@pytest.mark.parametrize("build", SETS.values(), ids=SETS.keys())
@pytest.mark.parametrize("one_based", [False, True], ids=["raw", "one_based"])
def test_motmetrics_reads_every_visible_shape(
    build: Callable[[], AnnotationSet], one_based: bool, tmp_path: Path
) -> None:
    annotations = build()
    options = ExportOptions()
    plan = export_with(mot.FORMAT, annotations, tmp_path, options)
    if one_based:
        mot.export(annotations, tmp_path, plan, options, one_based=True)
    table = _motmetrics(tmp_path / "gt" / "gt.txt")
    expected = _expected(annotations, plan)
    assert sorted(table.index.tolist()) == sorted(expected)
    # motmetrics subtracts 1 from X and Y (MOTChallenge's 1-based boxes): raw files read 1 less
    shift = 0.0 if one_based else 1.0
    for (frame, track_id), row in table.iterrows():
        x, y, w, h = expected[(frame, track_id)]
        assert [row["X"] + shift, row["Y"] + shift, row["Width"], row["Height"]] == pytest.approx(
            [x, y, w, h], abs=1e-3
        )


def _iou_distances(gt: pd.DataFrame, hyp: pd.DataFrame) -> npt.NDArray[np.float64]:
    """motmetrics' ``1 - IoU`` cost, NaN below IoU 0.5 (its own ``iou_matrix`` calls
    ``np.asfarray``, which numpy 2 removed)."""
    a = gt[["X", "Y", "Width", "Height"]].to_numpy()
    b = hyp[["X", "Y", "Width", "Height"]].to_numpy()
    left = np.maximum(a[:, None, 0], b[None, :, 0])
    top = np.maximum(a[:, None, 1], b[None, :, 1])
    right = np.minimum(a[:, None, 0] + a[:, None, 2], b[None, :, 0] + b[None, :, 2])
    bottom = np.minimum(a[:, None, 1] + a[:, None, 3], b[None, :, 1] + b[None, :, 3])
    inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    union = a[:, None, 2] * a[:, None, 3] + b[None, :, 2] * b[None, :, 3] - inter
    distance = 1 - inter / union
    return np.where(distance <= 0.5, distance, np.nan)


def test_motmetrics_self_evaluation_is_perfect(tmp_path: Path) -> None:
    _export(mixed_annotations(), tmp_path)
    gt = _motmetrics(tmp_path / "gt" / "gt.txt")
    accumulator = mm.MOTAccumulator(auto_id=False)
    for frame, rows in gt.groupby(level=0):
        ids = rows.index.get_level_values(1).tolist()
        accumulator.update(ids, ids, _iou_distances(rows, rows), frameid=frame)
    summary = mm.metrics.create().compute(accumulator, metrics=["mota", "idf1", "num_switches"])
    assert summary["mota"].iloc[0] == 1.0
    assert summary["idf1"].iloc[0] == 1.0
    assert summary["num_switches"].iloc[0] == 0


def test_datumaro_mot_seq_reads_the_same(tmp_path: Path) -> None:
    annotations = box_annotations()
    plan = _export(annotations, tmp_path)
    dataset = dm.Dataset.import_from(str(tmp_path), "mot_seq")
    labels = dataset.categories()[dm.AnnotationType.label]
    assert [label.name for label in labels] == ["car", "person"]
    found = {}
    for item in dataset:
        for annotation in item.annotations:
            key = (int(item.id), annotation.attributes["track_id"])
            found[key] = (
                labels[annotation.label].name,
                annotation.get_bbox(),
                annotation.attributes["occluded"],
            )
    assert len(dataset) == VIDEO.frame_count  # seqinfo.ini: every frame is an item
    expected = {
        (e.frame + 1, e.track_id): e for e in expected_objects(annotations, plan, ALL_KINDS)
    }
    assert sorted(found) == sorted(expected)
    for key, (label, bbox, occluded) in found.items():
        assert (label, occluded) == (expected[key].label, expected[key].occluded)
        # datumaro rounds coordinates to 2 decimals (COORDINATE_ROUNDING_DIGITS), in float32
        assert bbox == pytest.approx(expected[key].bbox, abs=6e-3)


@pytest.mark.parametrize("build", SETS.values(), ids=SETS.keys())
def test_validator_accepts_it(build: Callable[[], AnnotationSet], tmp_path: Path) -> None:
    _export(build(), tmp_path / "seq")
    summary = run_validator("mot", tmp_path / "seq")
    assert summary["parsers"]["trackeval"]["self_eval_pedestrian"]["MOTA"] == 1.0


def _compare(original: AnnotationSet, loaded: AnnotationSet, *, min_iou: float | None) -> None:
    """Same tracks, labels, visibility and occlusion on every frame; boxes equal within
    0.001 px (``min_iou=None``) or at IoU >= ``min_iou``. Tracks whose bounds are empty on
    every frame (a skeleton with one visible column of points) have no row, so no track."""
    plan = ExportPlan(
        tuple(ExportedFrame(f, "default", "") for f in range(original.video.frame_count)),
        ("default",),
    )
    written = {e.track_id for e in expected_objects(original, plan, ALL_KINDS)}
    assert sorted(loaded.tracks) == sorted(written)
    for track_id in written:
        track = original.tracks[track_id]
        again = loaded.tracks[track_id]
        assert again.label == track.label
        for frame in range(original.video.frame_count):
            before, after = track.at(frame), again.at(frame)
            shown = before is not None and not before.outside
            assert (after is not None and not after.outside) == shown, (track_id, frame)
            if not shown:
                continue
            assert before is not None and after is not None
            assert after.occluded == before.occluded
            if min_iou is None:
                assert after.shape.bbox() == pytest.approx(before.shape.bbox(), abs=1e-3)
            else:
                assert float(box_iou(after.shape.bbox(), before.shape.bbox())) >= min_iou


@pytest.mark.parametrize("build", SETS.values(), ids=SETS.keys())
@pytest.mark.parametrize("one_based", [False, True], ids=["raw", "one_based"])
def test_round_trip(build: Callable[[], AnnotationSet], one_based: bool, tmp_path: Path) -> None:
    annotations = build()
    options = ExportOptions()
    plan = export_with(mot.FORMAT, annotations, tmp_path, options)
    mot.export(annotations, tmp_path, plan, options, one_based=one_based)
    exact = mot.load(tmp_path, thin=False, one_based=one_based)
    assert exact.video == VideoRef(
        "clip", VIDEO.frame_count, VIDEO.width, VIDEO.height, Fraction(30)
    )
    kept = {k for k in ("car", "person") if any(t.label == k for t in annotations.tracks.values())}
    assert set(exact.schema.names) >= kept
    _compare(annotations, exact, min_iou=None)
    thinned = mot.load(tmp_path, video=annotations.video, one_based=one_based)
    _compare(annotations, thinned, min_iou=0.95)
    assert thinned.shape_count() < exact.shape_count()


def test_every_nth_frame_writes_the_grid_only(tmp_path: Path) -> None:
    _export(box_annotations(), tmp_path, frames="every", step=4)
    frames = _motmetrics(tmp_path / "gt" / "gt.txt").index.get_level_values(0)
    assert set(frames) <= {f + 1 for f in range(0, VIDEO.frame_count, 4)}


def test_track_ids_below_one_are_renumbered(tmp_path: Path) -> None:
    tracks = {
        0: Track(0, "car", {0: Keyframe(Box(1, 1, 5, 5))}),
        3: Track(3, "car", {0: Keyframe(Box(9, 9, 5, 5))}),
    }
    _export(AnnotationSet(VIDEO, make_schema(), tracks), tmp_path)
    ids = _motmetrics(tmp_path / "gt" / "gt.txt").index.get_level_values(1)
    assert sorted(set(ids)) == [1, 2]


def _sequence(
    tmp_path: Path, rows: str, *, labels: str | None = None, seqinfo: str | None = None
) -> Path:
    (tmp_path / "gt").mkdir(parents=True, exist_ok=True)
    (tmp_path / "gt" / "gt.txt").write_text(rows)
    if labels is not None:
        (tmp_path / "gt" / "labels.txt").write_text(labels)
    if seqinfo is not None:
        (tmp_path / "seqinfo.ini").write_text(seqinfo)
    return tmp_path


SEQINFO = (
    "[Sequence]\nname=seq\nimDir=img1\nframeRate=25\nseqLength=10\nimWidth=100\n"
    "imHeight=80\nimExt=.jpg\n"
)


def test_consider_and_visibility_are_kept(tmp_path: Path) -> None:
    rows = (
        "1,1,10,10,20,30,1,1,0.75\n2,1,12,10,20,30,1,1,0.5\n3,1,14,10,20,30,1,1,0\n"
        "1,2,50,50,10,10,0,7,1\n2,2,50,50,10,10,0,7,1\n"
    )
    seq = _sequence(tmp_path / "in", rows, seqinfo=SEQINFO)
    loaded = mot.load(seq)
    assert loaded.video == VideoRef("seq", 10, 100, 80, Fraction(25))
    assert loaded.schema.names == ["pedestrian", "static_person"]
    walker, statue = loaded.tracks[1], loaded.tracks[2]
    assert [walker.at(f).attributes["visibility"] for f in range(3)] == [0.75, 0.5, 0.0]  # type: ignore[union-attr]
    assert [walker.at(f).occluded for f in range(3)] == [False, False, True]  # type: ignore[union-attr]
    assert statue.at(1).attributes["ignored"] is True  # type: ignore[union-attr]
    assert walker.at(0).attributes["ignored"] is False  # type: ignore[union-attr]
    assert walker.at(3).outside and statue.at(2).outside  # type: ignore[union-attr]
    export_with(mot.FORMAT, loaded, tmp_path / "out")
    written = (tmp_path / "out" / "gt" / "gt.txt").read_text().splitlines()
    # the class is the position in labels.txt (the schema's order), no longer MOTChallenge's 7
    assert sorted(written) == sorted(rows.replace(",0,7,", ",0,2,").splitlines())
    labels = (tmp_path / "out" / "gt" / "labels.txt").read_text()
    assert labels == "pedestrian\nstatic_person\n"


def test_mot15_ten_columns(tmp_path: Path) -> None:
    (tmp_path / "gt.txt").write_text(
        "1,1,399,182,121,229,1,-1,-1,-1\n"
        "2,1,400,183,121.5,229,1,-1,-1,-1\n"
        "1,2,88,99,61.08,218.56,1,4.4852,5.5016,0\n"
    )
    loaded = mot.load(tmp_path / "gt.txt", thin=False)
    assert loaded.schema.names == ["pedestrian"]
    assert loaded.video == VideoRef(tmp_path.name, 2, 522, 412)
    state = loaded.tracks[1].at(1)
    assert state is not None and state.shape == Box(400, 183, 121.5, 229)
    assert loaded.tracks[2].at(1).outside  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "rows",
    ["1 1 10 20 5 6 1 1 1\n2 1 12 20 5 6 1 1 0.5\n", "1 1 10 20 5 6 1 -1 -1 -1\n"],
    ids=["spaces", "spaces_mot15"],
)
def test_space_separated_rows(rows: str, tmp_path: Path) -> None:
    loaded = mot.load(_sequence(tmp_path, rows, seqinfo=SEQINFO), thin=False)
    assert loaded.tracks[1].keyframes[0].shape == Box(10, 20, 5, 6)


def test_an_empty_file_is_an_empty_set(tmp_path: Path) -> None:
    loaded = mot.load(_sequence(tmp_path, "\n", seqinfo=SEQINFO))
    assert (dict(loaded.tracks), loaded.video.frame_count) == ({}, 10)


def test_labels_txt_and_a_given_schema(tmp_path: Path) -> None:
    seq = _sequence(tmp_path, "1,1,1,1,5,5,1,2,1\n", labels="car\nperson\n")
    assert mot.load(seq).tracks[1].label == "person"
    assert mot.load(seq, schema=Schema.of("person")).schema.names == ["person"]
    with pytest.raises(FormatError, match=r"gt\.txt, line 1, class: label 'person' is not in"):
        mot.load(seq, schema=Schema.of("car"))
    boxless = Schema((LabelSpec("person", kinds=frozenset({ShapeKind.POLYGON})),))
    with pytest.raises(FormatError, match=r"line 1, class: label 'person' allows \['polygon'\]"):
        mot.load(seq, schema=boxless)


BAD_ROWS = [
    ("eight_columns", "1,1,1,1,5,5,1,1\n", 1, "columns", "has 8 columns"),
    ("eleven_columns", "1,1,1,1,5,5,1,1,1\n1,2,1,1,5,5,1,1,1,0,0\n", 2, "columns", "11"),
    ("not_a_number", "1,1,1,1,5,5,1,1,1\n1,2,1,abc,5,5,1,1,1\n", 2, "y", "'abc'"),
    ("nan", "1,1,nan,1,5,5,1,1,1\n", 1, "x", "finite"),
    ("negative_width", "1,1,1,1,-5,5,1,1,1\n", 1, "w", "positive"),
    ("zero_height", "1,1,1,1,5,0,1,1,1\n", 1, "h", "positive"),
    ("frame_zero", "0,1,1,1,5,5,1,1,1\n", 1, "frame", "1-based"),
    ("fractional_frame", "1.5,1,1,1,5,5,1,1,1\n", 1, "frame", "whole"),
    ("id_zero", "1,0,1,1,5,5,1,1,1\n", 1, "id", ">= 1"),
    ("id_huge", "1,1e23,1,1,5,5,1,1,1\n", 1, "id", "at most 2147483647"),  # wrapped negative
    (
        "beyond_seq_length",
        "1,1,1,1,5,5,1,1,1\n\n11,1,1,1,5,5,1,1,1\n",
        3,
        "frame",
        "beyond the sequence's 10 frames",
    ),
    (
        "duplicate_pair",
        "1,1,1,1,5,5,1,1,1\n2,1,1,1,5,5,1,1,1\n1,1,3,3,5,5,1,1,1\n",
        3,
        "id",
        "first on line 1",
    ),
    ("visibility", "1,1,1,1,5,5,1,1,1.5\n", 1, "visibility", "not in 0..1"),
    ("unknown_class", "1,1,1,1,5,5,1,14,1\n", 1, "class", "1..13"),
    ("class_changes", "1,1,1,1,5,5,1,1,1\n2,1,1,1,5,5,1,3,1\n", 2, "class", "changes class"),
    (
        "mixed_layouts",
        "1,1,1,1,5,5,1,1,1\n1,2,1,1,5,5,1,-1,-1,-1\n",
        2,
        "columns",
        "line 1 has 9",
    ),
]


@pytest.mark.parametrize(
    ("rows", "line", "column", "message"), [c[1:] for c in BAD_ROWS], ids=[c[0] for c in BAD_ROWS]
)
def test_malformed_rows_name_file_line_and_column(
    rows: str, line: int | None, column: str, message: str, tmp_path: Path
) -> None:
    seq = _sequence(tmp_path, rows, seqinfo=SEQINFO)
    where = rf"gt\.txt, line {line}, {column}: " if line else rf"gt\.txt, {column}: "
    with pytest.raises(FormatError, match=where + ".*" + message) as caught:
        mot.load(seq)
    assert caught.value.path == seq / "gt" / "gt.txt"
    assert (caught.value.line, caught.value.field) == (line, column)


def test_a_frame_beyond_the_given_video(tmp_path: Path) -> None:
    seq = _sequence(tmp_path, "1,1,1,1,5,5,1,1,1\n5,1,1,1,5,5,1,1,1\n")
    video = VideoRef("v.mp4", 4, 64, 48)
    with pytest.raises(FormatError, match=r"line 2, frame: frame 5 is beyond"):
        mot.load(seq, video=video)


BAD_SIDE_FILES = [
    ("class_beyond_labels", {"labels": "car\n"}, "1,1,1,1,5,5,1,2,1\n", r"line 1, class: .*1\.\.1"),
    ("repeated_label", {"labels": "car\ncar\n"}, "1,1,1,1,5,5,1,1,1\n", r"labels\.txt, line 2"),
    (
        "seqinfo_length",
        {"seqinfo": SEQINFO.replace("=10", "=ten")},
        "1,1,1,1,5,5,1,1,1\n",
        r"seqinfo\.ini, seqLength",
    ),
    ("seqinfo_section", {"seqinfo": "name=x\n"}, "1,1,1,1,5,5,1,1,1\n", r"seqinfo\.ini: needs"),
]


@pytest.mark.parametrize(
    ("files", "rows", "message"),
    [c[1:] for c in BAD_SIDE_FILES],
    ids=[c[0] for c in BAD_SIDE_FILES],
)
def test_malformed_side_files(
    files: dict[str, str], rows: str, message: str, tmp_path: Path
) -> None:
    seq = _sequence(tmp_path, rows, **files)
    with pytest.raises(FormatError, match=message):
        mot.load(seq)


DETECT = [
    ("sequence", "gt/gt.txt", ".", "1,1,1,1,5,5,1,1,1\n", True),
    ("flat_folder", "gt.txt", ".", "\n1,1,1,1,5,5,1,-1,-1,-1\n", True),
    ("file", "gt/gt.txt", "gt/gt.txt", "1,1,1,1,5,5,1,1,1\n", True),
    ("yolo_labels", "gt.txt", ".", "0 0.5 0.5 0.1 0.1\n", False),
    ("words", "gt.txt", ".", "a,b,c,d,e,f,g,h,i\n", False),
    ("other_name", "det.txt", ".", "1,1,1,1,5,5,1,1,1\n", False),
    ("xml", "annotations.xml", "annotations.xml", "<annotations/>", False),
]


@pytest.mark.parametrize(
    ("name", "target", "text", "expected"), [c[1:] for c in DETECT], ids=[c[0] for c in DETECT]
)
def test_detect(name: str, target: str, text: str, expected: bool, tmp_path: Path) -> None:
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text(text)
    assert mot.detect(tmp_path / target) is expected
