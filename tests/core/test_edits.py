"""Edits that never destroy more than asked, the journal (undo, redo, audit) and edit JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tweenlab.core.annotations import AnnotationSet, VideoRef
from tweenlab.core.edits import (
    EDIT_TYPES,
    AddTrack,
    ChangeLabel,
    DeleteFrame,
    DeleteFromHere,
    DeleteTrack,
    Edit,
    MergeTracks,
    RemoveKeyframe,
    SetKeyframe,
    SetOccluded,
    SetOutside,
    SplitTrack,
)
from tweenlab.core.journal import Journal, JournalEntry, edit_from_json, edit_to_json
from tweenlab.core.schema import AttributeKind, AttributeSpec, LabelSpec, Schema
from tweenlab.core.shapes import Box, Mask, Polygon, ShapeKind, Skeleton
from tweenlab.core.track import Keyframe, Track, TrackState
from tweenlab.errors import AnnotationError, UnknownTrackError

FRAMES = 40
VIDEO = VideoRef("clip.mp4", frame_count=FRAMES, width=320, height=240)
COLOUR = AttributeSpec("colour", AttributeKind.SELECT, ("red", "blue"))
PARKED = AttributeSpec("parked", AttributeKind.CHECKBOX, per_frame=True)
SCHEMA = Schema(
    (
        LabelSpec("car", kinds=frozenset({ShapeKind.BOX}), attributes=(COLOUR, PARKED)),
        LabelSpec(
            "truck",
            attributes=(
                AttributeSpec("colour", AttributeKind.SELECT, ("red", "green")),
                AttributeSpec("load", AttributeKind.NUMBER, minimum=1, maximum=40),
                PARKED,
            ),
        ),
        LabelSpec("sign"),
        LabelSpec("person", kinds=frozenset({ShapeKind.SKELETON, ShapeKind.POINTS})),
    )
)


def _key(x: float, **options: Any) -> Keyframe:
    rotation = options.pop("rotation", 0.0)
    return Keyframe(Box(x, x / 2, 10 + x / 10, 8, rotation), **options)


# Track 1 has a keyframe on a frame whose next frame is a keyframe (20, 21), an outside stretch
# (12-14), rotations across the +-180 seam, attributes and occlusion; it holds from 30 to the end.
TRACK = Track(
    1,
    "car",
    {
        3: _key(0),
        8: _key(10, rotation=20, occluded=True, attributes={"parked": True}),
        12: _key(20, outside=True),
        15: _key(30, rotation=170),
        20: _key(40, rotation=-170),
        21: _key(41),
        30: _key(50, occluded=True),
    },
    attributes={"colour": "blue"},
)
OTHER = Track(2, "car", {0: _key(100), 25: _key(120, outside=True)})
SIGN = Track(3, "sign", {30: Keyframe(Polygon([[0, 0], [5, 0], [0, 5]]))})
ANNOTATIONS = AnnotationSet(VIDEO, SCHEMA, {1: TRACK, 2: OTHER, 3: SIGN})


def _absent(state: TrackState | None) -> bool:
    return state is None or state.outside


def _assert_same(got: TrackState | None, want: TrackState | None, frame: int) -> None:
    """Same state up to rounding: absent on both, or the same box, flags and attributes."""
    if _absent(want):
        assert _absent(got), f"frame {frame} should be absent, is {got}"
        return
    assert got is not None and want is not None and not got.outside, f"frame {frame} lost"
    assert isinstance(got.shape, Box) and isinstance(want.shape, Box)
    corners = got.shape.corners(), want.shape.corners()
    assert np.allclose(*corners, atol=1e-6), f"frame {frame}: {got.shape} != {want.shape}"
    assert got.occluded == want.occluded, f"frame {frame} occluded"
    assert dict(got.attributes) == dict(want.attributes), f"frame {frame} attributes"


def _dump(annotations: AnnotationSet) -> str:
    tracks = [track.to_json() for track in annotations.tracks.values()]
    return json.dumps({"video": annotations.video.to_json(), "tracks": tracks}, sort_keys=True)


# -- delete this frame only ------------------------------------------------------------------

DELETE_FRAMES = [
    (3, "first keyframe"),
    (5, "between keyframes"),
    (8, "keyframe with attributes"),
    (11, "just before an outside keyframe"),
    (15, "keyframe after an outside stretch"),
    (20, "keyframe followed by a keyframe"),
    (19, "frame before a keyframe"),
    (25, "between rotated keyframes"),
    (30, "last keyframe"),
    (33, "held after the last keyframe"),
    (FRAMES - 1, "last frame of the video"),
]


@pytest.mark.parametrize(("frame", "why"), DELETE_FRAMES, ids=[w for _, w in DELETE_FRAMES])
def test_delete_frame_removes_that_frame_only(frame: int, why: str) -> None:
    edited = DeleteFrame(1, frame).apply(ANNOTATIONS)
    track = edited.track(1)
    assert _absent(track.at(frame)), why
    for other in range(FRAMES):
        if other != frame:
            _assert_same(track.at(other), TRACK.at(other), other)
    assert edited.track(2) is OTHER  # untouched tracks are shared, not copied


def test_delete_frame_on_a_keyframe_keeps_it_so_inside_again_restores_it() -> None:
    edited = DeleteFrame(1, 8).apply(ANNOTATIONS)
    assert edited.track(1).keyframes[8] == Keyframe(
        TRACK.keyframes[8].shape, outside=True, occluded=True, attributes={"parked": True}
    )
    restored = SetOutside(1, 8, False).apply(edited).track(1)
    for frame in range(FRAMES):
        _assert_same(restored.at(frame), TRACK.at(frame), frame)


def test_delete_frame_adds_no_keyframe_where_one_exists() -> None:
    edited = DeleteFrame(1, 20).apply(ANNOTATIONS).track(1)
    assert set(edited.frames) == set(TRACK.frames)
    assert edited.keyframes[21] is TRACK.keyframes[21]


@pytest.mark.parametrize("frame", [0, 12, 13, 14], ids=["before the start", "outside", "13", "14"])
def test_delete_frame_where_the_object_is_not_shown_is_refused(frame: int) -> None:
    with pytest.raises(AnnotationError, match=f"track 1: is not on frame {frame}"):
        DeleteFrame(1, frame).apply(ANNOTATIONS)


BOX_KEYFRAMES = st.builds(
    lambda x, rotation, outside, occluded, parked: Keyframe(
        Box(x, 50 - x, 20, 10, rotation),
        outside=outside,
        occluded=occluded,
        attributes={"parked": parked},
    ),
    st.floats(-100, 100),
    st.floats(-180, 179.9),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
RANDOM_TRACKS = st.dictionaries(
    st.integers(0, FRAMES - 1), BOX_KEYFRAMES, min_size=1, max_size=6
).map(lambda keys: Track(1, "car", keys))


@settings(max_examples=80, deadline=None)
@given(RANDOM_TRACKS, st.data())
def test_delete_frame_on_random_tracks_touches_one_frame(track: Track, data: st.DataObject) -> None:
    shown = track.visible_frames(FRAMES)
    if not shown:
        return
    frame = data.draw(st.sampled_from(shown))
    edited = DeleteFrame(1, frame).apply(AnnotationSet(VIDEO, SCHEMA, {1: track})).track(1)
    for other in range(FRAMES):
        _assert_same(edited.at(other), None if other == frame else track.at(other), other)


@settings(max_examples=80, deadline=None)
@given(RANDOM_TRACKS, st.integers(1, FRAMES - 1))
def test_split_then_merge_on_random_tracks(track: Track, frame: int) -> None:
    annotations = AnnotationSet(VIDEO, SCHEMA, {1: track})
    try:
        split = SplitTrack(1, frame).apply(annotations)
    except AnnotationError:
        return  # before the track starts, or nothing after the frame
    merged = MergeTracks(1, 2).apply(split).track(1)
    for other in range(FRAMES):
        _assert_same(merged.at(other), track.at(other), other)


@settings(max_examples=150, deadline=None)
@given(RANDOM_TRACKS, RANDOM_TRACKS)
def test_merge_of_random_tracks_keeps_each_frame_of_its_owner(first: Track, second: Track) -> None:
    annotations = AnnotationSet(VIDEO, SCHEMA, {1: first, 2: replace(second, id=2)})
    try:
        merged = MergeTracks(1, 2).apply(annotations).track(1)
    except AnnotationError as error:
        assert "both tracks are shown" in str(error)
        return
    for frame in range(FRAMES):
        mine = first.at(frame)
        _assert_same(merged.at(frame), second.at(frame) if _absent(mine) else mine, frame)


# -- delete from here on ---------------------------------------------------------------------

FROM_HERE = [(5, "between"), (8, "keyframe"), (13, "outside"), (21, "keyframe"), (35, "held")]


@pytest.mark.parametrize(("frame", "why"), FROM_HERE, ids=[f"{f}-{w}" for f, w in FROM_HERE])
def test_delete_from_here_keeps_every_earlier_frame(frame: int, why: str) -> None:
    track = DeleteFromHere(1, frame).apply(ANNOTATIONS).track(1)
    for other in range(FRAMES):
        want = TRACK.at(other) if other < frame else None
        _assert_same(track.at(other), want, other)
    assert max(track.frames) <= frame, why


@pytest.mark.parametrize("frame", [0, 3], ids=["before the start", "first keyframe"])
def test_delete_from_the_start_is_refused_pointing_to_delete_track(frame: int) -> None:
    with pytest.raises(AnnotationError, match="delete the track instead"):
        DeleteFromHere(1, frame).apply(ANNOTATIONS)


def test_delete_from_here_where_already_gone_is_refused() -> None:
    ended = DeleteFromHere(1, 35).apply(ANNOTATIONS)
    with pytest.raises(AnnotationError, match="already gone"):
        DeleteFromHere(1, 37).apply(ended)


# -- keyframes, flags, tracks ----------------------------------------------------------------


def test_remove_keyframe_interpolates_again() -> None:
    track = RemoveKeyframe(1, 21).apply(ANNOTATIONS).track(1)
    assert 21 not in track.keyframes
    state = track.at(21)
    assert state is not None and not state.keyframe
    assert state.shape != TRACK.keyframes[21].shape  # interpolated between 20 and 30 now
    assert track.keyframes[20] is TRACK.keyframes[20]


def test_set_keyframe_adds_and_replaces() -> None:
    added = SetKeyframe(1, 5, _key(7)).apply(ANNOTATIONS).track(1)
    assert added.keyframes[5] == _key(7) and len(added.frames) == len(TRACK.frames) + 1
    replaced = SetKeyframe(1, 8, _key(7)).apply(ANNOTATIONS).track(1)
    assert replaced.keyframes[8] == _key(7) and len(replaced.frames) == len(TRACK.frames)


FLAGS: list[tuple[Edit, int, bool, bool]] = [
    (SetOutside(1, 5, True), 5, True, False),
    (SetOutside(1, 13, False), 13, False, False),
    (SetOccluded(1, 5, True), 5, False, True),
    (SetOccluded(1, 10, False), 10, False, False),
]


@pytest.mark.parametrize(
    ("edit", "frame", "outside", "occluded"), FLAGS, ids=[e.describe() for e, *_ in FLAGS]
)
def test_flags_pin_the_shape_shown_and_step_until_the_next_keyframe(
    edit: Edit, frame: int, outside: bool, occluded: bool
) -> None:
    track = edit.apply(ANNOTATIONS).track(1)
    before = TRACK.at(frame)
    assert before is not None
    key = track.keyframes[frame]
    assert (key.outside, key.occluded) == (outside, occluded)
    assert np.allclose(key.shape.corners(), before.shape.corners())  # type: ignore[attr-defined]
    for other in range(frame):
        _assert_same(track.at(other), TRACK.at(other), other)
    following = min(f for f in TRACK.frames if f > frame)
    for other in range(frame, following):
        state = track.at(other)
        assert state is not None and (state.outside, state.occluded) == (outside, occluded)


def test_add_and_delete_track() -> None:
    new = Track(9, "sign", {4: Keyframe(Polygon([[0, 0], [5, 0], [0, 5]]))})
    added = AddTrack(new).apply(ANNOTATIONS)
    assert added.track(9) is new and added.track(1) is TRACK
    removed = DeleteTrack(1).apply(added)
    assert sorted(removed.tracks) == [2, 3, 9]


def test_change_label_keeps_what_the_new_label_accepts() -> None:
    truck = ChangeLabel(1, "truck").apply(ANNOTATIONS).track(1)
    # "blue" is no truck colour: the default; "load" is new: its default; "parked" carries over
    assert dict(truck.attributes) == {"colour": "red", "load": 1.0}
    assert truck.keyframes[8].attributes["parked"] is True
    assert truck.keyframes[3].attributes["parked"] is False
    red = ChangeLabel(1, "truck").apply(
        ANNOTATIONS.with_tracks([Track(1, "car", TRACK.keyframes, attributes={"colour": "red"})])
    )
    assert red.track(1).attributes["colour"] == "red"
    sign = ChangeLabel(1, "sign").apply(ANNOTATIONS).track(1)
    assert dict(sign.attributes) == {} and dict(sign.keyframes[8].attributes) == {}


# -- split and merge -------------------------------------------------------------------------

SPLITS = [(5, "between"), (8, "keyframe"), (13, "outside"), (15, "after outside"), (33, "held")]


@pytest.mark.parametrize(("frame", "why"), SPLITS, ids=[f"{f}-{w}" for f, w in SPLITS])
def test_split_then_merge_restores_every_frame(frame: int, why: str) -> None:
    split = SplitTrack(1, frame, new_id=7).apply(ANNOTATIONS)
    first, second = split.track(1), split.track(7)
    for other in range(FRAMES):
        want = TRACK.at(other)
        _assert_same(first.at(other), want if other < frame else None, other)
        _assert_same(second.at(other), want if other >= frame else None, other)
    assert (second.label, dict(second.attributes)) == (TRACK.label, dict(TRACK.attributes))
    merged = MergeTracks(1, 7).apply(split)
    assert sorted(merged.tracks) == [1, 2, 3], why
    for other in range(FRAMES):
        _assert_same(merged.track(1).at(other), TRACK.at(other), other)


def test_split_takes_the_next_free_id() -> None:
    split = SplitTrack(1, 25).apply(ANNOTATIONS)
    assert sorted(split.tracks) == [1, 2, 3, 4]


def _both(first: dict[int, Keyframe], second: dict[int, Keyframe]) -> AnnotationSet:
    return AnnotationSet(VIDEO, SCHEMA, {1: Track(1, "car", first), 5: Track(5, "car", second)})


def test_merge_fills_gaps_on_both_sides_keeping_every_frame() -> None:
    # 1 is shown on 0-9 and from 20; 5 exactly fills 10-19 and is interpolated toward shapes
    # that the merged track no longer has on 10 and 20.
    annotations = _both(
        {0: _key(0), 10: _key(90, outside=True), 20: _key(20, rotation=45)},
        {
            2: _key(50, outside=True),
            10: _key(60),
            15: _key(65, occluded=True),
            20: _key(0, outside=True),
        },
    )
    merged = MergeTracks(1, 5).apply(annotations).track(1)
    for frame in range(FRAMES):
        first, second = annotations.track(1).at(frame), annotations.track(5).at(frame)
        _assert_same(merged.at(frame), first if not _absent(first) else second, frame)


def test_merge_refuses_frames_shown_in_both_and_names_them() -> None:
    annotations = _both(
        {0: _key(0), 10: _key(1, outside=True), 20: _key(2)}, {5: _key(5), 12: _key(6)}
    )
    with pytest.raises(
        AnnotationError, match=r"track 1: both tracks are shown on frames 5-9, 20-39"
    ):
        MergeTracks(1, 5).apply(annotations)


# -- refusals leave everything as it was ----------------------------------------------------

POLYGON = Keyframe(Polygon([[0, 0], [5, 0], [0, 5]]))
BAD: list[tuple[Edit, type[AnnotationError], str]] = [
    (DeleteFrame(99, 5), UnknownTrackError, "no track 99"),
    (MergeTracks(1, 99), UnknownTrackError, "no track 99"),
    (ChangeLabel(1, "bus"), AnnotationError, r"unknown label 'bus' \(known: \['car'"),
    (ChangeLabel(1, "person"), AnnotationError, "allows .'points', 'skeleton'., not box"),
    (MergeTracks(1, 2), AnnotationError, "both tracks are shown on frames 3-11, 15-24"),
    (MergeTracks(1, 1), AnnotationError, "cannot merge with itself"),
    (RemoveKeyframe(3, 30), AnnotationError, "only keyframe; delete the track instead"),
    (RemoveKeyframe(1, 4), AnnotationError, "no keyframe on frame 4"),
    (SetKeyframe(1, 5, POLYGON), AnnotationError, "holds box shapes, not polygon"),
    (SetKeyframe(1, FRAMES, _key(0)), AnnotationError, "outside the video"),
    (SetKeyframe(1, 5, _key(0, attributes={"speed": 3})), AnnotationError, "no attribute"),
    (DeleteFrame(1, 13), AnnotationError, "not on frame 13"),
    (SetOutside(1, 1, True), AnnotationError, "no shape on frame 1"),
    (SplitTrack(1, 3), AnnotationError, "split it on a later frame"),
    (SplitTrack(1, 10, new_id=2), AnnotationError, "track 2: the id is taken"),
    (AddTrack(OTHER), AnnotationError, "id is taken"),
]


@pytest.mark.parametrize(("edit", "error", "match"), BAD, ids=[e.describe() for e, *_ in BAD])
def test_bad_edits_raise_and_leave_the_journal_as_it_was(
    edit: Edit, error: type[AnnotationError], match: str
) -> None:
    journal = Journal(ANNOTATIONS)  # one entry stays done, one waits to be redone
    journal.apply(SetOccluded(1, 5, True))
    journal.apply(DeleteTrack(2))
    journal.undo()
    current, entries = journal.current, journal.entries
    with pytest.raises(error, match=match):
        journal.apply(edit)
    assert journal.current is current and journal.entries == entries
    assert journal.can_redo
    assert _dump(journal.redo()) == _dump(DeleteTrack(2).apply(current))


def test_merge_refuses_different_labels() -> None:
    sign = Track(5, "sign", {30: _key(0)})
    with pytest.raises(AnnotationError, match="same label and shape kind"):
        MergeTracks(2, 5).apply(ANNOTATIONS.with_tracks([sign]))
    with pytest.raises(AnnotationError, match="'sign' box and 'sign' polygon"):
        MergeTracks(5, 3).apply(ANNOTATIONS.with_tracks([sign]))


# -- the journal -----------------------------------------------------------------------------


def _clock() -> Callable[[], datetime]:
    start = datetime(2024, 5, 1, 12, tzinfo=UTC)
    ticks = iter(range(1000))
    return lambda: start + timedelta(seconds=next(ticks))


def test_undo_restores_exactly_and_redo_reapplies() -> None:
    journal = Journal(ANNOTATIONS, clock=_clock())
    after = journal.apply(DeleteFrame(1, 5), author="ana")
    assert journal.can_undo and not journal.can_redo
    assert journal.undo() is ANNOTATIONS and _dump(journal.current) == _dump(ANNOTATIONS)
    assert not journal.can_undo and journal.can_redo
    assert journal.redo() is after and _dump(after) == _dump(DeleteFrame(1, 5).apply(ANNOTATIONS))
    (entry,) = journal.entries
    assert entry == JournalEntry(
        1,
        DeleteFrame(1, 5),
        "delete track 1 on frame 5 only",
        datetime(2024, 5, 1, 12, tzinfo=UTC),
        "ana",
    )


def test_a_new_edit_clears_redo_and_numbers_keep_rising() -> None:
    journal = Journal(ANNOTATIONS, clock=_clock())
    journal.apply(DeleteFrame(1, 5))
    journal.undo()
    journal.apply(DeleteTrack(2), author="bo")
    assert not journal.can_redo
    assert [(e.number, e.description, e.author) for e in journal.entries] == [
        (2, "delete track 2", "bo")
    ]
    with pytest.raises(AnnotationError, match="nothing to redo"):
        journal.redo()


def test_history_is_bounded() -> None:
    journal = Journal(ANNOTATIONS, limit=3)
    for frame in (4, 5, 6, 9, 10):
        journal.apply(SetOccluded(1, frame, True))
    assert [e.number for e in journal.entries] == [3, 4, 5] and journal.limit == 3
    for _ in range(3):
        journal.undo()
    assert not journal.can_undo
    assert set(journal.current.track(1).frames) == set(TRACK.frames) | {4, 5}
    with pytest.raises(AnnotationError, match="nothing to undo"):
        journal.undo()


def test_undo_shares_unchanged_tracks() -> None:
    journal = Journal(ANNOTATIONS)
    for frame in (4, 5, 6, 7):
        assert journal.apply(DeleteFrame(1, frame)).track(2) is OTHER
    while journal.can_undo:
        assert journal.undo().track(2) is OTHER


TRACK_IDS = st.integers(1, 4)
FRAME_NUMBERS = st.integers(0, FRAMES - 1)
KEYFRAMES = st.builds(
    lambda x, outside: _key(x, outside=outside), st.integers(0, 100), st.booleans()
)
EDITS = st.one_of(
    st.builds(DeleteFrame, TRACK_IDS, FRAME_NUMBERS),
    st.builds(DeleteFromHere, TRACK_IDS, FRAME_NUMBERS),
    st.builds(RemoveKeyframe, TRACK_IDS, FRAME_NUMBERS),
    st.builds(SetKeyframe, TRACK_IDS, FRAME_NUMBERS, KEYFRAMES),
    st.builds(SetOutside, TRACK_IDS, FRAME_NUMBERS, st.booleans()),
    st.builds(SetOccluded, TRACK_IDS, FRAME_NUMBERS, st.booleans()),
    st.builds(SplitTrack, TRACK_IDS, FRAME_NUMBERS),
    st.builds(MergeTracks, TRACK_IDS, TRACK_IDS),
    st.builds(ChangeLabel, TRACK_IDS, st.sampled_from(["car", "truck", "sign", "person"])),
    st.builds(DeleteTrack, TRACK_IDS),
    st.builds(
        lambda i, f, k: AddTrack(Track(i, "car", {f: k})), TRACK_IDS, FRAME_NUMBERS, KEYFRAMES
    ),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(EDITS, max_size=20))
def test_undo_after_random_edits_returns_to_the_start(edits: list[Edit]) -> None:
    journal = Journal(ANNOTATIONS)
    states = [_dump(ANNOTATIONS)]
    for edit in edits:
        before = journal.current
        try:
            journal.apply(edit)
        except AnnotationError:
            assert journal.current is before
        else:
            states.append(_dump(journal.current))
    assert len(journal.entries) == len(states) - 1
    for state in reversed(states[:-1]):
        assert _dump(journal.undo()) == state
    assert not journal.can_undo
    for state in states[1:]:
        assert _dump(journal.redo()) == state


# -- JSON ------------------------------------------------------------------------------------

MASK = Mask.from_dense(np.eye(6, dtype=bool))
POSE = Skeleton([[0, 0], [0, 10]], [True, False], ("head", "neck"), ((0, 1),))
ROUND_TRIP: list[Edit] = [
    AddTrack(TRACK),
    AddTrack(Track(4, "sign", {2: Keyframe(MASK, occluded=True)}, source="auto")),
    SetKeyframe(1, 5, _key(3, attributes={"parked": True})),
    SetKeyframe(3, 5, Keyframe(POSE, outside=True)),
    SetOutside(1, 5, True),
    SetOccluded(1, 5, False),
    DeleteFrame(1, 5),
    RemoveKeyframe(1, 8),
    DeleteFromHere(1, 9),
    DeleteTrack(2),
    SplitTrack(1, 9),
    SplitTrack(1, 9, new_id=12),
    MergeTracks(1, 2),
    ChangeLabel(1, "truck"),
]


def test_every_edit_type_is_in_the_round_trip_table() -> None:
    assert {edit.type_name for edit in ROUND_TRIP} == set(EDIT_TYPES)


@pytest.mark.parametrize("edit", ROUND_TRIP, ids=[e.describe() for e in ROUND_TRIP])
def test_edit_json_round_trip(edit: Edit) -> None:
    data = json.loads(json.dumps(edit_to_json(edit)))
    assert data["type"] == edit.type_name
    assert edit_from_json(data) == edit


def test_journal_entry_json_round_trip() -> None:
    journal = Journal(ANNOTATIONS, clock=_clock())
    journal.apply(SplitTrack(1, 9), author="ana")
    (entry,) = journal.entries
    assert JournalEntry.from_json(json.loads(json.dumps(entry.to_json()))) == entry


BAD_JSON: list[tuple[dict[str, Any], str]] = [
    ({"type": "explode", "track_id": 1}, "unknown edit 'explode'"),
    ({"track_id": 1}, "unknown edit None"),
    ({"type": "delete_frame", "track_id": 1}, r"missing \['frame'\]"),
    ({"type": "delete_track", "track_id": 1, "frame": 2}, r"unknown fields \['frame'\]"),
    ({"type": "delete_track", "track_id": "1"}, "'1' is not int"),
    ({"type": "set_outside", "track_id": 1, "frame": 2, "outside": 1}, "1 is not bool"),
    ({"type": "delete_track", "track_id": True}, "True is not int"),
    ({"type": "add_track", "track": {"id": 1, "label": "car"}}, "missing 'keyframes'"),
    (
        {"type": "set_keyframe", "track_id": 1, "frame": 2, "keyframe": {"shape": {"kind": "x"}}},
        "unknown shape kind 'x'",
    ),
]


@pytest.mark.parametrize(("data", "match"), BAD_JSON, ids=[m for _, m in BAD_JSON])
def test_bad_edit_json_is_an_annotation_error(data: dict[str, Any], match: str) -> None:
    with pytest.raises(AnnotationError, match=match):
        edit_from_json(data)
