"""Keyframe analysis in spans: spans planned at keyframes, their features kept and read back,
and, on real clips, spans merged into exactly the single-pass analysis (every signal, cuts,
transitions, flashes, suggestions), for spans whose edges fall at, next to and inside cuts and
transitions; the span jobs run through the local executor; a span computed twice."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import shared_file
from tests.keyframes.compare import assert_same_analysis, assert_same_features
from tests.keyframes.scenes import shot, write_video
from tweenlab.errors import UsageError
from tweenlab.jobs import JobState, LocalExecutor, MemoryJobStore
from tweenlab.keyframes import (
    Analysis,
    Span,
    SpanFeatures,
    SuggestionPolicy,
    analyse_frames,
    analyse_spans,
    extract_span,
    plan_spans,
    plan_spans_near_keyframes,
)
from tweenlab.media import DerivedFiles
from tweenlab.services.keyframes import (
    analyse_span,
    analyse_video,
    merge_span_analyses,
    plan_video_spans,
)
from tweenlab.services.scale import ANALYSIS_JOB, INGEST_ANALYSIS_JOB
from tweenlab.settings import Settings

KEYS = [0, 30, 76, 137, 187, 242]  # bikes.mp4's keyframes (its hard cuts are 30, 76, ...)


@pytest.mark.parametrize(
    ("keyframes", "count", "span_frames", "starts"),
    [
        (KEYS, 250, 100, [0, 76, 187]),
        (KEYS, 250, 40, [0, 30, 76, 137, 187, 242]),
        (KEYS, 250, 1000, [0]),
        (KEYS, 250, 1, [0, 30, 76, 137, 187, 242]),
        ([0], 500, 100, [0]),  # one keyframe: one span
        ([0, 12, 14, 40, 41], 60, 15, [0, 14, 40, 41]),  # the keyframe nearest to 15 after
        ([5, 0, 5, 99], 50, 10, [0, 5]),  # unsorted, repeated and out-of-range keyframes
    ],
    ids=[
        "bikes-100",
        "bikes-40",
        "longer-than-video",
        "every-keyframe",
        "one-key",
        "nearest",
        "odd",
    ],
)
def test_spans_start_at_keyframes_and_cover_every_frame(
    keyframes: list[int], count: int, span_frames: int, starts: list[int]
) -> None:
    spans = plan_spans(keyframes, count, span_frames)
    assert [s.start for s in spans] == starts
    assert spans[-1].stop == count
    assert all(a.stop == b.start for a, b in itertools.pairwise(spans))


@pytest.mark.parametrize("bad", [0, -5])
def test_a_span_size_must_be_positive(bad: int) -> None:
    with pytest.raises(UsageError, match="span_frames"):
        plan_spans(KEYS, 250, bad)


NEAR = [
    pytest.param([0], 0, 30, 10, [0, 10, 20], id="no-keyframe-near"),
    pytest.param([0, 12, 21], 0, 30, 10, [0, 12, 21], id="keyframes"),
    pytest.param([0, 16], 0, 30, 10, [0, 10, 16, 26], id="a-key-too-far-then-near"),
    pytest.param([0, 12, 24, 36], 5, 46, 10, [5, 12, 24, 36], id="from-a-later-frame"),
    pytest.param([0, 28], 0, 25, 20, [0], id="a-key-past-the-end-starts-nothing"),
    pytest.param([0], 3, 3, 10, [], id="nothing"),
]


@pytest.mark.parametrize(("keyframes", "start", "stop", "span_frames", "starts"), NEAR)
def test_spans_near_keyframes_start_at_one_when_near_and_cover_every_frame(
    keyframes: list[int], start: int, stop: int, span_frames: int, starts: list[int]
) -> None:
    spans = plan_spans_near_keyframes(keyframes, start, stop, span_frames)
    assert [s.start for s in spans] == starts
    assert [s.stop for s in spans] == [*starts[1:], stop][: len(spans)]
    with pytest.raises(UsageError, match="span_frames"):
        plan_spans_near_keyframes(keyframes, start, stop, 0)


def test_span_features_are_kept_exactly(tmp_path: Path) -> None:
    frames = shot(1, 8, speed=3) + shot(2, 4)
    features = extract_span(Span(2, 10), enumerate(frames))
    assert features.frames.tolist() == list(range(2, 11))  # the span and the overlap frame
    features = replace(features, errors=("clip.mp4: frame 12: cannot be decoded",))
    features.save(tmp_path / "span.npz")
    loaded = SpanFeatures.load(tmp_path / "span.npz")
    assert loaded is not None and loaded.span == Span(2, 10)
    assert loaded.errors == features.errors
    assert_same_features(features, loaded)
    assert SpanFeatures.load(tmp_path / "missing.npz") is None


def test_spans_that_are_not_adjacent_are_refused() -> None:
    frames = list(enumerate(shot(1, 10)))
    parts = [extract_span(Span(0, 4), frames), extract_span(Span(5, 10), frames)]
    with pytest.raises(ValueError, match="not adjacent"):
        analyse_spans(parts)


def test_synthetic_frames_in_spans_equal_one_pass() -> None:
    frames = shot(1, 20, speed=2) + shot(2, 15) + shot(3, 20, speed=-3)
    whole = analyse_frames(enumerate(frames))
    spans = [Span(0, 19), Span(19, 20), Span(20, 21), Span(21, 36), Span(36, len(frames))]
    merged = analyse_spans([extract_span(s, enumerate(frames)) for s in spans])
    assert whole.cuts == [20, 35]
    assert_same_analysis(whole, merged)


# -- real clips ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def single_pass(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Analysis]:
    """A clip's single-pass analysis, computed once for the module."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("single"))

    @functools.cache
    def analysis(clip: str) -> Analysis:
        return analyse_video(shared_file(clip), settings, reuse=False).analysis

    return analysis


