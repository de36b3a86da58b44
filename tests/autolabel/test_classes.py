"""Video and clip classes, and temporal events, from per-frame predictions: thresholds, gaps
filled, short runs dropped, and the edges of every-Nth sampling in frame units."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pytest

from tweenlab.autolabel.base import Detections
from tweenlab.autolabel.classes import (
    clip_classes,
    events_from_frames,
    labels_present,
    video_classes,
)
from tweenlab.core.annotations import ClipClass, Event

CLASSES = ("person", "car", "dog")


def _found(*objects: tuple[int, float]) -> Detections:
    """Objects as ``(class id, score)``, all at the same box (classes do not look at boxes)."""
    if not objects:
        return Detections.empty()
    table = np.array(objects, dtype=np.float64)
    boxes = np.tile([0.0, 0.0, 10.0, 10.0], (len(objects), 1))
    return Detections(boxes, table[:, 1], table[:, 0].astype(np.int64))


# ten sampled frames: a car on all, two people on three, a dog on one, a weak dog on five
SCENE = [
    _found((1, 0.9), (0, 0.8), (0, 0.7)),
    _found((1, 0.9), (0, 0.8)),
    _found((1, 0.9), (0, 0.6), (2, 0.9)),
    *[_found((1, 0.9), (2, 0.3)) for _ in range(5)],
    _found((1, 0.9)),
    _found((1, 0.6)),
]


VIDEO_CASES = [
    (
        "defaults",
        {},
        [
            ("person", {"frames": 3, "fraction": 0.3, "max_count": 2, "mean_count": 1.3333}),
            ("car", {"frames": 10, "fraction": 1.0, "max_count": 1, "mean_count": 1.0}),
            ("dog", {"frames": 1, "fraction": 0.1, "max_count": 1, "mean_count": 1.0}),
        ],
    ),
    (
        "half_the_frames",
        {"min_fraction": 0.5},
        [("car", {"frames": 10, "fraction": 1.0, "max_count": 1, "mean_count": 1.0})],
    ),
    (
        "weak_detections_count",
        {"min_score": 0.25, "min_fraction": 0.5},
        [
            ("car", {"frames": 10, "fraction": 1.0, "max_count": 1, "mean_count": 1.0}),
            ("dog", {"frames": 6, "fraction": 0.6, "max_count": 1, "mean_count": 1.0}),
        ],
    ),
    (
        "only_sure_ones",
        {"min_score": 0.85},
        [
            ("car", {"frames": 9, "fraction": 0.9, "max_count": 1, "mean_count": 1.0}),
            ("dog", {"frames": 1, "fraction": 0.1, "max_count": 1, "mean_count": 1.0}),
        ],
    ),
]


@pytest.mark.parametrize(
    ("options", "expected"), [c[1:] for c in VIDEO_CASES], ids=[c[0] for c in VIDEO_CASES]
)
def test_video_classes(
    options: dict[str, float], expected: list[tuple[str, dict[str, float]]]
) -> None:
    found = video_classes(range(0, 100, 10), SCENE, CLASSES, **options)
    assert [(c.label, c.start, c.end, dict(c.attributes)) for c in found] == [
        (label, None, None, attributes) for label, attributes in expected
    ]


def test_video_classes_of_nothing() -> None:
    assert video_classes([], [], CLASSES) == []
    assert video_classes([0, 1], [_found(), _found()], CLASSES) == []


@pytest.mark.parametrize(
    ("frames", "detections", "message"),
    [
        ([0, 1], [_found()], "2 frames but 1"),
        ([3, 3], [_found(), _found()], "increasing"),
        ([0], [_found((7, 0.9))], "class id 7"),
    ],
    ids=["count", "order", "class_id"],
)
def test_video_classes_checks_its_input(
    frames: list[int], detections: list[Detections], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        video_classes(frames, detections, CLASSES)


def test_clip_classes_per_clip_and_the_last_clip_ends_with_the_video() -> None:
    frames = list(range(0, 100, 10))  # two samples a clip of 20 frames; the video has 95
    found = clip_classes(frames, SCENE, CLASSES, clip_frames=20, frame_count=95, min_fraction=0.5)
    assert [(c.label, c.start, c.end) for c in found] == [
        ("person", 0, 19),
        ("car", 0, 19),
        ("person", 20, 39),  # on one of its two samples: half
        ("car", 20, 39),
        ("dog", 20, 39),
        ("car", 40, 59),
        ("car", 60, 79),
        ("car", 80, 94),
    ]
    assert found[0] == ClipClass(
        "person", 0, 19, {"frames": 2, "fraction": 1.0, "max_count": 2, "mean_count": 1.5}
    )


def test_labels_present() -> None:
    assert labels_present(SCENE[1:3], CLASSES) == [
        frozenset({"car", "person"}),
        frozenset({"car", "person", "dog"}),
    ]


RUN = {"run"}
NONE: set[str] = set()
EVENT_CASES = [
    (
        "every_frame",
        range(8),
        [NONE, RUN, RUN, RUN, NONE, NONE, RUN, NONE],
        {},
        [(1, 3), (6, 6)],
    ),
    (
        "gap_filled",
        range(8),
        [NONE, RUN, RUN, RUN, NONE, NONE, RUN, NONE],
        {"max_gap": 2},
        [(1, 6)],
    ),
    (
        "gap_one_frame_too_long",
        range(8),
        [NONE, RUN, RUN, RUN, NONE, NONE, RUN, NONE],
        {"max_gap": 1},
        [(1, 3), (6, 6)],
    ),
    (
        "short_run_dropped",
        range(8),
        [NONE, RUN, RUN, RUN, NONE, NONE, RUN, NONE],
        {"min_duration": 2},
        [(1, 3)],
    ),
    (
        "short_runs_joined_then_kept",
        range(8),
        [RUN, NONE, RUN, NONE, RUN, NONE, NONE, NONE],
        {"min_duration": 5, "max_gap": 1},
        [(0, 4)],
    ),
    (
        "every_10th_covers_up_to_the_next_sample",
        range(0, 60, 10),
        [NONE, RUN, RUN, NONE, NONE, NONE],
        {},
        [(10, 29)],
    ),
    (
        "every_10th_gap_is_a_whole_sample",
        range(0, 60, 10),
        [RUN, NONE, RUN, NONE, NONE, NONE],
        {"max_gap": 9},
        [(0, 9), (20, 29)],
    ),
    (
        "every_10th_gap_filled",
        range(0, 60, 10),
        [RUN, NONE, RUN, NONE, NONE, NONE],
        {"max_gap": 10},
        [(0, 29)],
    ),
    (
        "every_10th_duration_in_frames",
        range(0, 60, 10),
        [RUN, NONE, RUN, RUN, NONE, NONE],
        {"min_duration": 20},
        [(20, 39)],
    ),
    ("last_sample_covers_itself", range(0, 30, 10), [NONE, NONE, RUN], {}, [(20, 20)]),
    (
        "last_sample_covers_up_to_the_end",
        range(0, 30, 10),
        [NONE, NONE, RUN],
        {"frame_count": 27},
        [(20, 26)],
    ),
    (
        "uneven_samples",
        [0, 3, 10, 11, 30],
        [RUN, RUN, NONE, RUN, NONE],
        {},
        [(0, 9), (11, 29)],
    ),
]


@pytest.mark.parametrize(
    ("frames", "labels", "options", "expected"),
    [c[1:] for c in EVENT_CASES],
    ids=[c[0] for c in EVENT_CASES],
)
def test_events_of_one_label(
    frames: range | list[int],
    labels: list[Collection[str]],
    options: dict[str, int],
    expected: list[tuple[int, int]],
) -> None:
    found = events_from_frames(frames, labels, **options)
    assert found == [Event(start, end, "run") for start, end in expected]


def test_events_of_several_labels_by_start_then_label() -> None:
    labels = [{"walk"}, {"walk", "wave"}, {"wave"}, {"jump", "walk"}]
    assert events_from_frames(range(4), labels) == [
        Event(0, 1, "walk"),
        Event(1, 2, "wave"),
        Event(3, 3, "jump"),
        Event(3, 3, "walk"),
    ]


def test_events_from_detections() -> None:
    frames = range(0, 100, 10)
    found = events_from_frames(
        frames, labels_present(SCENE, CLASSES), min_duration=15, frame_count=100
    )
    assert [(e.label, e.start, e.end) for e in found] == [("car", 0, 99), ("person", 0, 29)]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"min_duration": 0}, "min_duration"),
        ({"max_gap": -1}, "max_gap"),
        ({"frame_count": 2}, "past the video"),
    ],
    ids=["no_duration", "negative_gap", "past_the_end"],
)
def test_events_check_their_input(options: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        events_from_frames([0, 5], [RUN, RUN], **options)
