"""The annotation model: shapes, run-length masks, the schema, tracks and annotation sets."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pycocotools.mask as coco_mask
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tweenlab.core.annotations import AnnotationSet, ClipClass, Event, FrameTag, VideoRef
from tweenlab.core.rle import Rle
from tweenlab.core.schema import AttributeKind, AttributeSpec, LabelSpec, Schema
from tweenlab.core.shapes import (
    Box,
    Cuboid,
    Mask,
    Points,
    Polygon,
    Polyline,
    Shape,
    ShapeKind,
    Skeleton,
    shape_from_json,
)
from tweenlab.core.track import Keyframe, Track
from tweenlab.errors import AnnotationError

# -- shapes ----------------------------------------------------------------------------------

CUBE = [[0, 0], [4, 0], [4, 4], [0, 4], [1, 1], [5, 1], [5, 5], [1, 5]]
INVALID_SHAPES: list[tuple[str, Callable[[], object], str, str]] = [
    ("box NaN", lambda: Box(math.nan, 0, 1, 1), "box", "finite"),
    ("box infinite rotation", lambda: Box(0, 0, 1, 1, math.inf), "box", "finite"),
    ("box negative width", lambda: Box(0, 0, -1, 1), "box", "negative"),
    ("box negative height", lambda: Box(0, 0, 1, -0.5), "box", "negative"),
    # 1e308 boxes were stored, then interpolating their track overflowed on every read
    ("box far out", lambda: Box(1e308, 0, 1e308, 1), "box", r"within \+-1e\+09 pixels"),
    ("box huge width", lambda: Box(0, 0, 2e9, 1), "box", "within"),
    ("polygon far out", lambda: Polygon([[0, 0], [1, 1], [-1e12, 0]]), "polygon", "within"),
    ("polygon 2 points", lambda: Polygon([[0, 0], [1, 1]]), "polygon", "at least 3"),
    ("polygon NaN", lambda: Polygon([[0, 0], [1, math.nan], [2, 0]]), "polygon", "finite"),
    ("polyline 1 point", lambda: Polyline([[0, 0]]), "polyline", "at least 2"),
    ("points none", lambda: Points([]), "points", "at least 1"),
    ("points flags", lambda: Points([[0, 0]], [True, False]), "points.visible", "1 visibility"),
    ("cuboid 7 points", lambda: Cuboid(CUBE[:7]), "cuboid", "exactly 8"),
    ("cuboid 9 points", lambda: Cuboid([*CUBE, [0, 0]]), "cuboid", "exactly 8"),
    (
        "skeleton name count",
        lambda: Skeleton([[0, 0], [1, 1]], nodes=("head",)),
        "skeleton.nodes",
        "one unique name",
    ),
    (
        "skeleton repeated names",
        lambda: Skeleton([[0, 0], [1, 1]], nodes=("a", "a")),
        "skeleton.nodes",
        "one unique name",
    ),
    (
        "skeleton edge",
        lambda: Skeleton([[0, 0], [1, 1]], nodes=("a", "b"), edges=((0, 2),)),
        "skeleton.edges",
        r"edge \(0, 2\)",
    ),
    ("mask runs", lambda: Mask(Rle((1, 2), 2, 2)), "mask.counts", "add up to 3"),
    ("mask negative run", lambda: Rle((5, -1), 2, 2), "mask.counts", "negative"),
]


@pytest.mark.parametrize(
    ("build", "field", "match"),
    [case[1:] for case in INVALID_SHAPES],
    ids=[case[0] for case in INVALID_SHAPES],
)
def test_invalid_shapes_name_the_field(build: Callable[[], object], field: str, match: str) -> None:
    with pytest.raises(AnnotationError, match=match) as caught:
        build()
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


DENSE = np.zeros((6, 7), dtype=bool)
DENSE[1:4, 2:6] = True
SHAPES: list[Shape] = [
    Box(1.5, 2, 30, 40, rotation=-30),
    Polygon([[0, 0], [4, 0], [4, 3.5]]),
    Polyline([[0, 0], [10, 10]]),
    Points([[1, 2], [3, 4]], [True, False]),
    Skeleton([[0, 0], [0, 10], [5, 15]], [True, True, False], ("a", "b", "c"), ((0, 1), (1, 2))),
    Mask.from_dense(DENSE),
    Cuboid(CUBE),
]


def test_every_kind_is_in_the_round_trip_table() -> None:
    assert {shape.kind for shape in SHAPES} == set(ShapeKind)


@pytest.mark.parametrize("shape", SHAPES, ids=[s.kind.value for s in SHAPES])
def test_shape_json_round_trip(shape: Shape) -> None:
    data = json.loads(json.dumps(shape.to_json()))
    assert data["kind"] == shape.kind.value
    again = shape_from_json(data)
    assert type(again) is type(shape) and again == shape and hash(again) == hash(shape)
    assert again.bbox() == shape.bbox()


BAD_JSON: list[tuple[dict[str, Any], str, str]] = [
    ({"kind": "circle"}, "kind", "unknown shape kind 'circle'"),
    ({"x": 1}, "kind", "unknown shape kind 'None'"),
    ({"kind": "box", "x": 1, "y": 2, "w": 3}, "box", "missing 'h'"),
    ({"kind": "polygon", "points": [[0, 0], [1, 1]]}, "polygon", "at least 3"),
    ({"kind": "mask", "size": [2, 2], "counts": [1]}, "mask.counts", "add up to 1"),
]


@pytest.mark.parametrize(("data", "field", "match"), BAD_JSON, ids=[m for *_, m in BAD_JSON])
def test_bad_shape_json_names_the_field(data: dict[str, Any], field: str, match: str) -> None:
    with pytest.raises(AnnotationError, match=match) as caught:
        shape_from_json(data)
    assert caught.value.field == field


ROTATIONS = [
    (0, 0),
    (179.5, 179.5),
    (180, -180),
    (190, -170),
    (-180, -180),
    (-190, 170),
    (360, 0),
    (540, -180),
    (-725, -5),
]


@pytest.mark.parametrize(("given_angle", "stored"), ROTATIONS, ids=[str(a) for a, _ in ROTATIONS])
def test_box_rotation_is_normalised(given_angle: float, stored: float) -> None:
    rotation = Box(0, 0, 1, 1, given_angle).rotation
    assert rotation == pytest.approx(stored) and -180 <= rotation < 180


ROOT2 = math.sqrt(2)
ROTATED_BBOXES = [
    (Box(10, 20, 30, 40), (10, 20, 30, 40)),
    (Box(0, 0, 20, 10, 90), (5, -5, 10, 20)),
    (Box(0, 0, 20, 10, -90), (5, -5, 10, 20)),
    (Box(0, 0, 20, 10, 180), (0, 0, 20, 10)),
    (Box(0, 0, 10, 10, 45), (5 - 5 * ROOT2, 5 - 5 * ROOT2, 10 * ROOT2, 10 * ROOT2)),
]


@pytest.mark.parametrize(
    ("box", "bbox"), ROTATED_BBOXES, ids=[f"{b.rotation:g}deg" for b, _ in ROTATED_BBOXES]
)
def test_bbox_of_rotated_box(box: Box, bbox: tuple[float, ...]) -> None:
    assert box.bbox() == pytest.approx(bbox, abs=1e-9)


POLYGON_AREAS = [
    ("triangle", [[0, 0], [4, 0], [0, 3]], 6.0),
    ("clockwise square", [[0, 0], [0, 4], [4, 4], [4, 0]], 16.0),
    ("counter-clockwise square", [[0, 0], [4, 0], [4, 4], [0, 4]], 16.0),
    ("L shape", [[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2]], 3.0),
    ("degenerate", [[0, 0], [1, 1], [2, 2]], 0.0),
]


@pytest.mark.parametrize(
    ("points", "area"), [c[1:] for c in POLYGON_AREAS], ids=[c[0] for c in POLYGON_AREAS]
)
def test_polygon_area(points: list[list[float]], area: float) -> None:
    assert Polygon(points).area == pytest.approx(area)


def test_shapes_are_read_only_and_compare_by_value() -> None:
    polygon = Polygon([[0, 0], [4, 0], [0, 3]])
    with pytest.raises(ValueError, match="read-only"):
        polygon.points[0, 0] = 9
    assert polygon == Polygon(np.array([[0, 0], [4, 0], [0, 3]]))
    assert polygon != Polyline([[0, 0], [4, 0], [0, 3]])
    assert Skeleton([[0, 0]], nodes=("a",)).node("a").tolist() == [0.0, 0.0]
    assert Points([[0, 0], [9, 9]], [True, False]).bbox() == (0.0, 0.0, 0.0, 0.0)


# -- run-length masks ------------------------------------------------------------------------

SMALL_MASKS = st.tuples(st.integers(0, 9), st.integers(0, 9)).flatmap(
    lambda size: hnp.arrays(np.bool_, size)
)
NON_EMPTY_MASKS = st.tuples(st.integers(1, 9), st.integers(1, 9)).flatmap(
    lambda size: hnp.arrays(np.bool_, size)
)


@settings(max_examples=200, deadline=None)
@given(SMALL_MASKS)
def test_rle_round_trip(dense: np.ndarray[Any, Any]) -> None:
    rle = Rle.encode(dense)
    assert np.array_equal(rle.decode(), dense)
    assert rle.area == int(dense.sum()) and sum(rle.counts) == dense.size
    assert all(count > 0 for count in rle.counts[1:])  # runs are maximal


# pycocotools 2.0 meets numpy 2's __array__ copy keyword with a DeprecationWarning, not ours.
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
@settings(max_examples=200, deadline=None)
@given(NON_EMPTY_MASKS)
def test_rle_agrees_with_pycocotools(dense: np.ndarray[Any, Any]) -> None:
    rle = Rle.encode(dense)
    height, width = dense.shape
    theirs = coco_mask.frPyObjects(rle.to_coco(), height, width)
    assert np.array_equal(coco_mask.decode(theirs).astype(bool), dense)
    assert int(coco_mask.area(theirs)) == rle.area
    if rle.area:
        assert tuple(coco_mask.toBbox(theirs).tolist()) == rle.bbox()


def test_rle_of_an_empty_mask_and_a_full_one() -> None:
    assert Rle.encode(np.zeros((2, 3), dtype=bool)).counts == (6,)
    assert Rle.encode(np.ones((2, 3), dtype=bool)).counts == (0, 6)
    assert Rle.encode(np.zeros((2, 3), dtype=bool)).bbox() == (0.0, 0.0, 0.0, 0.0)
    with pytest.raises(AnnotationError, match="2-D"):
        Rle.encode(np.zeros(4, dtype=bool))


# -- schema ----------------------------------------------------------------------------------

COLOUR = AttributeSpec("colour", AttributeKind.SELECT, ("red", "blue"))
PARKED = AttributeSpec("parked", AttributeKind.CHECKBOX, per_frame=True)
SPEED = AttributeSpec("speed", AttributeKind.NUMBER, minimum=0, maximum=50, per_frame=True)
NOTE = AttributeSpec("note", AttributeKind.TEXT, default="none")
SCHEMA = Schema(
    (
        LabelSpec(
            "car", kinds=frozenset({ShapeKind.BOX}), attributes=(COLOUR, PARKED, SPEED, NOTE)
        ),
        LabelSpec("person", "#00ff00", frozenset({ShapeKind.SKELETON, ShapeKind.POINTS})),
        LabelSpec("blurry"),
        LabelSpec("walking"),
    )
)

INVALID_SCHEMAS: list[tuple[str, Callable[[], object], str]] = [
    ("repeated labels", lambda: Schema.of("car", "bus", "car"), r"label names repeat: \['car'\]"),
    ("empty label name", lambda: LabelSpec(""), "not a usable label name"),
    ("padded label name", lambda: LabelSpec(" car"), "not a usable label name"),
    ("bad colour", lambda: LabelSpec("car", "red"), "not #rrggbb"),
    ("repeated attributes", lambda: LabelSpec("car", attributes=(COLOUR, COLOUR)), "repeat"),
    ("attribute without name", lambda: AttributeSpec("", AttributeKind.TEXT), "needs a name"),
    ("select without values", lambda: AttributeSpec("a", AttributeKind.SELECT), "at least one"),
    (
        "number range",
        lambda: AttributeSpec("a", AttributeKind.NUMBER, minimum=5, maximum=1),
        "minimum exceeds maximum",
    ),
    (
        "default not a choice",
        lambda: AttributeSpec("a", AttributeKind.RADIO, ("x", "y"), default="z"),
        r"'z' is not one of \['x', 'y'\]",
    ),
    (
        "default out of range",
        lambda: AttributeSpec("a", AttributeKind.NUMBER, default=200),
        r"200.0 is outside 0.0..100.0",
    ),
]


@pytest.mark.parametrize(
    ("build", "match"), [c[1:] for c in INVALID_SCHEMAS], ids=[c[0] for c in INVALID_SCHEMAS]
)
def test_invalid_schemas_are_refused(build: Callable[[], object], match: str) -> None:
    with pytest.raises(AnnotationError, match=match):
        build()


def test_unknown_shape_kind_in_a_label_is_refused() -> None:
    # ShapeKind("circle") raises a bare ValueError today; an AnnotationError naming the label
    # would be better (reported), so either is accepted here.
    with pytest.raises((AnnotationError, ValueError), match="circle"):
        LabelSpec("car", kinds=frozenset({"circle"}))  # type: ignore[arg-type]


DEFAULTS = [
    (AttributeSpec("a", AttributeKind.CHECKBOX), False),
    (AttributeSpec("a", AttributeKind.RADIO, ("x", "y")), "x"),
    (AttributeSpec("a", AttributeKind.SELECT, ("x", "y"), default="y"), "y"),
    (AttributeSpec("a", AttributeKind.TEXT), ""),
    (AttributeSpec("a", AttributeKind.NUMBER, minimum=3, maximum=9), 3.0),
    (AttributeSpec("a", AttributeKind.CHECKBOX, default="true"), True),
]


@pytest.mark.parametrize(
    ("spec", "default"), DEFAULTS, ids=[f"{s.kind.value}-{d}" for s, d in DEFAULTS]
)
def test_attribute_defaults(spec: AttributeSpec, default: object) -> None:
    assert spec.default == default and type(spec.default) is type(default)


def test_attribute_values_are_checked_and_defaults_filled() -> None:
    car = SCHEMA.label("car")
    assert car.check_attributes({"colour": "blue"}, per_frame=False) == {
        "colour": "blue",
        "note": "none",
    }
    assert car.check_attributes({"speed": "12.5"}, per_frame=True) == {
        "parked": False,
        "speed": 12.5,
    }
    with pytest.raises(AnnotationError, match="'green' is not one of") as caught:
        car.check_attributes({"colour": "green"}, per_frame=False)
    assert caught.value.field == "attribute 'colour'"
    with pytest.raises(AnnotationError, match="'fast' is not a number"):
        car.check_attributes({"speed": "fast"}, per_frame=True)
    with pytest.raises(AnnotationError, match="'yes' is not true or false"):
        car.check_attributes({"parked": "yes"}, per_frame=True)
    with pytest.raises(AnnotationError, match="has no attribute 'wheels'"):
        car.check_attributes({"wheels": 4}, per_frame=False)


SCOPES = [
    ("per-frame given per track", {"parked": True}, False, "is per frame"),
    ("per-track given per frame", {"colour": "red"}, True, "is per track"),
]


@pytest.mark.parametrize(
    ("values", "per_frame", "match"), [c[1:] for c in SCOPES], ids=[c[0] for c in SCOPES]
)
def test_attribute_scope_errors(values: dict[str, Any], per_frame: bool, match: str) -> None:
    with pytest.raises(AnnotationError, match=match) as caught:
        SCHEMA.label("car").check_attributes(values, per_frame=per_frame)
    assert caught.value.field == f"label 'car' attribute {next(iter(values))!r}"


def test_unknown_label_lists_the_known_ones() -> None:
    with pytest.raises(AnnotationError, match=r"unknown label 'bus' \(known: \['car', 'person'"):
        SCHEMA.label("bus")
    with pytest.raises(AnnotationError, match=r"allows \['points', 'skeleton'\], not box"):
        SCHEMA.check_kind("person", ShapeKind.BOX)
    SCHEMA.check_kind("blurry", ShapeKind.MASK)  # no kinds listed: every kind


def test_schema_order_colours_and_merge() -> None:
    assert SCHEMA.names == ["car", "person", "blurry", "walking"]
    assert SCHEMA.index("blurry") == 2
    assert SCHEMA.label("person").color == "#00ff00"
    assert SCHEMA.label("car").color != SCHEMA.label("blurry").color
    assert SCHEMA.merged(["bus", "car", "bus"]).names == [*SCHEMA.names, "bus"]


def test_schema_json_round_trip() -> None:
    again = Schema.from_json(json.loads(json.dumps(SCHEMA.to_json())))
    assert again == SCHEMA


# -- tracks ----------------------------------------------------------------------------------


def _box(x: float) -> Box:
    return Box(x, 0, 10, 10)


STEPPED = Track(
    1,
    "car",
    {
        5: Keyframe(_box(0), attributes={"speed": 1}),
        10: Keyframe(_box(10), occluded=True, attributes={"speed": 2}),
        15: Keyframe(_box(20), outside=True),
        20: Keyframe(_box(30)),
        25: Keyframe(_box(40), occluded=True),
    },
)

# frame -> (shown, occluded, speed, x, keyframe)
STEPS = [
    (0, None),
    (4, None),
    (5, (True, False, 1, 0.0, True)),
    (7, (True, False, 1, 4.0, False)),
    (10, (True, True, 2, 10.0, True)),
    (14, (True, True, 2, 18.0, False)),
    (15, (False, False, None, 20.0, True)),
    (19, (False, False, None, 20.0, False)),
    (20, (True, False, None, 30.0, True)),
    (25, (True, True, None, 40.0, True)),
    (99, (True, True, None, 40.0, False)),
]


@pytest.mark.parametrize(("frame", "expected"), STEPS, ids=[f"frame {f}" for f, _ in STEPS])
def test_track_steps_flags_and_holds_the_last_shape(
    frame: int, expected: tuple[bool, bool, int | None, float, bool] | None
) -> None:
    state = STEPPED.at(frame)
    if expected is None:
        assert state is None
        return
    assert state is not None
    shown, occluded, speed, x, keyframe = expected
    assert (state.visible, state.occluded, state.keyframe, state.frame) == (
        shown,
        occluded,
        keyframe,
        frame,
    )
    assert state.attributes.get("speed") == speed
    assert isinstance(state.shape, Box) and state.shape.x == pytest.approx(x)


BOX_KEYFRAMES = st.builds(
    lambda x, y, w, h, rotation, outside, occluded: Keyframe(
        Box(x, y, w, h, rotation), outside=outside, occluded=occluded
    ),
    st.floats(-100, 100),
    st.floats(-100, 100),
    st.floats(0, 50),
    st.floats(0, 50),
    st.floats(-180, 179.9),
    st.booleans(),
    st.booleans(),
)
BOX_TRACKS = st.dictionaries(st.integers(0, 40), BOX_KEYFRAMES, min_size=1, max_size=6).map(
    lambda keys: Track(1, "car", keys)
)


@settings(max_examples=100, deadline=None)
@given(BOX_TRACKS)
def test_track_at_keyframes_is_exactly_the_keyframe(track: Track) -> None:
    assert track.at(track.first_frame - 1) is None
    for frame, key in track.keyframes.items():
        state = track.at(frame)
        assert state is not None and state.keyframe
        assert state.shape == key.shape and state.shape.to_json() == key.shape.to_json()
        assert (state.outside, state.occluded) == (key.outside, key.occluded)


@settings(max_examples=100, deadline=None)
@given(BOX_TRACKS)
def test_box_array_agrees_with_at(track: Track) -> None:
    frames = np.arange(0, 50)
    boxes, visible = track.box_array(frames)
    assert boxes.shape == (50, 5) and visible.shape == (50,)
    for frame, box, shown in zip(frames.tolist(), boxes, visible.tolist(), strict=True):
        state = track.at(frame)
        assert shown == (state is not None and state.visible), frame
        if state is not None and state.visible:
            assert isinstance(state.shape, Box)
            assert np.allclose(box[:4], state.shape.array[:4], atol=1e-6), frame
            turn = (box[4] - state.shape.rotation + 180) % 360 - 180
            assert abs(turn) < 1e-6, frame


def test_track_refuses_mixed_kinds_and_nothing() -> None:
    with pytest.raises(AnnotationError, match=r"mixes shape kinds \['box', 'polygon'\]") as caught:
        Track(3, "car", {0: Keyframe(_box(0)), 5: Keyframe(Polygon([[0, 0], [1, 0], [0, 1]]))})
    assert caught.value.field == "track 3"
    with pytest.raises(AnnotationError, match="at least one keyframe"):
        Track(3, "car", {})
    with pytest.raises(AnnotationError, match="not be negative"):
        Track(3, "car", {-1: Keyframe(_box(0))})
    with pytest.raises(AnnotationError, match="not boxes"):
        Track(3, "person", {0: Keyframe(Points([[0, 0]]))}).box_array(np.arange(3))


def test_track_frames_and_building() -> None:
    assert STEPPED.frames == (5, 10, 15, 20, 25) and STEPPED.kind is ShapeKind.BOX
    assert STEPPED.visible_frames(22) == [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 20, 21]
    assert STEPPED.with_keyframe(7, Keyframe(_box(3))).frames == (5, 7, 10, 15, 20, 25)
    assert STEPPED.without_keyframes({5, 10}) is not None
    assert STEPPED.without_keyframes(set(STEPPED.frames)) is None
    assert [k["frame"] for k in STEPPED.to_json()["keyframes"]] == [5, 10, 15, 20, 25]


# -- annotation sets -------------------------------------------------------------------------

VIDEO = VideoRef("clip.mp4", frame_count=30, width=64, height=48)
CAR = Track(1, "car", {0: Keyframe(_box(0)), 29: Keyframe(_box(5))}, attributes={"note": "x"})


def test_a_valid_annotation_set() -> None:
    annotations = AnnotationSet(
        VIDEO,
        SCHEMA,
        {1: CAR},
        tags=(FrameTag(3, "blurry"),),
        events=(Event(2, 9, "walking"),),
        classes=(ClipClass("blurry"), ClipClass("walking", 0, 29)),
    )
    assert annotations.track(1) is CAR and annotations.next_track_id() == 2
    assert annotations.shape_count() == 2
    other = Track(4, "blurry", {1: Keyframe(_box(1))})
    grown = annotations.with_tracks([other], removed=[1])
    assert list(grown.tracks) == [4] and list(annotations.tracks) == [1]


INVALID_SETS: list[tuple[str, dict[str, Any], str]] = [
    (
        "unknown track label",
        {"tracks": {1: Track(1, "bus", {0: Keyframe(_box(0))})}},
        r"unknown label 'bus' \(known",
    ),
    (
        "kind not allowed",
        {"tracks": {1: Track(1, "car", {0: Keyframe(Points([[0, 0]]))})}},
        "allows .'box'., not points",
    ),
    (
        "frame past the video",
        {"tracks": {1: Track(1, "car", {30: Keyframe(_box(0))})}},
        r"track 1: frame 30 is outside the video \(0..29\)",
    ),
    ("stored under another id", {"tracks": {2: CAR}}, "track 1: is stored under id 2"),
    (
        "per-frame attribute on the track",
        {"tracks": {1: Track(1, "car", {0: Keyframe(_box(0))}, attributes={"parked": True})}},
        "is per frame",
    ),
    (
        "bad keyframe attribute",
        {"tracks": {1: Track(1, "car", {4: Keyframe(_box(0), attributes={"speed": 99})})}},
        r"track 1 frame 4 attribute 'speed': 99.0 is outside",
    ),
    ("tag past the video", {"tags": (FrameTag(30, "blurry"),)}, "tag 'blurry': frame 30"),
    ("tag unknown label", {"tags": (FrameTag(3, "dark"),)}, "unknown label 'dark'"),
    ("event past the video", {"events": (Event(20, 40, "walking"),)}, "event 'walking'"),
    ("event unknown label", {"events": (Event(2, 4, "running"),)}, "unknown label 'running'"),
    ("class past the video", {"classes": (ClipClass("blurry", 0, 30),)}, "class 'blurry'"),
    ("class unknown label", {"classes": (ClipClass("night"),)}, "unknown label 'night'"),
]


@pytest.mark.parametrize(
    ("parts", "match"), [c[1:] for c in INVALID_SETS], ids=[c[0] for c in INVALID_SETS]
)
def test_invalid_annotation_sets_are_refused(parts: dict[str, Any], match: str) -> None:
    with pytest.raises(AnnotationError, match=match):
        AnnotationSet(VIDEO, SCHEMA, **parts)


INVALID_PARTS: list[tuple[str, Callable[[], object], str]] = [
    ("event ends before it starts", lambda: Event(5, 4, "walking"), r"ends \(4\) before"),
    ("class with start only", lambda: ClipClass("blurry", 3), "give both start and end"),
    ("class ends before it starts", lambda: ClipClass("blurry", 5, 4), "ends before it starts"),
    ("video without frames", lambda: VideoRef("a.mp4", 0, 64, 48), "positive frame count"),
    ("video without width", lambda: VideoRef("a.mp4", 10, 0, 48), "positive frame count"),
]


@pytest.mark.parametrize(
    ("build", "match"), [c[1:] for c in INVALID_PARTS], ids=[c[0] for c in INVALID_PARTS]
)
def test_invalid_parts_are_refused(build: Callable[[], object], match: str) -> None:
    with pytest.raises(AnnotationError, match=match):
        build()


def test_unknown_track_is_its_own_error() -> None:
    from tweenlab.errors import UnknownTrackError

    with pytest.raises(UnknownTrackError, match="no track 7"):
        AnnotationSet(VIDEO, SCHEMA).track(7)
