"""CVAT for video 1.1 XML: read back by datumaro and the validators, round trips through
``load``, third-party samples load, malformed files name their line or element and field."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import datumaro as dm
import numpy as np
import pytest
from datumaro.util import mask_tools

from tests.formats.helpers import (
    VIDEO,
    SolidFrames,
    box_annotations,
    every_kind_annotations,
    export_with,
    make_schema,
    mixed_annotations,
    run_validator,
)
from tweenlab.core import AnnotationSet, Box, Keyframe, Mask, Schema, ShapeKind, Track, TrackState
from tweenlab.errors import FormatError
from tweenlab.formats import ExportOptions, cvat_video

SAMPLES = Path("/work/shared/tools/validators/samples/cvat_video")
SETS: dict[str, Callable[[], AnnotationSet]] = {
    "boxes": box_annotations,
    "mixed": mixed_annotations,
    "every_kind": every_kind_annotations,
}
STEPS = [1, 3]
# datumaro 1.13 skips <cuboid>; mask tracks are not written unless masks=True
DATUMARO_KINDS = {
    ShapeKind.BOX,
    ShapeKind.POLYGON,
    ShapeKind.POLYLINE,
    ShapeKind.POINTS,
    ShapeKind.SKELETON,
}


def _options(step: int) -> ExportOptions:
    return ExportOptions(frames="every", step=step) if step > 1 else ExportOptions()


def _geometry(state: TrackState) -> list[float]:
    """The numbers datumaro gives for a shape: bbox, (cx, cy, w, h, r) or flat points."""
    shape = state.shape
    if isinstance(shape, Box):
        if shape.rotation:
            return [shape.x + shape.w / 2, shape.y + shape.h / 2, shape.w, shape.h, shape.rotation]
        return list(shape.bbox())
    return [float(v) for v in shape.points.ravel()]  # type: ignore[attr-defined]


def _datumaro(folder: Path) -> dict[tuple[int, int], dict[str, Any]]:
    """``(frame, track id) -> what datumaro's cvat importer read``."""
    dataset = dm.Dataset.import_from(str(folder), "cvat")
    labels = dataset.categories()[dm.AnnotationType.label]
    found = {}
    for item in dataset:
        for annotation in item.annotations:
            if annotation.type is dm.AnnotationType.bbox:
                numbers = list(annotation.get_bbox())
            elif annotation.type is dm.AnnotationType.rotated_bbox:
                numbers = [annotation.cx, annotation.cy, annotation.w, annotation.h, annotation.r]
            else:
                numbers = list(annotation.points)
            attributes = dict(annotation.attributes)
            key = (item.attributes["frame"], attributes.pop("track_id"))
            assert key not in found, f"two shapes of one track on one frame: {key}"
            found[key] = {"label": labels[annotation.label].name, "numbers": numbers, **attributes}
    return found


@pytest.mark.parametrize("step", STEPS, ids=[f"step{s}" for s in STEPS])
@pytest.mark.parametrize("build", SETS.values(), ids=SETS.keys())
def test_datumaro_reads_visible_states(
    build: Callable[[], AnnotationSet], step: int, tmp_path: Path
) -> None:
    annotations = build()
    export_with(cvat_video.FORMAT, annotations, tmp_path, _options(step))
    found = _datumaro(tmp_path)
    expected_outside = set()
    grid = range(0, VIDEO.frame_count, step)
    for track_id, track in annotations.tracks.items():
        if track.kind not in DATUMARO_KINDS:
            continue
        previous_visible = False
        for frame in grid:
            state = track.at(frame)
            visible = state is not None and not state.outside
            key = (frame, track_id - 1)  # CVAT ids count from 0
            if visible:
                assert state is not None
                read = found[key]
                assert (read["label"], read["outside"], read["occluded"]) == (
                    track.label,
                    False,
                    state.occluded,
                )
                assert read["numbers"] == pytest.approx(_geometry(state), abs=6e-3)
                # with a step, the grid frames around an off-grid keyframe are keyframes too
                must = state.keyframe or not previous_visible
                assert read["keyframe"] is must if step == 1 else read["keyframe"] or not must
                for name, value in {**track.attributes, **state.attributes}.items():
                    assert read[name] == value
            elif previous_visible:
                expected_outside.add(key)
            previous_visible = visible
    outside = {key for key, read in found.items() if read["outside"]}
    assert outside == expected_outside
    assert {key[1] for key in found} == {
        t.id - 1 for t in _on_grid(annotations, step) if t.kind in DATUMARO_KINDS
    }


