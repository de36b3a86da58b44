"""YOLO for Ultralytics: the trainer's dataset rules (re-implemented here), datumaro's ``yolo``
importer and the validators read what ``visible_states`` says."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from PIL import Image

from tests.formats.helpers import (
    VIDEO,
    Expected,
    SolidFrames,
    box_annotations,
    expected_objects,
    export_with,
    make_schema,
    mixed_annotations,
    run_validator,
    shape_at,
)
from tweenlab.core import AnnotationSet, Box, Keyframe, Polygon, ShapeKind, Track
from tweenlab.formats import ExportOptions, ExportPlan, FormatModule, yolo
from tweenlab.formats.yolo import FORMAT, FORMAT_SEGMENT, data_yaml, detect

KINDS = {ShapeKind.BOX, ShapeKind.POLYGON, ShapeKind.MASK}
IMAGE_SUFFIXES = {".jpg", ".png"}


def _beyond_the_edges() -> AnnotationSet:
    """A box half out of the frame on the left, one wholly out of it, one hanging off the corner."""
    tracks = [
        Track(
            1,
            "car",
            {0: Keyframe(Box(-10, 5, 20, 10)), 3: Keyframe(Box(-10, 5, 20, 10), outside=True)},
        ),
        Track(2, "person", {1: Keyframe(Box(70, 5, 20, 10)), 2: Keyframe(Box(54, 40, 20, 20))}),
    ]
    return AnnotationSet(VIDEO, make_schema(), {t.id: t for t in tracks})


CASES: dict[str, tuple[Callable[[], AnnotationSet], ExportOptions]] = {
    "boxes_png": (box_annotations, ExportOptions(images="png")),
    "mixed_split_jpg": (
        mixed_annotations,
        ExportOptions(images="jpg", split=(0.5, 0.25, 0.25), split_blocks=4),
    ),
    "mixed_keyframes": (mixed_annotations, ExportOptions(images="png", frames="keyframes")),
    "clipped": (_beyond_the_edges, ExportOptions(images="png")),
}


def _export(
    case: str, folder: Path, module: FormatModule = FORMAT
) -> tuple[AnnotationSet, ExportPlan]:
    build, options = CASES[case]
    annotations = build()
    return annotations, export_with(module, annotations, folder, options, SolidFrames())


def _clipped(bbox: tuple[float, float, float, float]) -> tuple[float, float, float, float] | None:
    x0, y0 = max(bbox[0], 0), max(bbox[1], 0)
    x1, y1 = min(bbox[0] + bbox[2], VIDEO.width), min(bbox[1] + bbox[3], VIDEO.height)
    return (x0, y0, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else None


def ultralytics_rows(folder: Path, *, segment: bool = False) -> dict[str, list[list[float]]]:
    """Ultralytics' dataset rules (``check_det_dataset``, ``img2label_paths``,
    ``verify_image_label``): every image's label rows, keyed ``<split dir>/<stem>``."""
    data = yaml.safe_load((folder / "data.yaml").read_text(encoding="utf-8"))
    assert "path" not in data  # folders resolve against the YAML's folder
    assert "train" in data and "val" in data, "'train' and 'val' are required"
    names = data["names"]
    assert sorted(names) == list(range(len(names)))
    rows: dict[str, list[list[float]]] = {}
    for split in ("train", "val", "test"):
        specs = data.get(split) or []
        for spec in [specs] if isinstance(specs, str) else specs:
            for image in sorted((folder / spec).rglob("*")):
                if image.suffix not in IMAGE_SUFFIXES:
                    continue
                with Image.open(image) as opened:
                    opened.verify()
                    assert min(opened.size) >= 10
                text = str(image)
                label = Path("/labels/".join(text.rsplit("/images/", 1))).with_suffix(".txt")
                lines = label.read_text(encoding="utf-8").splitlines() if label.exists() else []
                rows[f"{image.parent.name}/{image.stem}"] = [
                    _row(line, len(names), segment) for line in lines
                ]
    return rows


def _row(line: str, classes: int, segment: bool) -> list[float]:
    columns = line.split(" ")
    assert columns[0].isdigit() and int(columns[0]) < classes, line
    if segment:
        assert len(columns) >= 7 and len(columns) % 2 == 1, line
    else:
        assert len(columns) == 5, "detection labels require 5 columns"
    values = [float(c) for c in columns]
    assert all("e" not in c.lower() and len(c.split(".")[-1]) == 6 for c in columns[1:]), line
    assert all(0 <= v <= 1 for v in values[1:]), f"not normalised: {line}"
    return values


def _expected_rows(annotations: AnnotationSet, plan: ExportPlan) -> dict[str, list[Any]]:
    rows: dict[str, list[Any]] = {f"{f.subset}/{f.name}": [] for f in plan.frames}
    for e in expected_objects(annotations, plan, KINDS):
        box = _clipped(e.bbox)
        if box is not None:
            rows[f"{e.subset}/frame_{e.frame:06d}"].append((annotations.schema.index(e.label), box))
    return rows


