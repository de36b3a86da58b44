"""COCO instances: read back by pycocotools and datumaro, scored by COCOeval, checked by the
validators, imported again; malformed files give errors that say where."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from tests.formats.helpers import (
    VIDEO,
    SolidFrames,
    box_annotations,
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
    Mask,
    Polygon,
    Schema,
    ShapeKind,
    Track,
    VideoRef,
)
from tweenlab.errors import FormatError
from tweenlab.formats import ExportOptions, ExportPlan, visible_states
from tweenlab.formats.coco import FORMAT, detect, load, rle_from_string, rle_to_string

KINDS = {ShapeKind.BOX, ShapeKind.POLYGON, ShapeKind.MASK}

CASES: dict[str, tuple[Callable[[], AnnotationSet], ExportOptions]] = {
    "boxes_all_frames": (box_annotations, ExportOptions()),
    "mixed_png": (mixed_annotations, ExportOptions(images="png")),
    "mixed_split_jpg": (
        mixed_annotations,
        ExportOptions(images="jpg", split=(0.5, 0.25, 0.25), split_blocks=4),
    ),
    "boxes_keyframes": (box_annotations, ExportOptions(frames="keyframes")),
    "mixed_every_5": (mixed_annotations, ExportOptions(frames="every", step=5)),
}


def _export(name: str, folder: Path) -> tuple[AnnotationSet, ExportPlan]:
    build, options = CASES[name]
    annotations = build()
    images = SolidFrames() if options.images else None
    return annotations, export_with(FORMAT, annotations, folder, options, images)


def _rows(expected: list[Any]) -> list[tuple[int, int, str, bool, bool]]:
    return sorted((e.frame, e.track_id, e.label, e.keyframe, e.occluded) for e in expected)


@pytest.mark.parametrize("case", CASES.keys())
def test_pycocotools_reads_what_visible_states_says(case: str, tmp_path: Path) -> None:
    annotations, plan = _export(case, tmp_path)
    expected = expected_objects(annotations, plan, KINDS)
    seen, boxes, annotation_ids = [], {}, []
    for subset in plan.subsets:
        coco = COCO(str(tmp_path / "annotations" / f"instances_{subset}.json"))
        assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == annotations.schema.names
        assert len(coco.imgs) == len(plan.in_subset(subset))
        assert len(coco.anns) == len(coco.dataset["annotations"])  # ids unique in the file
        for a in coco.dataset["annotations"]:
            image = coco.imgs[a["image_id"]]
            frame = image["frame_index"]
            assert image["file_name"] == f"frame_{frame:06d}.{plan_ext(case)}"
            track_id = a["attributes"]["track_id"]
            state = annotations.tracks[track_id].at(frame)
            assert state is not None and not state.outside  # nothing on outside frames
            seen.append(
                (
                    frame,
                    track_id,
                    coco.cats[a["category_id"]]["name"],
                    a["attributes"]["keyframe"],
                    a["attributes"]["occluded"],
                )
            )
            boxes[frame, track_id] = a["bbox"]
            annotation_ids.append(a["id"])
    assert sorted(seen) == _rows(expected)
    assert sorted(annotation_ids) == list(range(1, len(expected) + 1))
    for e in expected:
        np.testing.assert_allclose(boxes[e.frame, e.track_id], e.bbox, atol=1e-2)


def plan_ext(case: str) -> str:
    return CASES[case][1].images or "jpg"


def _evaluate(coco: COCO, iou_type: str) -> float:
    results = [{**a, "score": 1.0} for a in coco.dataset["annotations"]]
    evaluation = COCOeval(coco, coco.loadRes(results), iou_type)
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    return float(evaluation.stats[0])


def test_cocoeval_gives_ap_one_for_boxes_and_masks(tmp_path: Path) -> None:
    _export("mixed_png", tmp_path)
    path = tmp_path / "annotations" / "instances_default.json"
    assert _evaluate(COCO(str(path)), "bbox") == pytest.approx(1.0)
    # pycocotools' segm evaluation cannot read a box's "segmentation": [] (the CVAT/datumaro
    # convention), so it scores the polygons and masks alone.
    document = json.loads(path.read_text(encoding="utf-8"))
    document["annotations"] = [a for a in document["annotations"] if a["segmentation"]]
    path.write_text(json.dumps(document), encoding="utf-8")
    coco = COCO(str(path))
    masks = [a for a in coco.dataset["annotations"] if isinstance(a["segmentation"], dict)]
    assert masks and all(a["iscrowd"] == 0 for a in masks)
    for a in masks:  # pycocotools reads our uncompressed RLE with the area we wrote
        assert int(mask_utils.area(coco.annToRLE(a))) == a["area"]
    assert _evaluate(coco, "segm") == pytest.approx(1.0)  # (it rewrites the segmentations)


@pytest.mark.parametrize("case", ["mixed_png", "mixed_split_jpg"])
def test_datumaro_reads_the_same_objects(case: str, tmp_path: Path) -> None:
    import datumaro as dm

    annotations, plan = _export(case, tmp_path)
    expected = expected_objects(annotations, plan, KINDS)
    dataset = dm.Dataset.import_from(str(tmp_path), "coco_instances")
    labels = [c.name for c in dataset.categories()[dm.AnnotationType.label].items]
    assert labels == annotations.schema.names
    assert len(dataset) == len(plan.frames)
    # datumaro 1.13 gives every object its bbox, and a polygon or mask too when it has one
    types = {
        ShapeKind.BOX: ["bbox"],
        ShapeKind.POLYGON: ["bbox", "polygon"],
        ShapeKind.MASK: ["bbox", "mask"],
    }
    found: dict[tuple[int, int, str], list[str]] = {}
    for item in dataset:
        frame = int(item.id.removeprefix("frame_"))
        for a in item.annotations:
            track_id = int(a.attributes["track_id"])
            found.setdefault((frame, track_id, labels[a.label]), []).append(a.type.name)
            if a.type == dm.AnnotationType.bbox:
                state = annotations.tracks[track_id].at(frame)
                assert state is not None
                np.testing.assert_allclose(a.get_bbox(), state.shape.bbox(), atol=1e-2)
    assert {k: sorted(v) for k, v in found.items()} == {
        (e.frame, e.track_id, e.label): types[e.kind] for e in expected
    }


def test_validator_accepts_the_export(tmp_path: Path) -> None:
    annotations, plan = _export("mixed_png", tmp_path)
    summary = run_validator("coco", tmp_path)
    assert summary["items"] == len(plan.frames)
    assert summary["parsers"]["pycocotools:instances_default.json"]["cocoeval_self_AP"] == 1.0
    expected = expected_objects(annotations, plan, KINDS)
    assert summary["annotations_visible"] == len(expected)


def test_images_are_written_once_per_subset(tmp_path: Path) -> None:
    annotations = mixed_annotations()
    images = SolidFrames()
    options = ExportOptions(images="png", split=(0.5, 0.5, 0.0), split_blocks=2)
    plan = export_with(FORMAT, annotations, tmp_path, options, images)
    assert len(images.calls) == len(plan.subsets) == 2
    for frames, paths in images.calls:
        subset = paths[0].parent.name
        assert frames == [f.frame for f in plan.in_subset(subset)]
        assert paths == [tmp_path / "images" / subset / f"frame_{f:06d}.png" for f in frames]
        assert all(p.is_file() for p in paths)


def _states(annotations: AnnotationSet) -> dict[tuple[int, int], Any]:
    return {
        (frame, track_id): state
        for frame in range(annotations.video.frame_count)
        for track_id, state in visible_states(annotations, frame)
    }


def _same_shape(a: Any, b: Any) -> bool:
    if isinstance(a, Box):
        return isinstance(b, Box) and np.allclose(a.array, b.array, atol=1e-9)
    if isinstance(a, Polygon):
        return isinstance(b, Polygon) and np.allclose(a.points, b.points, atol=1e-9)
    return bool(a == b)


@pytest.mark.parametrize("given", [False, True], ids=["inferred", "given_schema_and_video"])
def test_import_gives_back_every_visible_shape(given: bool, tmp_path: Path) -> None:
    annotations = mixed_annotations()
    export_with(FORMAT, annotations, tmp_path, ExportOptions())
    kwargs: dict[str, Any] = {"video": VIDEO, "schema": make_schema()} if given else {}
    loaded = load(tmp_path, **kwargs)
    assert loaded.schema.names == annotations.schema.names
    before, after = _states(annotations), _states(loaded)
    assert before.keys() == after.keys()
    for key, state in before.items():
        again = after[key]
        assert _same_shape(state.shape, again.shape), key
        assert (again.occluded, dict(again.attributes)) == (state.occluded, dict(state.attributes))
    for track_id, track in annotations.tracks.items():
        assert dict(loaded.tracks[track_id].attributes) == dict(track.attributes)
        assert loaded.tracks[track_id].source == "imported"
    car = loaded.schema.label("car")
    assert {a.name: a.per_frame for a in car.attributes} == {"colour": False, "parked": True}


@pytest.mark.parametrize("frames", ["all", "every:2"])
def test_a_track_ends_where_its_images_do_when_nothing_else_is_visible(
    frames: str, tmp_path: Path
) -> None:
    """A person on frames 0-5 and nobody else until a car on 14-20: a ``--frames all`` export
    has no images of 6-13 (nothing visible), and the person was carried on to frame 14, the
    next image (an audit). ``every:2`` leaves frames out: there a track ends on the next
    frame of its grid, as before."""
    person = Track(
        2,
        "person",
        {
            0: Keyframe(Box(1, 1, 8, 8)),
            5: Keyframe(Box(9, 1, 8, 8)),
            6: Keyframe(Box(9, 1, 8, 8), outside=True),
        },
    )
    car = Track(
        1,
        "car",
        {
            14: Keyframe(Box(20, 20, 9, 9)),
            20: Keyframe(Box(30, 20, 9, 9)),
            21: Keyframe(Box(30, 20, 9, 9), outside=True),
        },
    )
    annotations = AnnotationSet(VIDEO, make_schema(), {1: car, 2: person})
    choice, step = ExportOptions.parse_frames(frames)
    export_with(FORMAT, annotations, tmp_path, ExportOptions(frames=choice, step=step))
    loaded = load(tmp_path)
    shown = [f for f in range(VIDEO.frame_count) if (s := loaded.tracks[2].at(f)) and not s.outside]
    assert shown == list(range(6))


def _document() -> dict[str, Any]:
    images = [
        {"id": i + 1, "file_name": f"frame_{f:06d}.jpg", "width": 64, "height": 48}
        for i, f in enumerate((0, 1, 3))
    ]
    box = {"bbox": [1, 2, 3, 4], "area": 12, "iscrowd": 0, "segmentation": []}
    annotations = [
        {"id": 1, "image_id": 1, "category_id": 1, **box, "attributes": {"track_id": 0}},
        {"id": 2, "image_id": 2, "category_id": 1, **box, "attributes": {"track_id": 0}},
        {"id": 3, "image_id": 3, "category_id": 2, **box},
    ]
    return {
        "images": images,
        "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": "dog"}],
        "annotations": annotations,
    }


def test_import_without_tracks_or_frame_numbers(tmp_path: Path) -> None:
    path = tmp_path / "instances_default.json"
    path.write_text(json.dumps(_document()), encoding="utf-8")
    loaded = load(path)
    assert loaded.video.frame_count == 4 and (loaded.video.width, loaded.video.height) == (64, 48)
    assert loaded.schema.names == ["car", "dog"]
    assert {t.id: (t.label, sorted(t.keyframes)) for t in loaded.tracks.values()} == {
        0: ("car", [0, 1, 3]),
        1: ("dog", [3]),
    }
    assert loaded.tracks[0].keyframes[3].outside  # closed on the next image without it
    document = _document()
    for image, name in zip(document["images"], ("b.jpg", "a.jpg", "c.jpg"), strict=True):
        image["file_name"] = name
    path.write_text(json.dumps(document), encoding="utf-8")
    assert sorted(load(path).tracks[0].keyframes) == [0, 1, 2]  # image order
    document["images"][2]["frame_index"] = 7
    for image, frame in zip(document["images"], (4, 5, 7), strict=True):
        image["frame_index"] = frame
    path.write_text(json.dumps(document), encoding="utf-8")
    loaded = load(path)
    assert sorted(loaded.tracks[0].keyframes) == [4, 5, 7]
    assert sorted(loaded.tracks[1].keyframes) == [7]  # the last grid frame: holds to the end


def test_import_of_rle_strings_and_multi_part_polygons(tmp_path: Path) -> None:
    dense = np.zeros((48, 64), dtype=bool)
    dense[5:9, 7:20] = True
    dense[30:31, 2:3] = True
    encoded = mask_utils.encode(np.asfortranarray(dense.astype(np.uint8)))
    document = _document()
    document["annotations"][0]["segmentation"] = {
        "size": [48, 64],
        "counts": encoded["counts"].decode(),
    }
    document["annotations"][1]["segmentation"] = [
        [0, 0, 4, 0, 4, 4, 0, 4],
        [10, 10, 12, 10, 12, 12, 10, 12],
    ]
    document["annotations"][2]["segmentation"] = [[0, 0, 4, 0, 4, 4]]
    path = tmp_path / "instances_default.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    loaded = load(path)
    first, second = (loaded.tracks[0].keyframes[f].shape for f in (0, 1))
    assert isinstance(first, Mask) and np.array_equal(first.to_dense(), dense)
    assert isinstance(second, Mask) and second.area == 16 + 4
    assert isinstance(loaded.tracks[1].keyframes[3].shape, Polygon)


def test_rle_strings_match_pycocotools() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        dense = rng.random((13, 17)) < rng.random()
        ours = Mask.from_dense(dense).rle
        theirs = mask_utils.encode(np.asfortranarray(dense.astype(np.uint8)))
        assert rle_to_string(ours) == theirs["counts"].decode()
        assert rle_from_string(theirs["counts"].decode(), 13, 17) == ours


def test_detect(tmp_path: Path) -> None:
    export_with(FORMAT, box_annotations(), tmp_path / "export")
    assert detect(tmp_path / "export")
    assert detect(tmp_path / "export" / "annotations" / "instances_default.json")
    other = tmp_path / "other.json"
    other.write_text(json.dumps(_document()), encoding="utf-8")
    assert detect(other)
    assert not detect(tmp_path)


def _mutated(change: Callable[[dict[str, Any]], object]) -> str:
    document = _document()
    change(document)
    return json.dumps(document, indent=2)


def _ann(document: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return document["annotations"][index]  # type: ignore[no-any-return]


# id -> (file text, load arguments, what the message must say: file, JSON path and field)
BAD: dict[str, tuple[Callable[[], str], dict[str, Any], str]] = {
    "bad_json": (
        lambda: _mutated(lambda d: None).replace('"width": 64,', '"width": 64', 1),
        {},
        r"bad\.json, line 7, column 7: not valid JSON: Expecting ','",
    ),
    "missing_images": (
        lambda: _mutated(lambda d: d.pop("images")),
        {},
        r"bad\.json, top level, images: missing",
    ),
    "nan_box": (
        lambda: _mutated(lambda d: _ann(d)["bbox"].__setitem__(0, float("nan"))),
        {},
        r"annotations\[0\]\.bbox, bbox\[0\]: must be a finite number, got nan",
    ),
    "negative_box": (
        lambda: _mutated(lambda d: _ann(d).update(bbox=[1, 2, -3, 4])),
        {},
        r"annotations\[0\], bbox: width and height must not be negative",
    ),
    "short_box": (
        lambda: _mutated(lambda d: _ann(d).update(bbox=[1, 2, 3])),
        {},
        r"annotations\[0\], bbox: must be 4 numbers",
    ),
    "unknown_label": (
        lambda: _mutated(lambda d: None),
        {"schema": Schema.of("car")},
        r"annotations\[2\], category_id: label 'dog' is not in the schema",
    ),
    "unknown_category": (
        lambda: _mutated(lambda d: _ann(d).update(category_id=9)),
        {},
        r"annotations\[0\], category_id: no category has id 9",
    ),
    "unknown_image": (
        lambda: _mutated(lambda d: _ann(d).update(image_id=9)),
        {},
        r"annotations\[0\], image_id: no image has id 9",
    ),
    "frame_beyond_video": (
        lambda: _mutated(lambda d: None),
        {"video": VideoRef("v.mp4", 2, 64, 48)},
        r"images\[2\], frame_index: frame 3 is beyond the video \(2 frames\)",
    ),
    "duplicate_annotation_id": (
        lambda: _mutated(lambda d: _ann(d, 1).update(id=1)),
        {},
        r"annotations\[1\], id: annotation id 1 is used twice",
    ),
    "duplicate_image_id": (
        lambda: _mutated(lambda d: d["images"][1].update(id=1)),
        {},
        r"images\[1\], id: image id 1 is used twice",
    ),
    "duplicate_category": (
        lambda: _mutated(lambda d: d["categories"][1].update(name="car")),
        {},
        r"categories\[1\], name: category name 'car' is used twice",
    ),
    "track_twice_on_a_frame": (
        lambda: _mutated(lambda d: _ann(d, 1).update(image_id=1)),
        {},
        r"annotations\[1\], track_id: track 0 is twice on frame 0",
    ),
    "track_changes_label": (
        lambda: _mutated(lambda d: _ann(d, 1).update(category_id=2)),
        {},
        r"annotations\[1\], category_id: track 0 changes label",
    ),
    "bad_track_id": (
        lambda: _mutated(lambda d: _ann(d)["attributes"].update(track_id="a")),
        {},
        r"annotations\[0\]\.attributes, track_id: must be an integer, got 'a'",
    ),
    "odd_polygon": (
        lambda: _mutated(lambda d: _ann(d).update(segmentation=[[1, 2, 3, 4, 5]])),
        {},
        r"annotations\[0\], segmentation\[0\]: a polygon needs an even number",
    ),
    "bad_rle": (
        lambda: _mutated(
            lambda d: _ann(d).update(segmentation={"size": [48, 64], "counts": [5, 5]})
        ),
        {},
        r"annotations\[0\]\.segmentation, mask\.counts: runs add up to 10 pixels",
    ),
    "rle_size": (
        lambda: _mutated(lambda d: _ann(d).update(segmentation={"size": [4, 4], "counts": [16]})),
        {},
        r"annotations\[0\]\.segmentation, size: size \[4, 4\] is not the image's \[48, 64\]",
    ),
    "image_size": (
        lambda: _mutated(lambda d: d["images"][1].update(width=32)),
        {},
        r"images\[1\], width: size 32x48 differs from the video's 64x48",
    ),
    "negative_size": (
        lambda: _mutated(lambda d: d["images"][0].update(height=-4)),
        {},
        r"images\[0\], height: must be >= 1, got -4",
    ),
    "bad_attribute": (
        lambda: _mutated(lambda d: _ann(d)["attributes"].update(colour="pink")),
        {"schema": make_schema()},
        r"annotations\[0\], attribute 'colour': 'pink' is not one of",
    ),
}


@pytest.mark.parametrize(("make", "kwargs", "message"), BAD.values(), ids=BAD.keys())
def test_malformed_files_are_refused(
    make: Callable[[], str], kwargs: dict[str, Any], message: str, tmp_path: Path
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(make(), encoding="utf-8")
    with pytest.raises(FormatError, match=message) as caught:
        load(path, **kwargs)
    assert caught.value.path == path


@pytest.mark.parametrize("rotation", [30.0, -60.0, 90.0, 135.0, 44.0, 45.0, -170.0])
def test_a_rotated_box_comes_back_turned(rotation: float, tmp_path: Path) -> None:
    """The export writes a rotated box's axis-aligned bounds and its ``rotation``; the import
    dropped the angle, so a 60x20 box at 30 degrees came back as its 62x47 bounds (an audit)."""
    side = 20.0 if rotation % 90 == 45 else 60.0  # at 45 degrees the bounds say only w + h
    box = Box(100, 100, side, 20, rotation)
    track = Track(1, "car", {0: Keyframe(box), 3: Keyframe(box, outside=True)})
    export_with(FORMAT, AnnotationSet(VIDEO, make_schema(), {1: track}), tmp_path)
    back = load(tmp_path).tracks[1].keyframes[0].shape
    assert isinstance(back, Box)
    expected = (box.x, box.y, box.w, box.h, box.rotation)
    assert np.allclose((back.x, back.y, back.w, back.h, back.rotation), expected, atol=1e-6)


def test_a_rotated_box_of_cvats_coco_is_its_rectangle_before_rotation(tmp_path: Path) -> None:
    """CVAT's COCO export writes the rectangle before rotation as the ``bbox``."""
    document = _document()
    document["annotations"][0]["attributes"]["rotation"] = 30.0
    path = tmp_path / "cvat.json"
    path.write_text(json.dumps(document))
    back = load(path).tracks[0].keyframes[0].shape
    assert back == Box(1, 2, 3, 4, 30.0)