def _on_grid(annotations: AnnotationSet, step: int) -> list[Track]:
    """The tracks visible on some frame of the task's grid (the others are not written)."""
    grid = range(0, annotations.video.frame_count, step)
    return [
        t
        for t in annotations.tracks.values()
        if any(s is not None and not s.outside for s in map(t.at, grid))
    ]


@pytest.mark.parametrize("step", STEPS, ids=[f"step{s}" for s in STEPS])
@pytest.mark.parametrize("build", SETS.values(), ids=SETS.keys())
def test_validator_accepts_it(
    build: Callable[[], AnnotationSet], step: int, tmp_path: Path
) -> None:
    export_with(cvat_video.FORMAT, build(), tmp_path / "out", _options(step))
    summary = run_validator("cvat_video", tmp_path / "out")
    assert summary["cvat_sparse_gaps"] == 0
    assert summary["cvat_meta"]["frame_filter"] == (f"step={step}" if step > 1 else None)


def _filled(annotations: AnnotationSet, track: Track, state: TrackState) -> dict[str, Any]:
    label = annotations.schema.label(track.label)
    return {
        **label.check_attributes(track.attributes, per_frame=False),
        **label.check_attributes(state.attributes, per_frame=True),
    }


def _same_shape(before: TrackState, after: TrackState) -> None:
    if isinstance(before.shape, Mask):
        assert after.shape == before.shape
    elif isinstance(before.shape, Box):
        assert after.shape.array == pytest.approx(before.shape.array, abs=0.0101)  # type: ignore[attr-defined]
    else:
        assert after.shape.points == pytest.approx(before.shape.points, abs=0.0051)  # type: ignore[attr-defined]


@pytest.mark.parametrize("step", STEPS, ids=[f"step{s}" for s in STEPS])
@pytest.mark.parametrize("build", SETS.values(), ids=SETS.keys())
def test_round_trip(build: Callable[[], AnnotationSet], step: int, tmp_path: Path) -> None:
    annotations = build()
    options = _options(step)
    plan = export_with(cvat_video.FORMAT, annotations, tmp_path, options)
    cvat_video.export(annotations, tmp_path, plan, options, masks=True)
    loaded = cvat_video.load(tmp_path)
    assert loaded.video.name == VIDEO.name
    assert (loaded.video.width, loaded.video.height) == (VIDEO.width, VIDEO.height)
    assert loaded.video.frame_count == (VIDEO.frame_count - 1) // step * step + 1
    assert loaded.schema.names == annotations.schema.names
    assert [label.attributes for label in loaded.schema.labels] == [
        label.attributes for label in annotations.schema.labels
    ]
    assert sorted(loaded.tracks) == [t.id for t in _on_grid(annotations, step)]
    for track_id, again in loaded.tracks.items():
        track = annotations.tracks[track_id]
        assert (again.label, again.source) == (track.label, track.source)
        if step == 1 and track.first_frame < loaded.video.frame_count:
            assert again.frames == track.frames
        for frame in range(0, loaded.video.frame_count, step):
            before, after = track.at(frame), again.at(frame)
            if before is None or before.outside:
                assert after is None or after.outside
                continue
            assert after is not None and not after.outside
            assert after.occluded == before.occluded
            assert _filled(annotations, track, before) == _filled(loaded, again, after)
            _same_shape(before, after)


def test_masks_are_left_out_unless_asked(tmp_path: Path) -> None:
    annotations = mixed_annotations()
    export_with(cvat_video.FORMAT, annotations, tmp_path)
    assert "<mask" not in (tmp_path / "annotations.xml").read_text()
    assert sorted(cvat_video.load(tmp_path).tracks) == [1, 2, 3]