@pytest.mark.parametrize("case", CASES.keys())
def test_ultralytics_rules_hold_and_boxes_match(case: str, tmp_path: Path) -> None:
    annotations, plan = _export(case, tmp_path)
    rows = ultralytics_rows(tmp_path)
    expected = _expected_rows(annotations, plan)
    assert rows.keys() == expected.keys()
    for key, wanted in expected.items():
        got = [
            (
                int(c),
                (
                    (xc - w / 2) * VIDEO.width,
                    (yc - h / 2) * VIDEO.height,
                    w * VIDEO.width,
                    h * VIDEO.height,
                ),
            )
            for c, xc, yc, w, h in rows[key]
        ]
        assert [c for c, _ in got] == [c for c, _ in wanted], key
        for (_, box), (_, want) in zip(got, wanted, strict=True):
            np.testing.assert_allclose(box, want, atol=1e-2)


def test_clipping_drops_what_is_wholly_outside(tmp_path: Path) -> None:
    _export("clipped", tmp_path)
    rows = ultralytics_rows(tmp_path)
    assert rows["default/frame_000000"] == [[0, 0.078125, 0.208333, 0.15625, 0.208333]]
    assert rows["default/frame_000001"] == [[0, 0.078125, 0.208333, 0.15625, 0.208333]]
    assert rows["default/frame_000002"][1] == [1, 0.921875, 0.916667, 0.15625, 0.166667]


@pytest.mark.parametrize("case", ["boxes_png", "mixed_split_jpg"])
def test_datumaro_reads_the_same_boxes(case: str, tmp_path: Path) -> None:
    import datumaro as dm

    annotations, plan = _export(case, tmp_path)
    dataset = dm.Dataset.import_from(str(tmp_path), "yolo")
    labels = [c.name for c in dataset.categories()[dm.AnnotationType.label].items]
    assert labels == annotations.schema.names
    assert len(dataset) == len(plan.frames)
    expected = _expected_rows(annotations, plan)
    for item in dataset:
        wanted = expected[f"{item.subset}/{item.id}"]
        assert [a.label for a in item.annotations] == [c for c, _ in wanted]
        for a, (_, box) in zip(item.annotations, wanted, strict=True):
            np.testing.assert_allclose(a.get_bbox(), box, atol=1e-2)


def test_validator_accepts_the_export(tmp_path: Path) -> None:
    annotations, plan = _export("mixed_split_jpg", tmp_path)
    summary = run_validator("yolo", tmp_path)
    assert summary["items"] == len(plan.frames)
    assert summary["annotations_visible"] == sum(
        map(len, _expected_rows(annotations, plan).values())
    )


def test_segment_lines_trace_the_shapes(tmp_path: Path) -> None:
    annotations, plan = _export("mixed_split_jpg", tmp_path, FORMAT_SEGMENT)
    rows = ultralytics_rows(tmp_path, segment=True)
    expected: dict[str, list[Expected]] = {f"{f.subset}/{f.name}": [] for f in plan.frames}
    for e in expected_objects(annotations, plan, KINDS):
        expected[f"{e.subset}/frame_{e.frame:06d}"].append(e)
    assert rows.keys() == expected.keys()
    scale = np.array([VIDEO.width, VIDEO.height])
    for key, wanted in expected.items():
        assert [int(r[0]) for r in rows[key]] == [annotations.schema.index(e.label) for e in wanted]
        for row, e in zip(rows[key], wanted, strict=True):
            points = np.array(row[1:]).reshape(-1, 2) * scale
            shape = shape_at(annotations, e.track_id, e.frame)
            if isinstance(shape, Box):
                np.testing.assert_allclose(points, shape.corners(), atol=1e-3)
            elif isinstance(shape, Polygon):
                np.testing.assert_allclose(points, shape.points, atol=1e-3)
            else:
                box = (*points.min(axis=0), *(points.max(axis=0) - points.min(axis=0)))
                np.testing.assert_allclose(box, e.bbox, atol=1e-3)


@pytest.mark.parametrize(
    ("subsets", "splits"),
    [
        (["default"], {"train": "images/default", "val": "images/default"}),
        (
            ["train", "test"],
            {"train": "images/train", "val": "images/train", "test": "images/test"},
        ),
        (["val"], {"train": "images/val", "val": "images/val"}),
        (
            ["train", "val", "test"],
            {"train": "images/train", "val": "images/val", "test": "images/test"},
        ),
    ],
    ids=["default_only", "no_val", "val_only", "all_three"],
)
def test_data_yaml_always_has_train_and_val(subsets: list[str], splits: dict[str, str]) -> None:
    data = yaml.safe_load(data_yaml(["car", "person: adult", 'say "hi"'], subsets))
    assert data == {**splits, "names": {0: "car", 1: "person: adult", 2: 'say "hi"'}}


def test_detect_and_registration(tmp_path: Path) -> None:
    _export("boxes_png", tmp_path)
    assert detect(tmp_path) and detect(tmp_path / "data.yaml")
    assert not detect(tmp_path / "labels")
    assert (FORMAT.name, FORMAT_SEGMENT.name) == ("yolo", "yolo_segment")
    assert FORMAT.load is None and yolo.FORMAT_SEGMENT.load is None
