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
    [(0, "frame 0 is a keyframe"), (33, "after keyframe 30, where the object is outside")],
)
def test_inbetween_only_where_the_object_is_in_the_picture_between_keyframes(
    frame: int, reason: str
) -> None:
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
    with pytest.raises(FormatError, match="frame 33 is after keyframe 30") as caught:
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


def extended() -> Track:
    """Keyframes on 10 and 20; carried back to 7 and on to 23, where it left the picture."""
    keys = {10: Keyframe(Box(10, 0, 10, 10), occluded=True), 20: Keyframe(Box(20, 0, 10, 10))}
    shapes = {f: Box(f, 0, 10, 10) for f in (7, 8, 9, 21, 22)}
    return Track(1, "car", keys, inbetween=shapes, leaves=23)


def test_an_extended_track_starts_at_its_first_carried_shape_and_leaves_where_found() -> None:
    track = extended()
    assert track.start == 7 and track.first_frame == 10
    assert track.at(6) is None
    head = track.at(7)
    assert head is not None and head.shape == Box(7, 0, 10, 10) and not head.keyframe
    assert head.occluded  # the first keyframe's flags hold on the frames carried before it
    assert track.at(22).shape == Box(22, 0, 10, 10)  # type: ignore[union-attr]
    gone = track.at(23)
    assert gone is not None and gone.outside
    assert [s.frame for s in track.states(30) if s.visible] == list(range(7, 23))
    assert track.visible_frames(30) == list(range(7, 23))
    boxes, visible = track.box_array(np.arange(5, 26))
    assert visible.tolist() == [False, False] + [True] * 16 + [False] * 3
    assert boxes[2:18, 0].tolist() == list(range(7, 23))


def test_after_the_last_keyframe_a_frame_without_a_shape_holds_the_one_before_it() -> None:
    keys = {0: Keyframe(Box(0, 0, 10, 10))}
    track = Track(1, "car", keys, inbetween={2: Box(2, 0, 10, 10), 5: Box(5, 0, 10, 10)})
    shown = [track.at(f).shape.x for f in range(8)]  # type: ignore[union-attr]
    assert shown == [0, 0, 2, 2, 2, 5, 5, 5]
    boxes, visible = track.box_array(np.arange(8))
    assert boxes[:, 0].tolist() == shown and visible.all()


def test_an_edit_at_an_end_drops_that_end_s_extension_only() -> None:
    track = extended()
    later = track.with_keyframe(30, Keyframe(Box(30, 0, 10, 10)))
    assert set(later.inbetween) == {7, 8, 9} and later.leaves is None
    inside = track.with_keyframe(12, Keyframe(Box(12, 0, 10, 10)))
    assert set(inside.inbetween) == {7, 8, 9, 21, 22} and inside.leaves == 23
    earlier = track.with_keyframe(5, Keyframe(Box(5, 0, 10, 10)))
    assert set(earlier.inbetween) == {21, 22} and earlier.leaves == 23
    moved = track.with_keyframe(20, Keyframe(Box(25, 0, 10, 10)))
    assert set(moved.inbetween) == {7, 8, 9} and moved.leaves is None
    resent = replace(later, inbetween=track.inbetween)  # an editor sends back what it had
    assert set(resent.keeping_inbetween_of(track).inbetween) == {7, 8, 9}
    same = replace(track, keyframes={**track.keyframes})
    assert same.keeping_inbetween_of(track) == track


def test_native_round_trip_keeps_an_extension_and_checks_leaves(tmp_path: Path) -> None:
    track = extended()
    text = native.dumps(annotations(track))
    assert json.loads(text)["tracks"][0]["leaves"] == 23
    assert native.loads(text) == annotations(track)
    for leaves, reason in ((20, "not after the last keyframe"), (40, "beyond the video")):
        document = json.loads(text)
        document["tracks"][0]["leaves"] = leaves
        path = tmp_path / "annotations.json"
        path.write_text(json.dumps(document))
        with pytest.raises(FormatError, match=reason):
            native.load(path)


