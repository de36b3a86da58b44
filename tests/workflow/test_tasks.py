"""Splitting videos into tasks, and joining task tracks into video tracks with one identity."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tweenlab.core import (
    AnnotationSet,
    Box,
    Event,
    FrameTag,
    Keyframe,
    Polygon,
    Schema,
    Track,
    VideoRef,
)
from tweenlab.errors import AnnotationError, UsageError
from tweenlab.workflow import (
    TaskRange,
    merge_task_tracks,
    split_by_clips,
    split_by_frames,
    split_by_scenes,
)

VIDEO = VideoRef("v.mp4", frame_count=300, width=640, height=360)
SCHEMA = Schema.of("car", "person")


def _spans(tasks: list[TaskRange]) -> list[tuple[int, int]]:
    return [(task.start, task.stop) for task in tasks]


# -- TaskRange ---------------------------------------------------------------------------------


def test_task_range_is_half_open() -> None:
    task = TaskRange(10, 20)
    assert len(task) == 10
    assert task.last == 19
    assert 10 in task
    assert 19 in task
    assert 20 not in task
    assert 9 not in task
    assert task.shared(TaskRange(15, 30)) == range(15, 20)
    assert not task.shared(TaskRange(20, 30))


@pytest.mark.parametrize(
    ("start", "stop"), [(5, 5), (6, 5), (-1, 3)], ids=["empty", "reversed", "negative"]
)
def test_task_range_refuses_empty_or_negative(start: int, stop: int) -> None:
    with pytest.raises(UsageError, match="start < stop"):
        TaskRange(start, stop)


# -- split_by_frames ---------------------------------------------------------------------------

FRAME_CASES = [
    ("exact", 300, 100, 0, [(0, 100), (100, 200), (200, 300)]),
    ("last_short", 250, 100, 0, [(0, 100), (100, 200), (200, 250)]),
    ("overlap", 250, 100, 10, [(0, 100), (90, 190), (180, 250)]),
    ("overlap_exact_end", 190, 100, 10, [(0, 100), (90, 190)]),
    ("one_task", 50, 100, 10, [(0, 50)]),
    ("one_frame", 1, 1, 0, [(0, 1)]),
    ("size_one", 3, 1, 0, [(0, 1), (1, 2), (2, 3)]),
    ("largest_overlap", 5, 3, 2, [(0, 3), (1, 4), (2, 5)]),
]


@pytest.mark.parametrize(
    ("frame_count", "size", "overlap", "expected"),
    [c[1:] for c in FRAME_CASES],
    ids=[c[0] for c in FRAME_CASES],
)
def test_split_by_frames(
    frame_count: int, size: int, overlap: int, expected: list[tuple[int, int]]
) -> None:
    tasks = split_by_frames(frame_count, size, overlap)
    assert _spans(tasks) == expected
    covered = set().union(*(range(t.start, t.stop) for t in tasks))
    assert covered == set(range(frame_count))
    for first, second in itertools.pairwise(tasks):
        assert len(first.shared(second)) == overlap


BAD_FRAME_CASES = [
    ("zero_frames", 0, 10, 0, "nothing to split"),
    ("negative_frames", -5, 10, 0, "nothing to split"),
    ("zero_size", 100, 0, 0, "at least 1 frame"),
    ("overlap_equals_size", 100, 10, 10, "overlap must be in 0..9"),
    ("overlap_above_size", 100, 10, 11, "overlap must be in 0..9"),
    ("negative_overlap", 100, 10, -1, "overlap must be in 0..9"),
]


@pytest.mark.parametrize(
    ("frame_count", "size", "overlap", "message"),
    [c[1:] for c in BAD_FRAME_CASES],
    ids=[c[0] for c in BAD_FRAME_CASES],
)
def test_split_by_frames_refuses(frame_count: int, size: int, overlap: int, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        split_by_frames(frame_count, size, overlap)


# -- split_by_clips and split_by_scenes --------------------------------------------------------


def test_split_by_clips_sorts_and_keeps_overlaps_and_gaps() -> None:
    tasks = split_by_clips([(200, 300), (0, 110), (100, 150)], frame_count=300)
    assert _spans(tasks) == [(0, 110), (100, 150), (200, 300)]


@pytest.mark.parametrize(
    ("ranges", "message"),
    [
        ([], "no clips"),
        ([(10, 10)], "start < stop"),
        ([(0, 10), (0, 10)], "given twice"),
        ([(0, 10), (200, 301)], "ends past"),
    ],
    ids=["none", "empty", "twice", "past_end"],
)
def test_split_by_clips_refuses(ranges: list[tuple[int, int]], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        split_by_clips(ranges, frame_count=300)


SCENE_CASES = [
    ("no_cuts", 100, [], None, [(0, 100)]),
    ("cuts_at_edges_ignored", 100, [0, 40, 100], None, [(0, 40), (40, 100)]),
    ("repeated_and_unsorted", 100, [70, 40, 70], None, [(0, 40), (40, 70), (70, 100)]),
    ("long_shots_cut", 100, [40], 30, [(0, 30), (30, 40), (40, 70), (70, 100)]),
    ("short_shots_whole", 100, [40], 60, [(0, 40), (40, 100)]),
]


@pytest.mark.parametrize(
    ("frame_count", "cuts", "max_size", "expected"),
    [c[1:] for c in SCENE_CASES],
    ids=[c[0] for c in SCENE_CASES],
)
def test_split_by_scenes(
    frame_count: int, cuts: list[int], max_size: int | None, expected: list[tuple[int, int]]
) -> None:
    assert _spans(split_by_scenes(frame_count, cuts, max_size)) == expected


@pytest.mark.parametrize(
    ("frame_count", "cuts", "max_size", "message"),
    [
        (100, [101], None, "outside"),
        (100, [-1], None, "outside"),
        (100, [], 0, "max_size"),
        (0, [], None, "nothing to split"),
    ],
    ids=["past_end", "negative", "zero_max", "no_frames"],
)
def test_split_by_scenes_refuses(
    frame_count: int, cuts: list[int], max_size: int | None, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        split_by_scenes(frame_count, cuts, max_size)


# -- merge_task_tracks -------------------------------------------------------------------------


def _moving(track_id: int, frames: range, x0: float, speed: float, y: float = 50.0) -> Track:
    """A 20x20 box track moving ``speed`` px per frame, keyed on the range's first and last
    frame (plus its middle, so in-between frames come from interpolation)."""
    keys = sorted({frames.start, (frames.start + frames.stop - 1) // 2, frames.stop - 1})
    return Track(
        track_id,
        "car",
        {f: Keyframe(Box(x0 + speed * f, y, 20, 20)) for f in keys},
    )


def _part(task: TaskRange, *tracks: Track, **extra: object) -> tuple[TaskRange, AnnotationSet]:
    return task, AnnotationSet(VIDEO, SCHEMA, {t.id: t for t in tracks}, **extra)  # type: ignore[arg-type]


def test_track_crossing_two_boundaries_keeps_one_id_over_three_tasks() -> None:
    tasks = split_by_frames(300, 110, overlap=10)  # (0,110) (100,210) (200,300)
    parts = [
        _part(tasks[0], _moving(4, range(0, 110), 0, 1.0)),
        _part(tasks[1], _moving(1, range(100, 210), 0, 1.0)),
        _part(tasks[2], _moving(9, range(200, 300), 0, 1.0)),
    ]
    merged = merge_task_tracks(parts)
    assert list(merged.tracks) == [1]
    track = merged.tracks[1]
    assert track.first_frame == 0
    assert track.last_frame == 299
    for frame in (0, 105, 150, 205, 299):
        state = track.at(frame)
        assert state is not None and state.visible
        assert state.shape == Box(frame, 50, 20, 20)


def test_two_close_objects_are_not_swapped() -> None:
    # Two cars side by side, 12 px apart (their boxes overlap: IoU about 0.25 across them). In
    # the second task the annotator numbered them the other way round.
    first, second = TaskRange(0, 60), TaskRange(50, 120)
    parts = [
        _part(first, _moving(1, range(0, 60), 0, 1.0), _moving(2, range(0, 60), 12, 1.0)),
        _part(second, _moving(1, range(50, 120), 12, 1.0), _moving(2, range(50, 120), 0, 1.0)),
    ]
    merged = merge_task_tracks(parts)
    assert len(merged.tracks) == 2
    for track in merged.tracks.values():
        start = track.at(0)
        end = track.at(119)
        assert start is not None and end is not None
        # a track that starts as the left car ends as the left car
        assert end.shape.x - start.shape.x == pytest.approx(119.0)  # type: ignore[attr-defined]


def test_greedy_takes_the_best_pair_first() -> None:
    # Earlier track 1 overlaps later 1 a little and later 2 a lot; earlier 2 overlaps only later 1.
    # Matching by id order would give 1->1; best-first gives 1->2 and 2->1.
    first, second = TaskRange(0, 20), TaskRange(15, 40)
    a1 = Track(1, "car", {0: Keyframe(Box(100, 0, 20, 20))})
    a2 = Track(2, "car", {0: Keyframe(Box(90, 0, 20, 20))})
    b1 = Track(1, "car", {15: Keyframe(Box(91, 0, 20, 20))})
    b2 = Track(2, "car", {15: Keyframe(Box(100, 0, 20, 20))})
    merged = merge_task_tracks([_part(first, a1, a2), _part(second, b1, b2)])
    by_start = {t.keyframes[0].shape.x: t for t in merged.tracks.values()}  # type: ignore[attr-defined]
    assert by_start[100.0].keyframes[15].shape == Box(100, 0, 20, 20)
    assert by_start[90.0].keyframes[15].shape == Box(91, 0, 20, 20)


def test_adjacent_tasks_match_on_the_boundary_frames() -> None:
    first, second = TaskRange(0, 50), TaskRange(50, 100)
    parts = [
        _part(first, _moving(1, range(0, 50), 0, 1.0), _moving(2, range(0, 20), 200, 0.0)),
        _part(second, _moving(5, range(50, 100), 0, 1.0), _moving(6, range(50, 100), 400, 0.0)),
    ]
    merged = merge_task_tracks(parts)
    assert len(merged.tracks) == 3
    one = merged.tracks[1]
    assert one.frames == (0, 24, 49, 50, 74, 99, 100)  # 100: nobody annotated it beyond
    state = one.at(75)
    assert state is not None and state.shape == Box(75, 50, 20, 20)
    # the parked car of task 1 (track 2) is not the one of task 2 far away; it stops at 50
    parked = merged.tracks[2]
    assert parked.keyframes[50].outside
    state = parked.at(60)
    assert state is not None and not state.visible
    assert merged.tracks[3].first_frame == 50


def test_gap_between_tasks_never_matches() -> None:
    parts = [
        _part(TaskRange(0, 50), _moving(1, range(0, 50), 0, 0.0)),
        _part(TaskRange(60, 100), _moving(1, range(60, 100), 0, 0.0)),
    ]
    assert len(merge_task_tracks(parts).tracks) == 2


def test_different_labels_or_low_iou_do_not_match() -> None:
    first, second = TaskRange(0, 30), TaskRange(20, 50)
    car = Track(1, "car", {0: Keyframe(Box(0, 0, 20, 20))})
    person = Track(1, "person", {20: Keyframe(Box(0, 0, 20, 20))})
    assert len(merge_task_tracks([_part(first, car), _part(second, person)]).tracks) == 2
    moved = Track(1, "car", {20: Keyframe(Box(15, 0, 20, 20))})  # IoU 5/35
    assert len(merge_task_tracks([_part(first, car), _part(second, moved)]).tracks) == 2
    near = Track(1, "car", {20: Keyframe(Box(2, 0, 20, 20))})  # IoU 18/22
    assert len(merge_task_tracks([_part(first, car), _part(second, near)]).tracks) == 1


def test_threshold_is_applied_to_the_mean_over_the_shared_frames() -> None:
    # In the 10 shared frames the later track exists only on the last 4: mean IoU 0.4 < 0.5.
    first, second = TaskRange(0, 30), TaskRange(20, 50)
    car = Track(1, "car", {0: Keyframe(Box(0, 0, 20, 20))})
    late = Track(1, "car", {26: Keyframe(Box(0, 0, 20, 20))})
    assert len(merge_task_tracks([_part(first, car), _part(second, late)]).tracks) == 2
    assert (
        len(merge_task_tracks([_part(first, car), _part(second, late)], iou_threshold=0.3).tracks)
        == 1
    )


def test_overlap_keeps_both_tasks_keyframes_and_the_earlier_wins() -> None:
    first, second = TaskRange(0, 30), TaskRange(20, 50)
    a = Track(1, "car", {0: Keyframe(Box(0, 0, 20, 20)), 25: Keyframe(Box(1, 0, 20, 20))})
    b = Track(
        1,
        "car",
        {
            20: Keyframe(Box(2, 0, 20, 20)),
            25: Keyframe(Box(3, 0, 20, 20)),
            49: Keyframe(Box(4, 0, 20, 20)),
        },
    )
    merged = merge_task_tracks([_part(first, a), _part(second, b)]).tracks[1]
    assert merged.frames == (0, 20, 25, 49, 50)
    assert merged.keyframes[50].outside  # the video goes on; the last task ends at 49
    assert merged.keyframes[25].shape == Box(1, 0, 20, 20)
    assert merged.keyframes[20].shape == Box(2, 0, 20, 20)


def test_inbetween_shapes_are_kept_only_on_unchanged_spans() -> None:
    first, second = TaskRange(0, 30), TaskRange(20, 50)
    a = Track(
        1,
        "car",
        {0: Keyframe(Box(0, 0, 20, 20)), 29: Keyframe(Box(0, 0, 20, 20))},
        inbetween={5: Box(1, 0, 20, 20), 25: Box(1, 0, 20, 20)},
    )
    b = Track(1, "car", {22: Keyframe(Box(0, 0, 20, 20)), 49: Keyframe(Box(0, 0, 20, 20))})
    merged = merge_task_tracks([_part(first, a), _part(second, b)]).tracks[1]
    # span 0..29 of task 1 is now 0..22 and 22..29: both changed, so its in-betweens go
    assert dict(merged.inbetween) == {}
    c = Track(1, "car", {30: Keyframe(Box(0, 0, 20, 20)), 49: Keyframe(Box(0, 0, 20, 20))})
    merged = merge_task_tracks([_part(first, a), _part(TaskRange(30, 50), c)]).tracks[1]
    assert dict(merged.inbetween) == {5: Box(1, 0, 20, 20), 25: Box(1, 0, 20, 20)}


def test_unmatched_tracks_end_at_their_task_and_ids_are_in_order() -> None:
    parts = [
        _part(TaskRange(0, 50), Track(3, "car", {10: Keyframe(Box(0, 0, 20, 20))})),
        _part(TaskRange(50, 100), Track(3, "car", {60: Keyframe(Box(300, 0, 20, 20))})),
    ]
    merged = merge_task_tracks(parts)
    assert list(merged.tracks) == [1, 2]
    assert merged.tracks[1].frames == (10, 50)
    assert merged.tracks[1].keyframes[50].outside
    assert merged.tracks[2].frames == (60, 100)
    visible = merged.tracks[2].at(99)
    assert visible is not None and visible.visible


def test_polygons_match_by_bounding_box() -> None:
    square = Polygon(np.array([[0, 0], [20, 0], [20, 20], [0, 20]], dtype=np.float64))
    first, second = TaskRange(0, 30), TaskRange(20, 50)
    a = Track(1, "car", {0: Keyframe(square)})
    b = Track(2, "car", {20: Keyframe(square)})
    assert list(merge_task_tracks([_part(first, a), _part(second, b)]).tracks) == [1]


def test_tags_and_events_are_joined() -> None:
    first, second = TaskRange(0, 30), TaskRange(20, 50)
    parts = [
        _part(first, tags=(FrameTag(25, "car"),), events=(Event(10, 29, "person"),)),
        _part(
            second,
            tags=(FrameTag(25, "car"), FrameTag(40, "car")),
            events=(Event(20, 35, "person"), Event(45, 46, "car")),
        ),
    ]
    merged = merge_task_tracks(parts)
    assert [t.frame for t in merged.tags] == [25, 40]
    assert [(e.start, e.end, e.label) for e in merged.events] == [
        (10, 35, "person"),
        (45, 46, "car"),
    ]


def test_merge_refuses_bad_input() -> None:
    task = TaskRange(0, 30)
    with pytest.raises(UsageError, match="no tasks"):
        merge_task_tracks([])
    with pytest.raises(UsageError, match="iou_threshold"):
        merge_task_tracks([_part(task)], iou_threshold=0)
    other = VideoRef("w.mp4", frame_count=300, width=640, height=360)
    with pytest.raises(UsageError, match=r"annotates w\.mp4"):
        merge_task_tracks([_part(task), (TaskRange(30, 60), AnnotationSet(other, SCHEMA))])
    with pytest.raises(UsageError, match="past the video"):
        merge_task_tracks([_part(TaskRange(290, 310))])
    stray = Track(7, "car", {35: Keyframe(Box(0, 0, 20, 20))})
    with pytest.raises(AnnotationError, match="track 7"):
        merge_task_tracks([_part(task, stray)])


def test_track_reaching_the_video_end_gets_no_outside_keyframe() -> None:
    short = VideoRef("s.mp4", frame_count=50, width=64, height=64)
    track = Track(1, "car", {30: Keyframe(Box(0, 0, 20, 20))})
    part = (TaskRange(0, 50), AnnotationSet(short, SCHEMA, {1: track}))
    assert merge_task_tracks([part]).tracks[1].frames == (30,)


def test_merging_tasks_keeps_a_carried_tail_only_where_its_last_keyframe_won() -> None:
    """Two overlapping tasks: the earlier one ends the object outside on 25; the later one keyed
    it on 20 and 25 and carried it on to where it left (28). The earlier task's keyframe on the
    shared frame wins, so the later one's tail and ``leaves`` do not hold: no invalid track."""
    video = VideoRef("clip.mp4", frame_count=40, width=200, height=100)
    schema = Schema.of("car")
    early = Track(
        1, "car", {5: Keyframe(Box(5, 0, 10, 10)), 25: Keyframe(Box(25, 0, 10, 10), outside=True)}
    )
    late = Track(
        1,
        "car",
        {20: Keyframe(Box(20, 0, 10, 10)), 25: Keyframe(Box(25, 0, 10, 10))},
        inbetween={26: Box(26, 0, 10, 10), 27: Box(27, 0, 10, 10)},
        leaves=28,
    )
    merged = merge_task_tracks(
        [
            (TaskRange(0, 30), AnnotationSet(video, schema, {1: early})),
            (TaskRange(20, 40), AnnotationSet(video, schema, {1: late})),
        ]
    )
    (track,) = merged.tracks.values()
    assert track.keyframes[25].outside and track.leaves is None and 26 not in track.inbetween
