"""Annotations on a retimed timeline: synthesised frames get the in-between labels at their time."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest

from tweenlab.core.annotations import AnnotationSet, ClipClass, Event, FrameTag, VideoRef
from tweenlab.core.retiming import factor_samples, retime_annotations, state_at
from tweenlab.core.schema import Schema
from tweenlab.core.shapes import Box, Polygon
from tweenlab.core.track import Keyframe, Track
from tweenlab.errors import UsageError

HALF = Fraction(1, 2)


def _set(*tracks: Track, frames: int = 11, **extra: object) -> AnnotationSet:
    video = VideoRef("clip.mp4", frames, 640, 480, Fraction(25))
    schema = Schema.of("car", "night", "turn")
    return AnnotationSet(video, schema, {t.id: t for t in tracks}, **extra)  # type: ignore[arg-type]


def _box(x: float, y: float = 0.0) -> Keyframe:
    return Keyframe(Box(x, y, 10, 10))


def test_factor_samples_put_factor_minus_one_frames_between_every_two() -> None:
    samples = factor_samples(3, 4)
    assert len(samples) == 9
    assert samples[0] == (0, 0) and samples[4] == (1, 0) and samples[8] == (2, 0)
    assert samples[5] == (1, Fraction(1, 4))


def test_a_straight_span_is_interpolated_at_the_fractional_time() -> None:
    track = Track(1, "car", {0: _box(0), 10: _box(100, 50)})
    state = state_at(track, 3, Fraction(1, 4))
    assert state is not None and not state.keyframe
    assert (state.shape.x, state.shape.y) == pytest.approx((32.5, 16.25))  # type: ignore[attr-defined]


def test_a_guided_span_keeps_the_guided_path_between_two_frames() -> None:
    # in-betweening moved the object along y, which the keyframes alone do not say
    guided = {f: Box(10.0 * f, 30.0, 10, 10) for f in range(1, 10)}
    track = Track(1, "car", {0: _box(0), 10: _box(100)}, inbetween=guided)
    state = state_at(track, 4, HALF)
    assert state is not None
    assert (state.shape.x, state.shape.y) == pytest.approx((45.0, 30.0))  # type: ignore[attr-defined]
    # next to a keyframe: halfway between the keyframe and the first guided shape
    first = state_at(track, 0, HALF)
    assert first is not None and first.shape.y == pytest.approx(15.0)  # type: ignore[attr-defined]


def test_an_object_leaving_or_entering_between_two_frames_is_not_on_the_synthesised_one() -> None:
    track = Track(
        1, "car", {0: _box(0), 4: Keyframe(Box(40, 0, 10, 10), outside=True), 6: _box(60)}
    )
    assert not state_at(track, 3, HALF).visible  # type: ignore[union-attr]
    assert not state_at(track, 5, HALF).visible  # type: ignore[union-attr]
    assert state_at(track, 6, HALF).visible  # type: ignore[union-attr]
    assert state_at(track, 2, HALF).visible  # type: ignore[union-attr]


def test_t_outside_zero_to_one_is_refused() -> None:
    track = Track(1, "car", {0: _box(0)})
    with pytest.raises(UsageError, match="t: 1 is not in"):
        state_at(track, 0, 1)


def test_doubling_keeps_keyframes_and_labels_every_synthesised_frame() -> None:
    track = Track(
        1,
        "car",
        {
            0: _box(0),
            4: Keyframe(Box(40, 0, 10, 10), occluded=True),
            6: Keyframe(Box(60, 0, 10, 10), outside=True),
            8: _box(80),
        },
    )
    retimed = retime_annotations(_set(track), factor_samples(11, 2))
    assert retimed.video.frame_count == 21
    assert retimed.video.fps == 50
    new = retimed.track(1)
    assert new.keyframes[0] == track.keyframes[0]
    assert new.keyframes[8] == track.keyframes[4]
    assert new.keyframes[16] == track.keyframes[8]
    # the object leaves at 6: the frame synthesised at 5.5 is the first without it
    assert new.at(11).outside and not new.at(10).outside  # type: ignore[union-attr]
    for v in range(0, 11):
        expected = state_at(track, v // 2, Fraction(v % 2, 2))
        got = new.at(v)
        assert expected is not None and got is not None
        assert got.shape.x == pytest.approx(expected.shape.x)  # type: ignore[attr-defined]
        assert (got.occluded, got.outside) == (expected.occluded, expected.outside)
        assert got.keyframe == (v in (0, 8))
    # source spans with no guided shape need no stored shapes (their straight interpolation is
    # already exact); the span that now ends at the new outside keyframe (11) keeps its own
    assert set(new.inbetween) == {9, 10}


def test_a_guided_track_keeps_its_path_and_confidence_on_the_new_timeline() -> None:
    guided = {f: Box(10.0 * f, 3.0 * f * (10 - f), 10, 10) for f in range(1, 10)}
    confidence = {f: 1 - f / 20 for f in range(1, 10)}
    track = Track(1, "car", {0: _box(0), 10: _box(100)}, inbetween=guided, confidence=confidence)
    retimed = retime_annotations(_set(track), factor_samples(11, 3))
    new = retimed.track(1)
    for v in range(1, 30):
        n, t = divmod(v, 3)
        expected = state_at(track, n, Fraction(t, 3))
        assert expected is not None
        assert new.at(v).shape.y == pytest.approx(expected.shape.y)  # type: ignore[union-attr]
    assert new.confidence[3] == pytest.approx(confidence[1])
    assert new.confidence[4] == pytest.approx(min(confidence[1], confidence[2]))


def test_polygons_are_carried_too() -> None:
    square = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], dtype=float)
    track = Track(1, "car", {0: Keyframe(Polygon(square)), 2: Keyframe(Polygon(square + 20))})
    new = retime_annotations(_set(track, frames=3), factor_samples(3, 2)).track(1)
    assert new.at(1).shape.bbox() == pytest.approx((5, 5, 10, 10))  # type: ignore[union-attr]


def test_tags_events_and_clip_classes_move_with_their_frames() -> None:
    track = Track(1, "car", {0: _box(0)})
    source = _set(
        track,
        tags=(FrameTag(3, "night"),),
        events=(Event(2, 4, "turn"),),
        classes=(ClipClass("night"), ClipClass("night", 5, 10)),
    )
    retimed = retime_annotations(source, factor_samples(11, 2))
    assert [t.frame for t in retimed.tags] == [6]
    # a frame lasts until the next: the frame made at 4.5 is still in the event's frame 4
    assert [(e.start, e.end) for e in retimed.events] == [(4, 9)]
    assert [(c.start, c.end) for c in retimed.classes] == [(None, None), (10, 20)]


def test_a_tag_or_short_event_on_a_frame_with_no_sample_of_its_own_is_kept() -> None:
    # 25 -> 37.5 fps: samples at 0, 2/3, 4/3, 2: no sample is exactly frame 1
    samples = [(0, Fraction(0)), (0, Fraction(2, 3)), (1, Fraction(1, 3)), (2, Fraction(0))]
    source = _set(
        Track(1, "car", {0: _box(0)}),
        frames=3,
        tags=(FrameTag(1, "night"),),
        events=(Event(1, 1, "turn"),),
    )
    retimed = retime_annotations(source, samples)
    assert [t.frame for t in retimed.tags] == [2]
    assert [(e.start, e.end) for e in retimed.events] == [(2, 2)]


def test_motion_after_a_keyframe_with_no_sample_of_its_own_is_kept() -> None:
    track = Track(1, "car", {0: _box(0), 1: _box(100)})
    samples = [(0, Fraction(0)), (0, Fraction(2, 3)), (1, Fraction(1, 3)), (2, Fraction(0))]
    new = retime_annotations(_set(track, frames=3), samples).track(1)
    xs = [new.at(v).shape.x for v in range(4)]  # type: ignore[union-attr]
    assert xs == pytest.approx([0, 200 / 3, 100, 100])


def test_every_sample_of_random_uneven_timelines_is_the_source_at_its_time() -> None:
    rng = np.random.default_rng(7)
    for _ in range(1000):
        frames = int(rng.integers(3, 14))
        keys = sorted(rng.choice(frames, size=int(rng.integers(1, frames)), replace=False).tolist())
        keyframes = {
            int(f): Keyframe(
                Box(float(rng.uniform(0, 200)), float(rng.uniform(0, 100)), 10, 10),
                outside=bool(rng.random() < 0.25) and f != keys[0],
                occluded=bool(rng.random() < 0.3),
            )
            for f in keys
        }
        spans = list(itertools.pairwise(keys))
        guided = {}
        for a, b in spans:
            if b - a > 1 and not keyframes[a].outside and rng.random() < 0.5:
                guided.update({f: Box(float(f) * 7, 50.0, 10, 10) for f in range(a + 1, b)})
        track = Track(1, "car", keyframes, inbetween=guided)
        times = sorted({Fraction(int(x), 6) for x in rng.integers(0, 6 * (frames - 1) + 1, 12)})
        samples = [(int(x), x - int(x)) for x in times]
        new = retime_annotations(_set(track, frames=frames), samples).tracks.get(1)
        for v, (n, t) in enumerate(samples):
            want = state_at(track, n, t)
            got = new.at(v) if new is not None else None
            if want is None:
                assert got is None
                continue
            assert got is not None and got.outside == want.outside, (keys, samples, v)
            assert got.occluded == want.occluded
            if not want.outside:
                assert got.shape.bbox() == pytest.approx(want.shape.bbox()), (keys, samples, v)


def test_an_uneven_timeline_keeps_every_shape() -> None:
    track = Track(1, "car", {0: _box(0), 10: _box(100)})
    samples = [(0, Fraction(0)), (1, Fraction(0)), (1, Fraction(9, 10)), (5, Fraction(0))]
    samples += [(10, Fraction(0))]
    new = retime_annotations(_set(track), samples, fps=Fraction(30)).track(1)
    assert new.at(2).shape.x == pytest.approx(19.0)  # type: ignore[union-attr]
    assert new.at(3).shape.x == pytest.approx(50.0)  # type: ignore[union-attr]
    assert retime_annotations(_set(track), samples, fps=Fraction(30)).video.fps == 30


def test_samples_out_of_order_or_outside_the_video_are_refused() -> None:
    source = _set(Track(1, "car", {0: _box(0)}))
    with pytest.raises(UsageError, match=r"sample 1: time 2\.0 comes before 3\.0"):
        retime_annotations(source, [(3, Fraction(0)), (2, Fraction(0))])
    with pytest.raises(UsageError, match=r"sample 0: time 10\.5 is outside"):
        retime_annotations(source, [(10, HALF)])
    with pytest.raises(UsageError, match="at least one sample"):
        retime_annotations(source, [])
