"""A track's in-between shapes (computed by motion between keyframes): they replace straight
interpolation on their frames, never become keyframes, go when a keyframe of their span changes,
and survive the native format; a COCO export uses them."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tweenlab.core import AnnotationSet, Box, Keyframe, Polygon, Schema, Track, VideoRef
from tweenlab.errors import AnnotationError, FormatError
from tweenlab.formats import native


def box_track(**inbetween: Box) -> Track:
    keys = {
        0: Keyframe(Box(0, 0, 10, 10)),
        10: Keyframe(Box(100, 0, 10, 10)),
        20: Keyframe(Box(100, 0, 10, 10)),
        30: Keyframe(Box(0, 50, 10, 10), outside=True),
        38: Keyframe(Box(0, 50, 10, 10)),
    }
    return Track(1, "car", keys, inbetween={int(f[1:]): s for f, s in inbetween.items()})


def test_inbetween_shapes_replace_straight_interpolation_on_their_frames() -> None:
    track = box_track(f5=Box(20, 30, 12, 12))
    state = track.at(5)
    assert state is not None and state.shape == Box(20, 30, 12, 12) and not state.keyframe
    assert track.at(4).shape == Box(40, 0, 10, 10)  # type: ignore[union-attr]
    assert 5 not in track.frames
    boxes, visible = track.box_array(np.array([4, 5, 6, 33]))
    assert boxes[1].tolist() == [20, 30, 12, 12, 0]
    assert boxes[0].tolist() == pytest.approx([40, 0, 10, 10, 0])
    assert boxes[2].tolist() == pytest.approx([60, 0, 10, 10, 0])
    assert visible.tolist() == [True, True, True, False]


@pytest.mark.parametrize(
    ("frame", "reason"),
    [(0, "between two keyframes"), (33, "between two keyframes"), (39, "between two keyframes")],
)
def test_inbetween_only_strictly_inside_a_span_in_the_picture(frame: int, reason: str) -> None:
    with pytest.raises(AnnotationError, match=reason):
        box_track(**{f"f{frame}": Box(1, 1, 5, 5)})


def test_inbetween_of_another_kind_is_refused() -> None:
    with pytest.raises(AnnotationError, match="polygon in a box track"):
        box_track(f5=Polygon([[0, 0], [5, 0], [0, 5]]))  # type: ignore[arg-type]


def test_a_changed_keyframe_drops_the_inbetween_shapes_of_its_spans_only() -> None:
    track = box_track(f3=Box(1, 1, 9, 9), f7=Box(2, 2, 9, 9), f25=Box(3, 3, 9, 9))
    assert track.with_keyframe(5, Keyframe(Box(50, 5, 10, 10))).inbetween == {25: Box(3, 3, 9, 9)}
    assert set(track.with_keyframe(10, Keyframe(Box(90, 0, 10, 10))).inbetween) == {25}
    assert set(track.with_keyframe(27, Keyframe(Box(9, 9, 9, 9))).inbetween) == {3, 7}
    removed = track.without_keyframes({20})
    assert removed is not None and set(removed.inbetween) == {3, 7}  # 25 was in a span of 20
    assert set(track.with_inbetween({8: Box(4, 4, 9, 9)}).inbetween) == {3, 7, 8, 25}


def annotations(track: Track) -> AnnotationSet:
    video = VideoRef("clip.mp4", frame_count=40, width=200, height=100)
    return AnnotationSet(video, Schema.of("car"), {track.id: track})


def test_native_round_trip_keeps_inbetween_shapes() -> None:
    track = box_track(f3=Box(1, 1, 9, 9), f7=Box(2, 2, 9, 9, 30))
    text = native.dumps(annotations(track))
    assert '"inbetween"' in text
    assert native.loads(text) == annotations(track)
    plain = native.dumps(annotations(box_track()))
    assert '"inbetween"' not in plain  # files without them are unchanged


def test_native_reports_a_bad_inbetween_frame(tmp_path: Path) -> None:
    document = json.loads(native.dumps(annotations(box_track(f3=Box(1, 1, 9, 9)))))
    document["tracks"][0]["inbetween"][0]["frame"] = 33
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(document))
    with pytest.raises(FormatError, match="between two keyframes") as caught:
        native.load(path)
    assert "tracks[0]" in str(caught.value)


def test_confidence_goes_with_its_inbetween_shape() -> None:
    track = box_track(f3=Box(1, 1, 9, 9), f7=Box(2, 2, 9, 9), f25=Box(3, 3, 9, 9))
    scored = track.with_inbetween({}, {3: 0.9, 7: 0.4, 25: 0.7, 12: 0.5})
    assert dict(scored.confidence) == {3: 0.9, 7: 0.4, 25: 0.7}  # 12 has no shape: dropped
    assert dict(scored.with_keyframe(5, Keyframe(Box(50, 5, 10, 10))).confidence) == {25: 0.7}
    removed = scored.without_keyframes({20})
    assert removed is not None and dict(removed.confidence) == {3: 0.9, 7: 0.4}
    # a shape computed again without a confidence does not keep the old one
    assert dict(scored.with_inbetween({7: Box(5, 5, 9, 9)}).confidence) == {3: 0.9, 25: 0.7}
    edited = replace(scored, keyframes={**scored.keyframes, 0: Keyframe(Box(1, 0, 10, 10))})
    assert dict(edited.keeping_inbetween_of(scored).confidence) == {25: 0.7}
    with pytest.raises(AnnotationError, match=r"not in 0\.\.1"):
        track.with_inbetween({}, {3: 1.5})


def test_native_round_trip_keeps_confidence_and_refuses_one_out_of_range(tmp_path: Path) -> None:
    track = box_track(f3=Box(1, 1, 9, 9), f7=Box(2, 2, 9, 9)).with_inbetween({}, {7: 0.25})
    text = native.dumps(annotations(track))
    items = json.loads(text)["tracks"][0]["inbetween"]
    assert [item.get("confidence") for item in items] == [None, 0.25]
    assert native.loads(text) == annotations(track)
    document = json.loads(text)
    document["tracks"][0]["inbetween"][1]["confidence"] = 2
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(document))
    with pytest.raises(FormatError, match=r"0\.\.1"):
        native.load(path)
