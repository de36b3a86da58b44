"""Datumaro JSON: datumaro's own ``datumaro`` importer and the validators read what
``visible_states`` says, shape by shape."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from tests.formats.helpers import (
    SolidFrames,
    box_annotations,
    every_kind_annotations,
    expected_objects,
    export_with,
    mixed_annotations,
    run_validator,
    shape_at,
)
from tweenlab.core import AnnotationSet, Mask, Points, Polygon, Polyline, ShapeKind
from tweenlab.formats import ExportOptions, ExportPlan
from tweenlab.formats.datumaro import FORMAT, detect

KINDS = {ShapeKind.BOX, ShapeKind.POLYGON, ShapeKind.POLYLINE, ShapeKind.POINTS, ShapeKind.MASK}
TYPES = {
    "bbox": ShapeKind.BOX,
    "polygon": ShapeKind.POLYGON,
    "polyline": ShapeKind.POLYLINE,
    "points": ShapeKind.POINTS,
    "mask": ShapeKind.MASK,
}

CASES: dict[str, tuple[Callable[[], AnnotationSet], ExportOptions]] = {
    "boxes_png": (box_annotations, ExportOptions(images="png")),
    "mixed_split_jpg": (
        mixed_annotations,
        ExportOptions(images="jpg", split=(0.5, 0.25, 0.25), split_blocks=4),
    ),
    "every_kind_keyframes": (every_kind_annotations, ExportOptions(frames="keyframes")),
}


def _export(case: str, folder: Path) -> tuple[AnnotationSet, ExportPlan]:
    build, options = CASES[case]
    annotations = build()
    images = SolidFrames() if options.images else None
    return annotations, export_with(FORMAT, annotations, folder, options, images)


@pytest.mark.parametrize("case", CASES.keys())
def test_datumaro_reads_every_visible_shape(case: str, tmp_path: Path) -> None:
    import datumaro as dm

    annotations, plan = _export(case, tmp_path)
    dataset = dm.Dataset.import_from(str(tmp_path), "datumaro")
    labels = [c.name for c in dataset.categories()[dm.AnnotationType.label].items]
    assert labels == annotations.schema.names
    assert sorted((i.subset, i.id) for i in dataset) == sorted(
        (f.subset, f.name) for f in plan.frames
    )
    found, ids = {}, []
    for item in dataset:
        frame = item.attributes["frame"]
        assert item.id == f"frame_{frame:06d}"
        for a in item.annotations:
            assert "outside" not in a.attributes
            track_id = a.attributes["track_id"]
            found[frame, track_id] = (
                labels[a.label],
                TYPES[a.type.name],
                a.attributes["keyframe"],
                a.attributes["occluded"],
            )
            ids.append(a.id)
            shape = shape_at(annotations, track_id, frame)
            if a.type == dm.AnnotationType.bbox:
                np.testing.assert_allclose(a.get_bbox(), shape.bbox(), atol=1e-2)
            elif a.type == dm.AnnotationType.mask:
                assert isinstance(shape, Mask)
                assert int(mask_utils.area(a.rle)) == shape.area
                assert mask_utils.toBbox(a.rle).tolist() == list(shape.bbox())
            else:  # datumaro rounds points to 2 decimals (float32)
                assert isinstance(shape, Polygon | Polyline | Points)
                np.testing.assert_allclose(a.points, shape.points.ravel(), atol=1e-2)
    expected = expected_objects(annotations, plan, KINDS)
    assert found == {
        (e.frame, e.track_id): (e.label, e.kind, e.keyframe, e.occluded) for e in expected
    }
    assert sorted(ids) == list(range(1, len(ids) + 1))


def test_points_visibility_and_attributes(tmp_path: Path) -> None:
    import datumaro as dm

    _export("every_kind_keyframes", tmp_path)
    dataset = dm.Dataset.import_from(str(tmp_path), "datumaro")
    points = [a for item in dataset for a in item.annotations if a.attributes["track_id"] == 7]
    assert [v.name for v in points[0].visibility] == ["visible", "hidden", "visible"]
    car = next(
        a
        for item in dataset
        if item.id == "frame_000000"
        for a in item.annotations
        if a.attributes["track_id"] == 1
    )
    assert car.attributes == {
        "colour": "blue",
        "parked": True,
        "track_id": 1,
        "keyframe": True,
        "occluded": False,
    }
    rotated = [a for item in dataset for a in item.annotations if a.attributes["track_id"] == 5]
    assert rotated[0].attributes["rotation"] == pytest.approx(33.3)


def test_validator_accepts_the_export(tmp_path: Path) -> None:
    annotations, plan = _export("mixed_split_jpg", tmp_path)
    summary = run_validator("datumaro", tmp_path)
    assert summary["items"] == len(plan.frames)
    expected = expected_objects(annotations, plan, KINDS)
    assert summary["annotations_visible"] == len(expected)
    assert summary["tracks"]["frames_per_track"] == {
        str(t): sum(e.track_id == t for e in expected) for t in annotations.tracks
    }


def test_detect(tmp_path: Path) -> None:
    _export("boxes_png", tmp_path)
    assert detect(tmp_path)
    assert detect(tmp_path / "annotations" / "default.json")
    assert not detect(tmp_path / "images")
