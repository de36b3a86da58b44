"""The keyframe detector on synthetic shots with exact boundaries: cuts, pans, dissolves, fades,
flashes, near-duplicates, and the suggestion policies."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.keyframes.scenes import dissolve, fade_out, flash, indexed, shot, wipe
from tweenlab.errors import UsageError
from tweenlab.keyframes import Analysis, SuggestionPolicy, analyse_frames


def near(found: list[int], truth: int, tolerance: int = 2) -> bool:
    return any(abs(f - truth) <= tolerance for f in found)


def test_hard_cuts_between_panning_shots_and_none_inside_fast_pans() -> None:
    frames = (
        shot(1, 40, speed=1) + shot(2, 50, speed=9) + shot(3, 40, speed=-7, start=400) + shot(4, 30)
    )
    found = analyse_frames(indexed(frames))
    assert found.cuts == [40, 90, 130]
    assert found.transitions == []


def test_dissolve_is_one_transition_whose_middle_is_the_boundary() -> None:
    frames = dissolve(shot(1, 60, speed=2), shot(2, 60, speed=-2, start=400), 15)  # blend 45..59
    found = analyse_frames(indexed(frames))
    assert found.cuts == []
    assert len(found.transitions) == 1
    start, end = found.transitions[0]
    assert start <= 52 <= end
    assert start >= 43 and end <= 61  # the blended frames, give or take 2
    assert near(found.boundaries, 52)


@pytest.mark.parametrize(
    ("make", "length"),
    [
        (wipe, 24),
        (lambda a, b, n: wipe(a, b, n, vertical=True), 20),
        (dissolve, 30),
    ],
    ids=["wipe-24", "vertical-wipe-20", "dissolve-30"],
)
def test_long_transitions_are_found(make: Any, length: int) -> None:
    # longer than twice the short comparison (4 frames): the k = 4 histograms differ by only
    # part of the change between the shots, which the k = 8 and k = 12 comparisons see
    frames = make(shot(1, 70, speed=2), shot(2, 70, speed=-2, start=400), length)
    middle = 70 - length + length // 2
    found = analyse_frames(indexed(frames))
    assert found.cuts == []
    assert len(found.transitions) == 1
    start, end = found.transitions[0]
    assert start <= middle <= end
    assert 70 - length - 3 <= start and end <= 69 + 3  # the mixed frames, not the run's reach
    assert near(found.boundaries, middle, tolerance=length // 2)


def test_fade_to_black_is_a_transition_not_a_cut() -> None:
    frames = fade_out(shot(1, 50, speed=3), 12) + shot(2, 40)  # fades over 38..49
    found = analyse_frames(indexed(frames))
    assert found.cuts == [50]  # from black into the next shot
    assert any(start <= 49 and end >= 38 for start, end in found.transitions)


def test_flash_is_reported_and_suppressed() -> None:
    frames = flash(shot(1, 60, speed=2), 30, length=2)
    found = analyse_frames(indexed(frames))
    assert found.cuts == []
    assert found.flashes and found.flashes[0][0] == 30
    assert found.boundaries == []


def test_static_footage_is_one_suggestion_and_duplicates_are_flagged() -> None:
    frames = shot(5, 1) * 60
    found = analyse_frames(indexed(frames))
    assert found.suggested == [0]
    assert found.signals.duplicate[1:].all()


def test_default_policy_suggests_each_shot_start_and_more_where_things_move() -> None:
    frames = shot(1, 60) + shot(2, 60, speed=8)
    found = analyse_frames(indexed(frames))
    assert found.cuts == [60]
    assert 0 in found.suggested and near(found.suggested, 60)
    still = [f for f in found.suggested if f < 60]
    moving = [f for f in found.suggested if f >= 60]
    assert len(moving) > len(still)


@pytest.mark.parametrize(
    ("policy", "check"),
    [
        (SuggestionPolicy(max_count=6), lambda s: len(s) <= 6 and s[0] == 0),
        (SuggestionPolicy(max_count=1), lambda s: s == [0]),
        (SuggestionPolicy(every_frames=25), lambda s: s == [0, 25, 50, 75, 100]),
        (SuggestionPolicy(frames=(3, 9)), lambda s: s == [3, 9]),
    ],
    ids=["max-6", "max-1", "every-25", "frames"],
)
def test_budgets_and_intervals(policy: SuggestionPolicy, check: object) -> None:
    frames = shot(1, 40) + shot(2, 40, speed=6) + shot(3, 40, speed=2)
    found = analyse_frames(indexed(frames), policy)
    assert callable(check) and check(found.suggested), found.suggested


def test_budget_crowds_where_change_concentrates() -> None:
    frames = shot(1, 100, speed=0) + shot(2, 100, speed=10)
    found = analyse_frames(indexed(frames), SuggestionPolicy(max_count=10))
    assert 8 <= len(found.suggested) <= 10  # a candidate too close to another is dropped
    assert sum(f < 100 for f in found.suggested) == 1  # the still shot: its start only


def test_budget_keeps_suggestions_apart_where_change_bursts() -> None:
    """A burst of change at the start of a shot may not pull several keyframes into a few
    frames: suggestions keep 0.7 of the mean spacing (changing frames / budget) apart."""
    from tweenlab.keyframes import suggest_keyframes
    from tweenlab.keyframes.signals import Signals

    signals = Signals.empty(200)
    signals.foreground[:] = 4.0
    signals.foreground[1:6] = 400.0  # most of the change in five frames
    signals.sharpness[:] = 1.0
    found = [e.frame for e in suggest_keyframes(signals, [], SuggestionPolicy(max_count=10))]
    gaps = [b - a for a, b in itertools.pairwise(found)]
    assert len(found) >= 8 and min(gaps) >= round(0.7 * 200 / 10), found


def test_budget_leaves_the_shot_end_a_span_like_the_others() -> None:
    """Under even change, r suggestions after the shot start cut a shot into r + 1 equal
    spans, the last one ending at the shot's end (in-betweening runs between keyframes, and
    past the last one only as far as the motion carries): not r spans centred on them."""
    from tweenlab.keyframes import suggest_keyframes
    from tweenlab.keyframes.signals import Signals

    signals = Signals.empty(200)
    signals.foreground[:] = 16.0
    signals.sharpness[:] = 1.0
    found = [e.frame for e in suggest_keyframes(signals, [], SuggestionPolicy(max_count=5))]
    assert found == [0, 40, 80, 120, 160], found


def test_budget_never_suggests_near_duplicates() -> None:
    frames = shot(1, 1) * 50 + shot(2, 30, speed=5)
    found = analyse_frames(indexed(frames), SuggestionPolicy(max_count=8))
    assert sum(f < 50 for f in found.suggested) == 1


def test_fixed_interval_never_suggests_near_duplicates() -> None:
    frames = shot(1, 1) * 30 + shot(2, 30, speed=5)
    found = analyse_frames(indexed(frames), SuggestionPolicy(every_frames=5))
    assert found.suggested == [0, 30, 35, 40, 45, 50, 55], found.suggested


def test_per_minute_budget_uses_the_duration() -> None:
    frames = shot(1, 60, speed=4)
    found = analyse_frames(indexed(frames), SuggestionPolicy(per_minute=30), duration_seconds=6.0)
    assert len(found.suggested) <= 3


@pytest.mark.parametrize(
    "policy",
    [SuggestionPolicy(max_count=10**12), SuggestionPolicy(per_minute=1e300)],
    ids=["max", "per-minute"],
)
def test_a_budget_over_the_frame_count_is_every_frame_at_most(policy: SuggestionPolicy) -> None:
    """A budget larger than the video asks for each frame once: it is not laid out (a
    quantile per unit of budget took minutes, then memory, for --max 100000 on 250 frames)."""
    from tweenlab.keyframes import suggest_keyframes
    from tweenlab.keyframes.signals import Signals

    signals = Signals.empty(60)
    signals.foreground[:] = 16.0
    signals.sharpness[:] = 1.0
    found = [e.frame for e in suggest_keyframes(signals, [], policy, duration_seconds=2.4)]
    assert found == sorted(set(found)) and 1 < len(found) <= 60, found


@pytest.mark.parametrize(
    "options",
    [
        {"max_count": 3, "every_frames": 2},
        {"per_minute": 0},
        {"every_frames": -1},
        {"per_minute": float("inf")},
        {"per_minute": float("nan")},
    ],
    ids=["two-policies", "zero-rate", "negative-interval", "infinite-rate", "nan-rate"],
)
def test_bad_policies_are_usage_errors(options: dict[str, float]) -> None:
    with pytest.raises(UsageError):
        SuggestionPolicy(**options)  # type: ignore[arg-type]


def test_analysis_round_trips_through_its_file(tmp_path: Path) -> None:
    frames = shot(1, 30) + shot(2, 30, speed=4)
    found = analyse_frames(indexed(frames))
    found.save(tmp_path / "k.npz")
    again = Analysis.load(tmp_path / "k.npz")
    assert again is not None
    assert again.cuts == found.cuts and again.suggested == found.suggested
    assert np.array_equal(again.signals.foreground, found.signals.foreground)
    assert again.resuggest(SuggestionPolicy(every_frames=20)).suggested == [0, 20, 40]
    assert Analysis.load(tmp_path / "missing.npz") is None


def test_frames_must_come_in_order() -> None:
    from tweenlab.keyframes import KeyframeDetector

    detector = KeyframeDetector()
    image = shot(1, 1)[0]
    detector.process(5, image)
    with pytest.raises(ValueError, match="not ascending"):
        detector.process(5, image)