def test_mask_rle_is_what_datumaro_decodes(tmp_path: Path) -> None:
    annotations = mixed_annotations()
    options = ExportOptions()
    plan = export_with(cvat_video.FORMAT, annotations, tmp_path, options)
    cvat_video.export(annotations, tmp_path, plan, options, masks=True)
    masks = ElementTree.parse(tmp_path / "annotations.xml").getroot().iter("mask")
    checked = 0
    for element in masks:
        frame = int(element.get("frame", ""))
        state = annotations.tracks[4].at(frame)
        assert state is not None and isinstance(state.shape, Mask)
        left, top, width, height = (
            int(element.get(k, "")) for k in ("left", "top", "width", "height")
        )
        counts = np.array([int(v) for v in element.get("rle", "").split(",")], dtype=np.uint32)
        # datumaro's CVAT reader: RLE of a (W, H) array, transposed (cvat/base.py _gen_mask);
        # pycocotools under numpy 2 warns about __array__'s copy keyword there
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            rle = {"counts": counts, "size": np.array([width, height])}
            crop = mask_tools.rle_to_mask(rle).T
        dense = state.shape.to_dense()
        assert (crop == dense[top : top + height, left : left + width]).all()
        assert crop.sum() == dense.sum()
        checked += 1
    assert checked == 7  # frames 5..10, then the closing outside shape on 11


def test_images_are_png_at_the_planned_frames(tmp_path: Path) -> None:
    images = SolidFrames()
    plan = export_with(
        cvat_video.FORMAT,
        box_annotations(),
        tmp_path,
        ExportOptions(frames="every", step=4, images="jpg"),
        images,
    )
    frames = [f.frame for f in plan.frames]
    assert frames == list(range(0, VIDEO.frame_count, 4))
    assert images.calls == [(frames, [tmp_path / "images" / f"frame_{f:06d}.png" for f in frames])]
    dataset = dm.Dataset.import_from(str(tmp_path), "cvat")
    assert all(item.media.has_data for item in dataset)


@pytest.mark.parametrize(
    "sample", ["datumaro_for_video", "cvat_docs_xml_format_example", "cvat_semantics_dense"]
)
def test_third_party_samples_load_as_datumaro_reads_them(sample: str) -> None:
    folder = SAMPLES / sample
    if not folder.is_dir():
        pytest.skip(f"SKIPPED LOUDLY: the validators' sample {folder} is absent")
    loaded = cvat_video.load(folder)
    for (frame, cvat_id), read in _datumaro(folder).items():
        state = loaded.tracks[cvat_id + 1].at(frame)
        assert state is not None
        assert state.outside == read["outside"]
        assert loaded.tracks[cvat_id + 1].label == read["label"]
        if not read["outside"]:
            assert _geometry(state) == pytest.approx(read["numbers"], abs=6e-3)
            assert state.occluded == read["occluded"]


XML_HEAD = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta><task><size>10</size><mode>interpolation</mode><start_frame>0</start_frame>
    <stop_frame>9</stop_frame><labels>
      <label><name>car</name><attributes><attribute><name>colour</name>
        <mutable>False</mutable><input_type>select</input_type><default_value>red</default_value>
        <values>red
blue</values></attribute></attributes></label>
    </labels><original_size><width>64</width><height>48</height></original_size></task></meta>
