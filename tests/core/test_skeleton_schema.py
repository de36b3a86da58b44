"""A skeleton label's points and edges in the schema (``SkeletonSpec``): checked when built,
kept by JSON and the native format, and every skeleton of the label has exactly its points."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tweenlab.core import (
    AnnotationSet,
    Keyframe,
    LabelSpec,
    Schema,
    ShapeKind,
    Skeleton,
    SkeletonSpec,
    Track,
    VideoRef,
)
from tweenlab.errors import AnnotationError, FormatError
from tweenlab.formats import native

POSE = SkeletonSpec(("head", "neck", "hip"), ((0, 1), (1, 2)))
SCHEMA = Schema((LabelSpec("person", kinds=frozenset({ShapeKind.SKELETON}), skeleton=POSE),))
VIDEO = VideoRef("walk.mp4", frame_count=10, width=64, height=48)

INVALID: list[tuple[str, Callable[[], object], str]] = [
    ("no points", lambda: SkeletonSpec(()), "one or more unique"),
    ("empty name", lambda: SkeletonSpec(("head", " ")), "one or more unique"),
    ("repeated name", lambda: SkeletonSpec(("head", "head")), "one or more unique"),
    ("edge to nowhere", lambda: SkeletonSpec(("a", "b"), ((0, 2),)), r"edge \(0, 2\)"),
    ("edge to itself", lambda: SkeletonSpec(("a", "b"), ((1, 1),)), r"edge \(1, 1\)"),
    ("edge twice", lambda: SkeletonSpec(("a", "b"), ((0, 1), (1, 0))), r"edge \(1, 0\)"),
    (
        "label without skeleton shapes",
        lambda: LabelSpec("person", kinds=frozenset({ShapeKind.BOX}), skeleton=POSE),
        "does not allow skeleton shapes",
    ),
]


@pytest.mark.parametrize(("build", "match"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_skeletons_are_refused(build: Callable[[], object], match: str) -> None:
    with pytest.raises(AnnotationError, match=match):
        build()


def test_the_skeleton_survives_json_and_a_label_without_one_writes_none() -> None:
    data = json.loads(json.dumps(SCHEMA.to_json()))
    assert data[0]["skeleton"] == {"nodes": ["head", "neck", "hip"], "edges": [[0, 1], [1, 2]]}
    assert Schema.from_json(data) == SCHEMA
    assert "skeleton" not in Schema.of("car").to_json()[0]  # other labels' JSON is unchanged
    assert LabelSpec("person", skeleton=POSE).skeleton == POSE  # any kind allowed: fine


def pose(nodes: tuple[str, ...]) -> Track:
    points = [[float(i), float(i)] for i in range(len(nodes))]
    return Track(1, "person", {0: Keyframe(Skeleton(points, nodes=nodes, edges=((0, 1),)))})


@pytest.mark.parametrize(
    ("nodes", "match"),
    [(("head", "neck"), r"missing \['hip'\]"), (("head", "neck", "tail"), r"unknown \['tail'\]")],
    ids=["a point missing", "an unknown point"],
)
def test_a_skeleton_needs_exactly_the_labels_points(nodes: tuple[str, ...], match: str) -> None:
    with pytest.raises(AnnotationError, match=match) as caught:
        AnnotationSet(VIDEO, SCHEMA, {1: pose(nodes)})
    assert "track 1 frame 0" in str(caught.value)


def test_the_points_may_come_in_any_order_and_the_native_format_keeps_the_skeleton() -> None:
    annotations = AnnotationSet(VIDEO, SCHEMA, {1: pose(("hip", "head", "neck"))})
    again = native.loads(native.dumps(annotations))
    assert again == annotations and again.schema.label("person").skeleton == POSE
    document = json.loads(native.dumps(annotations))
    document["schema"][0]["skeleton"]["edges"] = [[0, "neck"]]
    with pytest.raises(FormatError, match="pairs of point indices"):
        native.loads(json.dumps(document))
