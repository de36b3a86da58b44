"""The flow cache shared by several writers (the parts of a flow job in other processes, here two
caches over one folder): its budget is kept from what the folder holds, not from what one
writer wrote; a temporary left by a dead writer goes, a live writer's stays; progress is
reported per pair; pairs are estimated two at a time in threads, stored each as its own."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.propagation import cached_bytes, indexed_circle
from tweenlab.media import FrameIndex
from tweenlab.plugins import registry
from tweenlab.propagation import FlowCache, flow

FRAMES = 30


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FrameIndex]:
    return indexed_circle(tmp_path_factory.mktemp("cache"), frames=FRAMES)


def test_the_budget_counts_what_other_writers_left_in_the_folder(
    clip: tuple[Path, FrameIndex], tmp_path: Path
) -> None:
    video, index = clip
    probe = FlowCache(video, index, tmp_path)
    probe.compute(0, 4)
    per_pair = cached_bytes(probe.folder) / 4  # a pair and (about) one grey frame
    budget_mb = 10 * per_pair / 2**20
    first = FlowCache(video, index, tmp_path, budget_mb=budget_mb)
    second = FlowCache(video, index, tmp_path, budget_mb=budget_mb)
    first.compute(0, 8)
    time.sleep(0.01)  # the second writer's files are the newer ones
    second.compute(16, 24)
    assert cached_bytes(tmp_path / probe.folder.name) <= second.budget
    stored = {int(p.stem) for p in probe.folder.glob("[0-9]*.npy")}
    assert set(range(16, 24)) <= stored  # the writer's own span is kept
    assert not set(range(4)) <= stored  # the other writer's oldest pairs went


def test_a_dead_writers_temporary_goes_and_a_live_ones_stays(
    clip: tuple[Path, FrameIndex], tmp_path: Path
) -> None:
    video, index = clip
    cache = FlowCache(video, index, tmp_path)
    cache.folder.mkdir(parents=True)
    dead, live = cache.folder / ".0000003.x1.npy", cache.folder / ".0000004.x2.npy"
    dead.write_bytes(b"half")
    live.write_bytes(b"half")
    old = time.time() - 2 * 3600
    os.utime(dead, (old, old))
    reports: list[tuple[int, int]] = []
    cache.compute(0, 6, report=lambda done, total: reports.append((done, total)))
    assert not dead.exists() and live.exists()
    assert reports == [(n, 6) for n in range(7)]


def test_pairs_estimated_in_threads_are_each_stored_as_their_own(
    clip: tuple[Path, FrameIndex], tmp_path: Path
) -> None:
    video, index = clip
    cache = FlowCache(video, index, tmp_path, method="dis")
    cache.compute(0, 12)
    for n in range(12):  # the square circles: each pair's flow is another
        kept = np.stack([cache.pair(n).forward, cache.pair(n).backward])
        assert np.array_equal(kept, cache._flow_of(n)), n
    assert not np.array_equal(cache.pair(0).forward, cache.pair(6).forward)


def _watched(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """Register ``name`` as DIS that records how many calls run at once (each call sleeps)."""
    running, most, lock = [0], [0], threading.Lock()
    dis = registry("flow_estimators").get("dis")

    def estimator(previous: Any, following: Any) -> Any:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)  # long enough for the next pair to be decoded and started
        try:
            return dis(previous, following)
        finally:
            with lock:
                running[0] -= 1

    found = registry("flow_estimators").get
    monkeypatch.setattr(
        registry("flow_estimators"),
        "get",
        lambda asked: estimator if asked == name else found(asked),
    )
    return most


def test_builtin_estimators_run_two_pairs_at_once_and_a_plugins_one(
    clip: tuple[Path, FrameIndex], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    video, index = clip
    plugin = _watched(monkeypatch, "plugin")
    FlowCache(video, index, tmp_path, method="plugin").compute(0, 8)
    assert plugin == [1]  # not known to be thread-safe: one call at a time
    monkeypatch.setattr(flow, "_THREAD_SAFE", flow._THREAD_SAFE | {"safe"})
    safe = _watched(monkeypatch, "safe")
    FlowCache(video, index, tmp_path, method="safe").compute(0, 8)
    assert safe == [2]


def test_a_report_that_stops_leaves_the_pairs_stored_so_far_and_no_others(
    clip: tuple[Path, FrameIndex], tmp_path: Path
) -> None:
    video, index = clip
    cache = FlowCache(video, index, tmp_path)

    class StopError(Exception):
        pass

    def report(done: int, total: int) -> None:
        if done == 3:
            raise StopError

    with pytest.raises(StopError):
        cache.compute(0, 10, report=report)
    stored = sorted(int(p.stem) for p in cache.folder.glob("[0-9]*.npy"))
    assert stored == [0, 1, 2]
    assert not list(cache.folder.glob(".*"))  # no pair left half-written
    for n in stored:
        assert np.isfinite(np.asarray(cache.pair(n).forward, dtype=np.float32)).all()