"""
BOX = '<box frame="{f}" outside="0" occluded="0" keyframe="1" xtl="1" ytl="2" xbr="5" ybr="6"/>'
GOOD_TRACK = f'<track id="0" label="car">{BOX.format(f=0)}</track>'

BAD_XML = [
    (
        "malformed",
        XML_HEAD + "<track id='0' label='car'><box></track>",
        11,
        "column",
        "malformed XML",
    ),
    ("truncated", XML_HEAD + GOOD_TRACK, 11, "column", "malformed XML"),
    (
        "doctype",
        '<?xml version="1.0"?>\n<!DOCTYPE annotations [<!ENTITY a "b">]>\n'
        + XML_HEAD.split("\n", 1)[1]
        + "</annotations>",
        2,
        "DOCTYPE",
        "refused",
    ),
    (
        "entity_only",
        '<?xml version="1.0"?>\n\n<!ENTITY a "b">\n<annotations/>',
        3,
        "DOCTYPE",
        "refused",
    ),
    (
        "undefined_entity",
        XML_HEAD + "<track id='0' label='&x;'/></annotations>",
        11,
        "column",
        "undefined entity",
    ),
    ("wrong_root", "<dataset><meta/></dataset>", 1, "root", "not <annotations>"),
    (
        "no_meta",
        "<annotations><version>1.1</version></annotations>",
        "<annotations>",
        "meta",
        "no <meta>",
    ),
    (
        "track_before_meta",
        f"<annotations>{GOOD_TRACK}</annotations>",
        "<track>",
        "meta",
        "before <meta>",
    ),
    (
        "unknown_label",
        XML_HEAD + f'<track id="3" label="bus">{BOX.format(f=0)}</track></annotations>',
        "track id=3",
        "label",
        "'bus' is not declared",
    ),
    (
        "bad_number",
        XML_HEAD + '<track id="3" label="car"><box frame="17" xtl="a" ytl="2" '
        'xbr="5" ybr="6"/></track></annotations>',
        "track id=3, box frame=17",
        "xtl",
        "'a' is not a number",
    ),
    (
        "missing_coordinate",
        XML_HEAD + '<track id="3" label="car"><box frame="1" xtl="1" '
        'ytl="2" xbr="5"/></track></annotations>',
        "track id=3, box frame=1",
        "ybr",
        "missing",
    ),
    (
        "negative_size",
        XML_HEAD + '<track id="3" label="car"><box frame="1" xtl="9" ytl="2" '
        'xbr="5" ybr="6"/></track></annotations>',
        "track id=3, box frame=1",
        "box",
        "negative",
    ),
    (
        "bad_points",
        XML_HEAD + '<track id="3" label="car"><polygon frame="1" points="1,2;3" />'
        "</track></annotations>",
        "track id=3, polygon frame=1",
        "points",
        "x,y;x,y",
    ),
    (
        "bad_flag",
        XML_HEAD + '<track id="3" label="car"><box frame="1" outside="yes" xtl="1" '
        'ytl="2" xbr="5" ybr="6"/></track></annotations>',
        "track id=3, box frame=1",
        "outside",
        "not 0 or 1",
    ),
    (
        "frame_beyond",
        XML_HEAD + f'<track id="3" label="car">{BOX.format(f=10)}</track></annotations>',
        "track id=3, box frame=10",
        "frame",
        "beyond the video's 10 frames",
    ),
    (
        "frames_out_of_order",
        XML_HEAD + f'<track id="3" label="car">{BOX.format(f=4)}'
        f"{BOX.format(f=4)}</track></annotations>",
        "track id=3, box frame=4",
        "frame",
        "frame order",
    ),
    (
        "unknown_attribute",
        XML_HEAD + '<track id="3" label="car"><box frame="1" xtl="1" ytl="2" '
        'xbr="5" ybr="6"><attribute name="speed">3</attribute></box></track></annotations>',
        "track id=3, box frame=1",
        "attribute 'speed'",
        "no attribute 'speed'",
    ),
    (
        "bad_attribute_value",
        XML_HEAD + '<track id="3" label="car"><box frame="1" xtl="1" '
        'ytl="2" xbr="5" ybr="6"><attribute name="colour">green</attribute></box></track>'
        "</annotations>",
        "track id=3, box frame=1",
        "attribute 'colour'",
        "'green' is not one of",
    ),
    (
        "track_attribute_changes",
        XML_HEAD + '<track id="3" label="car"><box frame="1" xtl="1" '
        'ytl="2" xbr="5" ybr="6"><attribute name="colour">red</attribute></box><box frame="2" '
        'xtl="1" ytl="2" xbr="5" ybr="6"><attribute name="colour">blue</attribute></box></track>'
        "</annotations>",
        "track id=3, box frame=2",
        "attribute 'colour'",
        "changes",
    ),
    (
        "repeated_track",
        XML_HEAD + GOOD_TRACK + GOOD_TRACK + "</annotations>",
        "track id=0",
        "id",
        "repeats",
    ),
    (
        "empty_track",
        XML_HEAD + '<track id="0" label="car"></track></annotations>',
        "track id=0",
        "shapes",
        "no shapes",
    ),
    (
        "images_mode",
        XML_HEAD + '<image id="0" name="a.png"></image></annotations>',
        "<image>",
        "image",
        "CVAT for images",
    ),
    (
        "skeleton",
        XML_HEAD + '<track id="0" label="car"><skeleton frame="0"/></track></annotations>',
        "<skeleton>",
        "skeleton",
        "skeleton tracks",
    ),
    (
        "mixed_kinds",
        XML_HEAD + f'<track id="0" label="car">{BOX.format(f=0)}<polygon frame="1" '
        'points="1,2;3,4;5,5"/></track></annotations>',
        "track id=0",
        "track 1",
        "mixes",
    ),
    (
        "bad_input_type",
        XML_HEAD.replace("select", "slider") + "</annotations>",
        "<labels> label 'car'",
        "attribute 'colour'",
        "unknown input_type",
    ),
    (
        "bad_stop_frame",
        XML_HEAD.replace("<stop_frame>9", "<stop_frame>x") + "</annotations>",
        "<meta><task>",
        "stop_frame",
        "not a whole number",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "field", "message"), [c[1:] for c in BAD_XML], ids=[c[0] for c in BAD_XML]
)
def test_malformed_files_name_line_or_element_and_field(
    text: str, line: int | str, field: str, message: str, tmp_path: Path
) -> None:
    (tmp_path / "annotations.xml").write_text(text)
    with pytest.raises(FormatError, match=message) as caught:
        cvat_video.load(tmp_path)
    error = caught.value
    assert error.path == tmp_path / "annotations.xml"
    assert error.line == line
    assert error.field is not None and error.field.startswith(field)
    where = f"line {line}" if isinstance(line, int) else line
    assert str(error).startswith(f"{tmp_path / 'annotations.xml'}, {where}, {field}")


def test_a_given_schema_must_know_every_label(tmp_path: Path) -> None:
    (tmp_path / "annotations.xml").write_text(XML_HEAD + GOOD_TRACK + "</annotations>")
    assert cvat_video.load(tmp_path, schema=make_schema()).tracks[1].label == "car"
    with pytest.raises(FormatError, match=r"track id=0, label: label 'car' is not in the schema"):
        cvat_video.load(tmp_path, schema=Schema.of("person"))


def test_interpolated_shapes_are_dropped_but_spans_start_with_a_keyframe(tmp_path: Path) -> None:
    shapes = "".join(
        f'<box frame="{f}" outside="{int(f == 3)}" occluded="0" keyframe="{int(f in (0, 2))}" '
        f'xtl="{f}" ytl="0" xbr="{f + 4}" ybr="4"/>'
        for f in (0, 1, 2, 3, 5, 6)
    )
    (tmp_path / "annotations.xml").write_text(
        XML_HEAD + f'<track id="0" label="car">{shapes}</track></annotations>'
    )
    track = cvat_video.load(tmp_path).tracks[1]
    assert track.frames == (0, 2, 3, 5)
    assert [track.keyframes[f].outside for f in track.frames] == [False, False, True, False]
    assert track.at(6).shape == Box(5, 0, 4, 4)  # type: ignore[union-attr]


def test_without_video_the_meta_and_the_shapes_say_what_it_is(tmp_path: Path) -> None:
    head = XML_HEAD.replace("<stop_frame>9</stop_frame>", "").replace(
        "<original_size><width>64</width><height>48</height></original_size>", ""
    )
    (tmp_path / "annotations.xml").write_text(head + GOOD_TRACK + "</annotations>")
    video = cvat_video.load(tmp_path).video
    assert (video.name, video.frame_count, video.width, video.height) == (tmp_path.name, 10, 5, 6)
    given = VIDEO
    assert cvat_video.load(tmp_path, video=given).video == given


def test_an_outside_shape_past_the_end_is_ignored(tmp_path: Path) -> None:
    closing = '<box frame="10" outside="1" keyframe="1" xtl="1" ytl="2" xbr="5" ybr="6"/>'
    (tmp_path / "annotations.xml").write_text(
        XML_HEAD + f'<track id="0" label="car">{BOX.format(f=9)}{closing}</track></annotations>'
    )
    assert cvat_video.load(tmp_path).tracks[1].frames == (9,)


DETECT = [
    ("folder", "annotations.xml", ".", XML_HEAD + "</annotations>", True),
    ("file", "annotations.xml", "annotations.xml", XML_HEAD + "</annotations>", True),
    (
        "images_mode",
        "annotations.xml",
        ".",
        "<annotations><meta><task><mode>annotation</mode></task></meta></annotations>",
        False,
    ),
    ("other_xml", "annotations.xml", ".", "<dataset/>", False),
    ("mot", "gt/gt.txt", ".", "1,1,1,1,5,5,1,1,1\n", False),
]


@pytest.mark.parametrize(
    ("name", "target", "text", "expected"), [c[1:] for c in DETECT], ids=[c[0] for c in DETECT]
)
def test_detect(name: str, target: str, text: str, expected: bool, tmp_path: Path) -> None:
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text(text)
    assert cvat_video.detect(tmp_path / target) is expected


@pytest.mark.parametrize("step", [1, 2])
def test_in_between_shapes_come_back_on_every_frame(step: int, tmp_path: Path) -> None:
    """Shapes filled by motion (between keyframes and past the last one) follow the motion, not
    CVAT's straight line between keyframes, and CVAT keeps only keyframes: they were written
    ``keyframe="0"`` and came back up to 40 px off (an audit). A lone one is a jump."""
    track = Track(
        1,
        "car",
        {4: Keyframe(Box(10, 10, 8, 8)), 12: Keyframe(Box(30, 10, 8, 8))},
        inbetween={8: Box(26, 20, 8, 8), 16: Box(40, 10, 8, 8), 17: Box(41, 12, 8, 8)},
        leaves=20,
    )
    annotations = AnnotationSet(VIDEO, make_schema(), {1: track})
    export_with(cvat_video.FORMAT, annotations, tmp_path, ExportOptions(frames="every", step=step))
    loaded = cvat_video.load(tmp_path / "annotations.xml").tracks[1]
    for frame in range(0, VIDEO.frame_count, step):
        written, read = track.at(frame), loaded.at(frame)
        assert (written is None or written.outside) == (read is None or read.outside), frame
        if written is not None and not written.outside:
            assert read is not None and read.shape == written.shape, frame


def test_a_box_of_no_size_is_not_written(tmp_path: Path) -> None:
    """COCO, MOT and Datumaro leave a zero-size box out; CVAT's file had it, which the shared
    validator refuses (an audit)."""
    track = Track(
        1,
        "car",
        {
            0: Keyframe(Box(10, 10, 0, 0)),
            4: Keyframe(Box(10, 10, 20, 20)),
            5: Keyframe(Box(10, 10, 20, 20), outside=True),
        },
    )
    export_with(cvat_video.FORMAT, AnnotationSet(VIDEO, make_schema(), {1: track}), tmp_path)
    boxes = ElementTree.parse(tmp_path / "annotations.xml").getroot().iter("box")
    shown = {int(b.get("frame", -1)): b for b in boxes if b.get("outside") == "0"}
    assert sorted(shown) == [1, 2, 3, 4]
    assert all(float(b.get("xbr", 0)) > float(b.get("xtl", 0)) for b in shown.values())
    run_validator("cvat_video", tmp_path)
