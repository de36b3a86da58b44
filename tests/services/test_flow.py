"""Optical flow computed ahead of time in parts: the split job (through the local executor)
writes exactly the flow of one ``FlowCache.compute`` pass, pair for pair, for spans at, beside
and away from keyframes; progress is summed over the parts; a part stopped by cancellation and
run again (a retry) leaves the one-pass files and no temporaries. ``tests/jobs/
test_ray_executor.py`` runs the job with its parts in other processes."""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.propagation import circle_video
from tweenlab.jobs import JobState, LocalExecutor, MemoryJobStore
from tweenlab.media import DerivedFiles
from tweenlab.propagation import FlowCache
from tweenlab.services.flow import FLOW_JOB, flow_job, flow_part

FRAMES = 48  # keyframes every 12 frames (tests.propagation.write_video): 0, 12, 24, 36
PAIRS = FRAMES - 1


@dataclass
class Context:
    """A ``JobContext`` that records progress, is cancelled after ``stop_after`` progress
    reports, and runs ``map`` in this process."""

    stop_after: int | None = None
    reports: list[tuple[int, int | None]] = field(default_factory=list)
    job_id: str = "test"

    def progress(self, done: int, total: int | None = None) -> None:
        self.reports.append((done, total))

    @property
    def cancelled(self) -> bool:
        return self.stop_after is not None and len(self.reports) >= self.stop_after

    def map(self, target: str, items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        assert target.endswith(":flow_part")
        return [flow_part(self, dict(item)) for item in items]


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return circle_video(tmp_path_factory.mktemp("flow") / "circle.mp4", frames=FRAMES)[0]


@pytest.fixture(scope="module")
def one_pass(video: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Every file of the cache after one ``compute`` over the whole video, by name."""
    derived = DerivedFiles(tmp_path_factory.mktemp("one-pass"))
    cache = FlowCache(video, derived.index(video), derived.folder(video))
    cache.compute(0, PAIRS)
    return files(cache.folder)


@pytest.fixture(scope="module")
def local() -> Iterator[LocalExecutor]:
    running = LocalExecutor(MemoryJobStore(), workers=1)
    yield running
    running.shutdown()


def files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def assert_same_flow(found: Mapping[str, bytes], expected: Mapping[str, bytes]) -> None:
    """The same files (no temporaries among them), and the same arrays in each."""
    assert sorted(found) == sorted(expected)
    assert len([name for name in expected if not name.startswith("grey")]) == PAIRS
    for name, data in expected.items():
        assert np.array_equal(_array(found[name]), _array(data)), name


def _array(data: bytes) -> np.ndarray[Any, Any]:
    return np.asarray(np.load(io.BytesIO(data)))


@pytest.mark.parametrize(
    "plan",  # pairs per span asked, spans planned
    [
        pytest.param((12, 4), id="at-keyframes"),
        pytest.param((7, 8), id="half-between-keyframes"),  # starts 0 7 12 19 24 31 36 43
        pytest.param((100, 1), id="one-span"),
    ],
)
def test_the_split_job_writes_the_flow_of_one_pass(
    local: LocalExecutor,
    video: Path,
    one_pass: dict[str, bytes],
    tmp_path: Path,
    plan: tuple[int, int],
) -> None:
    span_pairs, spans = plan
    params = {"video": str(video), "data_dir": str(tmp_path), "span_pairs": span_pairs}
    done = local.wait(local.submit("flow", FLOW_JOB, params).id, timeout=120)
    assert done.state is JobState.SUCCEEDED, done.error
    assert done.result is not None
    assert (done.result["pairs"], done.result["spans"]) == (PAIRS, spans)
    assert (done.done, done.total) == (PAIRS, PAIRS)  # each part's pairs, summed
    assert_same_flow(files(Path(done.result["folder"])), one_pass)


def test_a_part_cancelled_then_run_again_leaves_the_one_pass_files(
    video: Path, one_pass: dict[str, bytes], tmp_path: Path
) -> None:
    item = {"video": str(video), "data_dir": str(tmp_path), "start": 12, "stop": 24}
    stopped = Context(stop_after=1)  # the report of the pairs already there, then cancelled
    assert flow_part(stopped, item) == {"pairs": 1, "cancelled": True}
    retried = Context()
    assert flow_part(retried, item) == {"pairs": 12}
    assert retried.reports == [(1, 12), (12, 12)]  # the kept pair counts as done
    folder = Path(
        flow_job(Context(), {"video": str(video), "data_dir": str(tmp_path), "span_pairs": 12})[
            "folder"
        ]
    )
    mtimes = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    again = Context()
    assert flow_part(again, item) == {"pairs": 12}  # a finished part run again: nothing to do
    assert again.reports == [(12, 12)]
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == mtimes
    assert_same_flow(files(folder), one_pass)


def test_a_cancelled_job_says_so_and_counts_the_pairs_done(video: Path, tmp_path: Path) -> None:
    params = {"video": str(video), "data_dir": str(tmp_path), "span_pairs": 12}
    assert flow_job(Context(stop_after=0), params) == {"pairs": 0, "cancelled": True}


def test_ahead_of_time_stops_where_the_cache_budget_is_full(
    video: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parts computed past the budget would evict the pairs earlier parts kept: the job
    computes what the budget holds from its first frame on, and says where it stopped."""
    monkeypatch.setattr(FlowCache, "budget_pairs", property(lambda self: 20))
    params = {"video": str(video), "data_dir": str(tmp_path), "span_pairs": 12}
    done = flow_job(Context(), params)
    assert (done["pairs"], done["last"], done["asked_last"]) == (20, 20, PAIRS)
    pairs = sorted(p.name for p in Path(done["folder"]).iterdir() if not p.name.startswith("g"))
    assert pairs == [f"{n:07d}.npy" for n in range(20)]


def test_the_budget_in_pairs_is_what_a_pairs_files_take(video: Path, tmp_path: Path) -> None:
    derived = DerivedFiles(tmp_path)
    cache = FlowCache(video, derived.index(video), derived.folder(video), budget_mb=64)
    cache.compute(0, 8)
    taken = sum(p.stat().st_size for p in cache.folder.iterdir()) / 8  # 8 pairs, 9 greys
    assert cache.budget_pairs == pytest.approx(64 * 2**20 / taken, rel=0.03)