def test_edits_keep_the_inbetween_shapes_their_change_leaves_valid() -> None:
    """Deleting a frame, deleting from a frame on and splitting work on a filled, extended
    track: the shapes of spans whose keyframes are untouched stay, the rest go, nothing is left
    invalid (deleting a frame with an in-between shape used to fail: it became a keyframe)."""
    from tweenlab.core.edits import DeleteFrame, DeleteFromHere, SplitTrack

    track = extended().with_inbetween({f: Box(f, 0, 10, 10) for f in range(11, 20)})
    labelled = AnnotationSet(
        VideoRef("clip.mp4", frame_count=40, width=200, height=100),
        Schema.of("car"),
        {1: track},
    )
    one = DeleteFrame(1, 15).apply(labelled).track(1)
    assert one.at(15).outside and not one.at(16).outside  # type: ignore[union-attr]
    assert set(one.inbetween) == {7, 8, 9, 21, 22} and one.leaves == 23  # 10..20 was changed
    cut = DeleteFromHere(1, 15).apply(labelled).track(1)
    assert set(cut.inbetween) == {7, 8, 9} and cut.leaves is None
    assert cut.at(30).outside  # type: ignore[union-attr]
    with pytest.raises(AnnotationError, match="starts on frame 7"):
        DeleteFromHere(1, 7).apply(labelled)  # the first frame carried before the first keyframe
    split = SplitTrack(1, 15).apply(labelled)
    first, second = split.track(1), split.track(2)
    assert set(first.inbetween) == {7, 8, 9} and first.leaves is None
    assert set(second.inbetween) == {21, 22} and second.leaves == 23


def test_an_edit_at_an_end_leaves_the_other_frames_as_they_were() -> None:
    """Edits on or past a track's end keyframes, merges, retiming and thinning work on the track
    with its extension settled (``Track.settled``): the frames they do not touch keep their
    state (the object still leaves on 23; frame 7 is still shown)."""
    from tweenlab.core.edits import DeleteFrame, MergeTracks, SetOccluded, SplitTrack
    from tweenlab.core.retiming import factor_samples, retime_annotations
    from tweenlab.core.thinning import thin_track

    video = VideoRef("clip.mp4", frame_count=40, width=200, height=100)

    def labelled(*tracks: Track) -> AnnotationSet:
        return AnnotationSet(video, Schema.of("car"), {t.id: t for t in tracks})

    def shown(track: Track) -> list[int]:
        return [f for f in range(40) if (s := track.at(f)) is not None and s.visible]

    track = extended()
    assert shown(track) == list(range(7, 23))
    settled = track.settled()
    assert sorted(settled.keyframes) == [7, 10, 20, 23] and settled.leaves is None
    assert all(track.at(f) == settled.at(f) or f in (7, 23) for f in range(40))
    assert shown(settled) == shown(track)
    assert shown(DeleteFrame(1, 21).apply(labelled(track)).track(1)) == [*range(7, 21), 22]
    assert shown(SetOccluded(1, 22, occluded=True).apply(labelled(track)).track(1)) == shown(track)
    assert shown(DeleteFrame(1, 8).apply(labelled(track)).track(1)) == [7, *range(9, 23)]
    split = SplitTrack(1, 21, 2).apply(labelled(track))
    assert shown(split.track(1)) == list(range(7, 21)) and shown(split.track(2)) == [21, 22]
    later = Track(
        2, "car", {25: Keyframe(Box(25, 0, 10, 10)), 30: Keyframe(Box(30, 0, 10, 10), outside=True)}
    )
    merged = MergeTracks(1, 2).apply(labelled(track, later)).track(1)
    assert shown(merged) == [*range(7, 23), *range(25, 30)]
    retimed = retime_annotations(labelled(track), factor_samples(40, 1)).track(1)
    assert shown(retimed) == shown(track)
    assert shown(thin_track(track)) == shown(track)
