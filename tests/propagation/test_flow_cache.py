"""The flow cache shared by several writers (the parts of a flow job in other processes, here two
caches over one folder): its budget is kept from what the folder holds, not from what one
writer wrote; a temporary left by a dead writer goes, a live writer's stays; progress is
reported per pair."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.propagation import cached_bytes, indexed_circle
from tweenlab.media import FrameIndex
from tweenlab.propagation import FlowCache

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
