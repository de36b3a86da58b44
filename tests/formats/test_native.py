"""The native JSON format: exact round trips, migrations, and clear errors for malformed files."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.formats.helpers import (
    VIDEO,
    box_annotations,
    every_kind_annotations,
    export_with,
    make_schema,
    mixed_annotations,
)
from tweenlab.core import AnnotationSet, Box, Keyframe, Schema, Track, VideoRef
from tweenlab.errors import FormatError
from tweenlab.formats import ExportOptions, coco, native
from tweenlab.formats.native import FORMAT, JsonNode, dumps, load, loads, migrate

SETS: dict[str, Callable[[], AnnotationSet]] = {
    "boxes": box_annotations,
    "mixed": mixed_annotations,
    "every_kind": every_kind_annotations,
    "empty": lambda: AnnotationSet(VIDEO, make_schema()),
}


@pytest.mark.parametrize("build", SETS.values(), ids=SETS.keys())
def test_export_then_load_is_exact(build: Callable[[], AnnotationSet], tmp_path: Path) -> None:
    annotations = build()
    options = ExportOptions(frames="keyframes", images="png")
    export_with(FORMAT, annotations, tmp_path / "out", options)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["annotations.json"]
    for source in (tmp_path / "out", tmp_path / "out" / "annotations.json"):
        loaded = load(source)
        assert loaded == annotations
        assert dumps(loaded) == dumps(annotations)


def test_every_kind_survives_field_by_field() -> None:
    annotations = every_kind_annotations()
    loaded = loads(dumps(annotations), "memory.json")
    for track_id, track in annotations.tracks.items():
        again = loaded.tracks[track_id]
        assert (again.label, again.source, dict(again.attributes)) == (
            track.label,
            track.source,
            dict(track.attributes),
        )
        for frame, key in track.keyframes.items():
            assert again.keyframes[frame] == key
            assert type(again.keyframes[frame].shape) is type(key.shape)
    assert loaded.tags == annotations.tags
    assert loaded.events == annotations.events
    assert loaded.classes == annotations.classes
    assert loaded.video.fps == VIDEO.fps
    assert loaded.track(5).keyframes[1].shape == Box(5.25, 6.5, 20, 10, rotation=33.3)


def test_keyframes_are_written_not_dense(tmp_path: Path) -> None:
    annotations = box_annotations()
    export_with(FORMAT, annotations, tmp_path, ExportOptions(frames="all"))
    document = json.loads((tmp_path / "annotations.json").read_text(encoding="utf-8"))
    assert list(document)[:2] == ["format", "version"]
    written = {t["id"]: [k["frame"] for k in t["keyframes"]] for t in document["tracks"]}
    assert written == {t.id: list(t.frames) for t in annotations.tracks.values()}


boxes = st.builds(
    Box,
    st.floats(-50, 200, allow_nan=False),
    st.floats(-50, 200, allow_nan=False),
    st.floats(0, 100, allow_nan=False),
    st.floats(0, 100, allow_nan=False),
    st.floats(-180, 180, allow_nan=False),
)
keyframes = st.builds(Keyframe, boxes, st.booleans(), st.booleans())
tracks = st.lists(
    st.tuples(
        st.dictionaries(st.integers(0, VIDEO.frame_count - 1), keyframes, min_size=1, max_size=5),
        st.sampled_from(["car", "person"]),
        st.sampled_from(["manual", "auto", "imported"]),
    ),
    max_size=4,
)


@settings(max_examples=40, deadline=None, database=None)
@given(tracks)
def test_random_box_tracks_round_trip(drawn: list[tuple[dict[int, Keyframe], str, str]]) -> None:
    annotations = AnnotationSet(
        VIDEO,
        Schema.of("car", "person"),
        {
            i + 1: Track(i + 1, label, keys, source=source)
            for i, (keys, label, source) in enumerate(drawn)
        },
    )
    with tempfile.TemporaryDirectory() as folder:
        export_with(FORMAT, annotations, Path(folder))
        loaded = load(Path(folder))
    assert dumps(loaded) == dumps(annotations)
    assert loaded == annotations


def test_detect() -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        export_with(FORMAT, box_annotations(), folder / "native")
        export_with(coco.FORMAT, box_annotations(), folder / "coco")
        assert native.detect(folder / "native")
        assert native.detect(folder / "native" / "annotations.json")
        assert not native.detect(folder / "coco")
        assert not native.detect(folder / "coco" / "annotations" / "instances_default.json")
        assert not coco.detect(folder / "native" / "annotations.json")


def test_given_video_and_schema_are_used_and_checked() -> None:
    text = dumps(box_annotations())
    longer = VideoRef("other.mp4", 100, 64, 48)
    assert loads(text, "a.json", video=longer).video == longer
    with pytest.raises(FormatError, match=r"tracks\[0\], label: unknown label 'car'"):
        loads(text, "a.json", schema=Schema.of("person"))
    with pytest.raises(FormatError, match=r"a\.json, tracks\[0\]\.keyframes\[4\], frame: frame 16"):
        loads(text, "a.json", video=VideoRef("short.mp4", 14, 64, 48))


def test_migrations_run_in_order() -> None:
    def one_to_two(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "steps": [*data.get("steps", []), 1]}

    def two_to_three(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "steps": [*data["steps"], 2]}

    node = JsonNode(Path("old.json"), "", {"format": "tweenlab", "version": 1})
    upgraded = migrate(node, current=3, migrations={1: one_to_two, 2: two_to_three})
    assert upgraded["steps"] == [1, 2] and upgraded["version"] == 3
    with pytest.raises(FormatError, match="no migration from version 1"):
        migrate(node, current=2, migrations={})


def _document() -> dict[str, Any]:
    return json.loads(dumps(mixed_annotations()))  # type: ignore[no-any-return]


def _mutated(change: Callable[[dict[str, Any]], object]) -> str:
    document = _document()
    change(document)
    return json.dumps(document, indent=1)


def _shape(document: dict[str, Any]) -> dict[str, Any]:
    return document["tracks"][0]["keyframes"][0]["shape"]  # type: ignore[no-any-return]


# id -> (file text, what the message must say: file, line or JSON path, field)
BAD: dict[str, tuple[Callable[[], str], str]] = {
    "bad_json": (
        lambda: dumps(box_annotations()).replace('"version": 1,', '"version": 1'),
        r"bad\.json, line 4, column 2: not valid JSON: Expecting ',' delimiter",
    ),
    "not_an_object": (lambda: "[1, 2]", r"bad\.json, top level: must be an object, got an array"),
    "not_tweenlab": (
        lambda: _mutated(lambda d: d.update(format="coco")),
        r"top level, format: is not a tweenlab file",
    ),
    "missing_key": (lambda: _mutated(lambda d: d.pop("video")), r"top level, video: missing"),
    "missing_shape_key": (
        lambda: _mutated(lambda d: _shape(d).pop("w")),
        r"tracks\[0\]\.keyframes\[0\]\.shape, w: missing",
    ),
    "nan_box": (
        lambda: _mutated(lambda d: _shape(d).update(x=float("nan"))),
        r"tracks\[0\]\.keyframes\[0\]\.shape, x: must be a finite number, got nan",
    ),
    "negative_box": (
        lambda: _mutated(lambda d: _shape(d).update(h=-2)),
        r"tracks\[0\]\.keyframes\[0\]\.shape, h: must be >= 0, got -2",
    ),
    "wrong_type": (
        lambda: _mutated(lambda d: d["video"].update(frame_count="24")),
        r"video, frame_count: must be an integer, got '24'",
    ),
    "bad_fps": (
        lambda: _mutated(lambda d: d["video"].update(fps="fast")),
        r"video, fps: must be a positive rate",
    ),
    "unknown_label": (
        lambda: _mutated(lambda d: d["tracks"][1].update(label="dog")),
        r"tracks\[1\], label: unknown label 'dog'",
    ),
    "frame_beyond_video": (
        lambda: _mutated(lambda d: d["tracks"][0]["keyframes"][5].update(frame=24)),
        r"tracks\[0\]\.keyframes\[5\], frame: frame 24 is beyond the video \(24 frames\)",
    ),
    "negative_frame": (
        lambda: _mutated(lambda d: d["tracks"][0]["keyframes"][0].update(frame=-1)),
        r"tracks\[0\]\.keyframes\[0\], frame: must be >= 0",
    ),
    "duplicate_track_id": (
        lambda: _mutated(lambda d: d["tracks"][1].update(id=1)),
        r"tracks\[1\], id: track id 1 is used twice",
    ),
    "duplicate_keyframe": (
        lambda: _mutated(lambda d: d["tracks"][0]["keyframes"][1].update(frame=0)),
        r"tracks\[0\]\.keyframes\[1\], frame: frame 0 has two keyframes",
    ),
    "newer_version": (
        lambda: _mutated(lambda d: d.update(version=99)),
        r"top level, version: version 99 is newer .* upgrade tweenlab",
    ),
    "short_polygon": (
        lambda: _mutated(lambda d: d["tracks"][2]["keyframes"][0]["shape"]["points"].pop()),
        r"tracks\[2\]\.keyframes\[0\]\.shape, polygon: needs at least 3 points",
    ),
    "bad_point": (
        lambda: _mutated(lambda d: d["tracks"][2]["keyframes"][0]["shape"]["points"][1].append(3)),
        r"tracks\[2\]\.keyframes\[0\]\.shape\.points, \[1\]: must be \[x, y\]",
    ),
    "bad_mask": (
        lambda: _mutated(lambda d: d["tracks"][3]["keyframes"][0]["shape"]["counts"].append(5)),
        r"tracks\[3\]\.keyframes\[0\]\.shape, mask\.counts: runs add up to",
    ),
    "mixed_kinds": (
        lambda: _mutated(
            lambda d: d["tracks"][0]["keyframes"][1].update(
                shape=d["tracks"][2]["keyframes"][0]["shape"]
            )
        ),
        r"tracks\[0\], track 1: mixes shape kinds",
    ),
    "bad_attribute": (
        lambda: _mutated(lambda d: d["tracks"][0]["keyframes"][0]["attributes"].update(x=1)),
        r"tracks\[0\], track 1 frame 0 x: label 'car' has no attribute 'x'",
    ),
    "nested_attribute": (
        lambda: _mutated(lambda d: d["tracks"][0]["attributes"].update(colour=[1])),
        r"tracks\[0\]\.attributes, colour: must be a bool, finite number or string",
    ),
    "duplicate_label": (
        lambda: _mutated(lambda d: d["schema"].append(d["schema"][0])),
        r"schema\[2\], name: label 'car' is declared twice",
    ),
    "bad_attribute_kind": (
        lambda: _mutated(lambda d: d["schema"][0]["attributes"][0].update(kind="slider")),
        r"schema\[0\]\.attributes\[0\], kind: must be one of",
    ),
    "event_backwards": (
        lambda: _mutated(lambda d: d["events"].append({"start": 5, "end": 2, "label": "car"})),
        r"events\[0\], event 'car': ends \(2\) before it starts \(5\)",
    ),
    "tag_beyond_video": (
        lambda: _mutated(lambda d: d["tags"].append({"frame": 30, "label": "car"})),
        r"tags\[0\], tag 'car': frame 30 is outside the video",
    ),
    "class_half_range": (
        lambda: _mutated(lambda d: d["classes"].append({"label": "car", "start": 3})),
        r"classes\[0\], class 'car': give both start and end",
    ),
}


@pytest.mark.parametrize(("make", "message"), BAD.values(), ids=BAD.keys())
def test_malformed_files_are_refused(make: Callable[[], str], message: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(make(), encoding="utf-8")
    with pytest.raises(FormatError, match=message) as caught:
        load(path)
    assert caught.value.path == path


def test_missing_file_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r"annotations\.json: no such file"):
        load(tmp_path)