CASES = [
    # edges at keyframes 76 and 187, which are hard cuts
    pytest.param("clips/bikes.mp4", 100, None, id="bikes-100"),
    # every keyframe: every cut is a span's first frame
    pytest.param("clips/bikes.mp4", 40, None, id="bikes-40"),
    pytest.param(  # next to each cut
        "clips/bikes.mp4", 0, [29, 31, 75, 77, 136, 138, 186, 241, 243], id="next-to-cuts"
    ),
    pytest.param(  # one-frame spans at cuts, and at the end
        "clips/bikes.mp4", 0, [30, 31, 76, 77, 249], id="one-frame-spans"
    ),
    pytest.param(  # edge at 180, inside the fade (176, 183)
        "clips/testvideo.mp4", 200, None, marks=pytest.mark.slow, id="testvideo-fade"
    ),
    pytest.param("cuts/cuts_dev.mp4", 250, None, marks=pytest.mark.slow, id="cuts-dev"),
]


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("clip", "span_frames", "starts"),
    CASES,
)
def test_spans_merged_equal_the_single_pass(
    clip: str,
    span_frames: int,
    starts: list[int] | None,
    single_pass: Callable[[str], Analysis],
    settings: Settings,
) -> None:
    video = shared_file(clip)
    whole = single_pass(clip)
    if starts is None:
        spans = plan_video_spans(video, settings, span_frames)
        index = DerivedFiles(settings.derived_dir).index(video)
        assert len(spans) > 1 and all(index.keyframe[s.start] for s in spans)
    else:  # any frame may start a span (decoding starts at the keyframe before it)
        edges = [0, *starts, len(whole.frames)]
        spans = [Span(a, b) for a, b in itertools.pairwise(edges)]
    paths = [analyse_span(video, span, settings)[0] for span in spans]
    merged = merge_span_analyses(video, settings, paths)
    assert_same_analysis(whole, merged.analysis)
    assert not paths[0].parent.exists()  # merged, then removed
    reused = analyse_video(video, settings)  # finds the merged analysis
    assert reused.fps is None and reused.analysis.suggested == whole.suggested


@pytest.mark.shared_data
def test_a_span_computed_twice_gives_the_same_file(settings: Settings) -> None:
    video = shared_file("clips/bikes.mp4")
    span = Span(76, 137)
    first, _ = analyse_span(video, span, settings)
    kept = SpanFeatures.load(first)
    written = first.stat().st_mtime_ns
    again, _ = analyse_span(video, span, settings)  # a resumed job: the file is kept
    assert again == first and first.stat().st_mtime_ns == written
    redone, _ = analyse_span(video, span, settings, reuse=False)  # a retry: computed again
    assert redone == first
    recomputed = SpanFeatures.load(redone)
    assert kept is not None and recomputed is not None
    assert kept.frames.tolist() == list(range(76, 138)) and kept.errors == ()
    assert_same_features(kept, recomputed)
    assert sorted(p.name for p in first.parent.iterdir()) == [first.name]  # no temporaries


@pytest.fixture(scope="module")
def executor() -> Iterator[LocalExecutor]:
    running = LocalExecutor(MemoryJobStore(), workers=1)
    yield running
    running.shutdown()


@pytest.mark.shared_data
def test_the_analysis_job_equals_the_single_pass_and_sums_progress(
    executor: LocalExecutor, single_pass: Callable[[str], Analysis], settings: Settings
) -> None:
    video = shared_file("clips/bikes.mp4")
    params = {"video": str(video), "data_dir": str(settings.data_dir), "span_frames": 60}
    job = executor.wait(executor.submit("keyframes", ANALYSIS_JOB, params).id, timeout=120)
    assert job.state is JobState.SUCCEEDED, job.error
    whole = single_pass("clips/bikes.mp4")
    assert job.result is not None and job.result["spans"] == 5
    assert job.result["hard_cuts"] == whole.cuts == [30, 76, 137, 187, 242]
    assert job.result["suggested"] == whole.suggested and job.result["frames"] == 250
    assert (job.done, job.total) == (250, 250)  # the parts' frames, summed
    kept = analyse_video(video, settings)
    assert kept.fps is None  # the job's analysis, read back
    assert_same_analysis(whole, kept.analysis)


@pytest.mark.shared_data
def test_several_videos_are_ingested_and_analysed_in_one_job(
    executor: LocalExecutor,
    single_pass: Callable[[str], Analysis],
    settings: Settings,
    tmp_path: Path,
) -> None:
    bikes = shared_file("clips/bikes.mp4")
    small = write_video(tmp_path / "two-shots.mp4", shot(1, 30) + shot(2, 30, speed=4))
    params = {
        "videos": [str(bikes), str(small)],
        "data_dir": str(settings.data_dir),
        "span_frames": 100,
        "policy": {"max_count": 6},
        "proxy_max_gop": 500,  # no proxy: keeps the test short
    }
    job = executor.wait(executor.submit("ingest", INGEST_ANALYSIS_JOB, params).id, timeout=120)
    assert job.state is JobState.SUCCEEDED, job.error
    assert job.result is not None
    first, second = job.result["videos"]
    assert first["frame_count"] == 250 and second["frame_count"] == 60
    assert first["filmstrip_frames"] > 0 and first["proxy"] is False
    alone = Settings(data_dir=tmp_path / "alone")
    for summary, video in ((first, bikes), (second, small)):
        expected = analyse_video(video, alone, policy=SuggestionPolicy(max_count=6)).analysis
        assert summary["keyframes"] == {
            "cuts": expected.boundaries,
            "suggested": expected.suggested,
        }
    assert job.total == 250 + 1 + 60 + 1  # each video's frames and its filmstrip
