"""The flow cache when other processes share it, or its budget is small: a pair or grey frame
another process evicts between its computing (or finding) and its reading is computed again (and,
should that keep happening, computed in memory); a fill's lazily computed spans and the grey
frames it decodes keep the cache within its budget (give or take one pair); a pair that cannot
be marked as used (a read-only cache, another user's files) is still read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.propagation import cached_bytes, indexed_circle
from tweenlab.media import FrameIndex
from tweenlab.propagation import FlowCache
from tweenlab.propagation import flow as flow_module

FRAMES = 30


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FrameIndex]:
    return indexed_circle(tmp_path_factory.mktemp("races"), frames=FRAMES)


@pytest.fixture(scope="module")
def reference(clip: tuple[Path, FrameIndex], tmp_path_factory: pytest.TempPathFactory) -> FlowCache:
    """A cache holding every pair, computed in one pass."""
    video, index = clip
    cache = FlowCache(video, index, tmp_path_factory.mktemp("reference"))
    cache.compute(0, FRAMES - 1)
    return cache


def _pair_bytes(cache: FlowCache) -> int:
    """What one pair's files take: its flow and one grey frame."""
    return 9 * cache.size[0] * cache.size[1] + 256


def _same(found: Any, expected: Any) -> bool:
    return bool(np.array_equal(np.asarray(found), np.asarray(expected)))


def test_a_pair_evicted_by_another_process_before_it_is_read_is_computed_again(
    clip: tuple[Path, FrameIndex],
    reference: FlowCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    video, index = clip
    cache = FlowCache(video, index, tmp_path)
    compute = FlowCache.compute
    calls: list[tuple[int, int]] = []

    def evicted_once(self: FlowCache, first: int, last: int, **kwargs: Any) -> int:
        computed = compute(self, first, last, **kwargs)
        calls.append((first, last))
        if len(calls) == 1:  # another process's eviction, just after this one's
            self._path(first).unlink()
        return computed

    monkeypatch.setattr(FlowCache, "compute", evicted_once)
    pair = cache.pair(4)
    assert len(calls) == 2
    assert _same(pair.forward, reference.pair(4).forward)
    assert _same(pair.backward, reference.pair(4).backward)


def test_a_pair_evicted_each_time_it_is_computed_is_computed_in_memory(
    clip: tuple[Path, FrameIndex],
    reference: FlowCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    video, index = clip
    cache = FlowCache(video, index, tmp_path)
    compute = FlowCache.compute

    def always_evicted(self: FlowCache, first: int, last: int, **kwargs: Any) -> int:
        computed = compute(self, first, last, **kwargs)
        self._path(first).unlink()
        return computed

    monkeypatch.setattr(FlowCache, "compute", always_evicted)
    pair = cache.pair(7)
    assert _same(pair.forward, reference.pair(7).forward)
    assert _same(pair.backward, reference.pair(7).backward)
    assert not cache._path(7).exists()


def test_a_pair_past_the_videos_last_frame_is_an_index_error(
    clip: tuple[Path, FrameIndex], tmp_path: Path
) -> None:
    video, index = clip
    with pytest.raises(IndexError, match="no frame pair 29"):
        FlowCache(video, index, tmp_path).pair(FRAMES - 1)


def test_a_fill_reading_pair_after_pair_keeps_the_cache_within_its_budget(
    clip: tuple[Path, FrameIndex], tmp_path: Path
) -> None:
    """Each missing pair read computes the span after it: no more of it than the budget holds
    (32 pairs at first, past a budget of a few)."""
    video, index = clip
    probe = FlowCache(video, index, tmp_path)
    budget_mb = 3.5 * _pair_bytes(probe) / 2**20
    cache = FlowCache(video, index, tmp_path, budget_mb=budget_mb)
    assert cache.budget_pairs == 3
    for n in range(FRAMES - 1):
        cache.pair(n)
        assert cached_bytes(cache.folder) <= cache.budget + _pair_bytes(cache), n


def test_grey_frames_decoded_for_a_span_keep_the_cache_within_its_budget(
    clip: tuple[Path, FrameIndex], tmp_path: Path
) -> None:
    video, index = clip
    probe = FlowCache(video, index, tmp_path)
    cache = FlowCache(video, index, tmp_path, budget_mb=6.5 * _pair_bytes(probe) / 2**20)
    cache.compute(0, cache.budget_pairs)
    greys = cache.greys(10, FRAMES - 1)
    assert sorted(greys) == list(range(10, FRAMES))
    assert cached_bytes(cache.folder) <= cache.budget + _pair_bytes(cache)


def test_a_grey_frame_evicted_before_it_is_read_is_decoded_again(
    clip: tuple[Path, FrameIndex],
    reference: FlowCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Found on disk, then gone (another process's eviction) when opened."""
    video, index = clip
    cache = FlowCache(video, index, tmp_path)
    cache.compute(0, 6)
    mapped = flow_module._mapped

    def evicted_first(path: Path, layouts: dict[bytes, Any]) -> Any:
        if path.name == "grey-0000002.npy" and path.exists():
            path.unlink()
        return mapped(path, layouts)

    monkeypatch.setattr(flow_module, "_mapped", evicted_first)
    greys = cache.greys(0, 5)
    expected = reference.greys(0, 5)
    assert sorted(greys) == list(range(6))
    assert all(_same(greys[n], expected[n]) for n in range(6))


def test_a_cached_pair_that_cannot_be_marked_used_is_still_read(
    clip: tuple[Path, FrameIndex],
    reference: FlowCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cache another user computed, or on read-only storage: ``utime`` is refused."""
    video, index = clip
    cache = FlowCache(video, index, tmp_path)
    cache.compute(0, 6)

    def refused(path: Any, *args: Any, **kwargs: Any) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(flow_module.os, "utime", refused)
    assert _same(cache.pair(3).forward, reference.pair(3).forward)
