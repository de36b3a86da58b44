"""The flow and auto-labelling jobs with their video on S3 (a real moto server, the local
executor: job and parts in worker processes that share no data folder with this one): the flow
job publishes, pair for pair, the files of one ``FlowCache.compute`` pass on the local file, a
finished span run again computes nothing, and ``fetch_flow`` fills an empty cache so that
nothing is left to compute; the auto-labelling job gives the predictions of the same job run on
a path."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import shared_file
from tests.executors import local
from tests.propagation import circle_video
from tests.s3_support import open_s3, s3_endpoint, s3_url
from tests.services.autolabel_jobs import CLIP, job_params
from tweenlab.jobs import JobState, LocalExecutor
from tweenlab.media import DerivedFiles, Storage
from tweenlab.propagation import FlowCache
from tweenlab.services.flow import FLOW_JOB, fetch_flow, flow_cache, flow_part
from tweenlab.services.predictions import AUTOLABEL_JOB
from tweenlab.services.stored import job_video
from tweenlab.settings import Settings

__all__ = ["local", "s3_endpoint"]  # fixtures used here

FRAMES = 48  # keyframes every 12 frames
PAIRS = FRAMES - 1
KEY = "videos/circle.mp4"


@dataclass
class Context:
    """A ``JobContext`` that records progress and runs ``map`` in this process."""

    reports: list[tuple[int, int | None]] = field(default_factory=list)
    job_id: str = "test"
    cancelled: bool = False

    def progress(self, done: int, total: int | None = None) -> None:
        self.reports.append((done, total))

    def map(self, target: str, items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        raise AssertionError("not used")


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return circle_video(tmp_path_factory.mktemp("flow") / "circle.mp4", frames=FRAMES)[0]


def _run(local: LocalExecutor, kind: str, target: str, params: dict[str, Any]) -> dict[str, Any]:
    done = local.wait(local.submit(kind, target, params).id, timeout=180)
    assert done.state is JobState.SUCCEEDED, done.error
    assert done.result is not None
    return done.result


def _one_pass(video: Path, data: Path) -> FlowCache:
    derived = DerivedFiles(data)
    cache = FlowCache(video, derived.index(video), derived.folder(video))
    cache.compute(0, PAIRS)
    return cache


def _arrays(read: Mapping[str, bytes]) -> dict[str, np.ndarray[Any, Any]]:
    return {name: np.asarray(np.load(io.BytesIO(data))) for name, data in read.items()}


def _published(store: Storage, prefix: str) -> dict[str, bytes]:
    return {key.removeprefix(prefix): store.read_bytes(key) for key in store.list(prefix)}


def test_the_flow_job_on_s3_publishes_the_flow_of_one_pass(
    local: LocalExecutor, video: Path, s3_endpoint: str, tmp_path: Path
) -> None:
    url = s3_url(s3_endpoint, "flow")
    store = open_s3(url, tmp_path / "test-cache")
    store.put_file(KEY, video)
    params = {"video": KEY, "storage_url": url, "data_dir": str(tmp_path / "w"), "span_pairs": 12}
    result = _run(local, "flow", FLOW_JOB, params)

    one_pass = _one_pass(video, tmp_path / "one-pass")
    expected = {p.name: p.read_bytes() for p in sorted(one_pass.folder.iterdir())}
    prefix = f"derived/{KEY}/{one_pass.folder.name}/"
    assert (result["pairs"], result["spans"], result["folder"]) == (PAIRS, 4, prefix)
    published = _published(store, prefix)
    assert sorted(published) == sorted(expected)  # every pair and grey frame, nothing else
    found, wanted = _arrays(published), _arrays(expected)
    assert all(np.array_equal(found[name], wanted[name]) for name in wanted)
    assert not list((tmp_path / "w" / "flow-parts").iterdir())  # the private folders are gone

    again = Context()
    assert flow_part(again, {**params, "start": 12, "stop": 24}) == {"pairs": 12}
    assert again.reports == [(12, 12)]  # published already: counted, not computed

    server = Settings(data_dir=tmp_path / "server", storage_url=url)
    stored = job_video(server, KEY, fetch=("index.npz",))
    derived = DerivedFiles(server.derived_dir)
    cache = flow_cache(stored.path, derived.index(stored.path), derived, server)
    assert fetch_flow(stored, cache, 0, PAIRS) == len(expected)
    reports: list[tuple[int, int]] = []
    cache.compute(0, PAIRS, report=lambda done, total: reports.append((done, total)))
    assert reports == [(PAIRS, PAIRS)]  # all there: nothing decoded nor computed
    assert fetch_flow(stored, cache, 0, PAIRS) == 0


@pytest.mark.shared_data
def test_the_autolabel_job_on_s3_gives_the_predictions_of_the_job_on_a_path(
    local: LocalExecutor, s3_endpoint: str, tmp_path: Path
) -> None:
    clip = shared_file(CLIP)
    url = s3_url(s3_endpoint, "autolabel")
    open_s3(url, tmp_path / "test-cache").put_file("videos/vtest.avi", clip)
    on_path = {**job_params(clip, tmp_path / "path", "hog-people"), "every": 6}
    on_s3 = {**on_path, "video": "videos/vtest.avi", "storage_url": url}
    on_s3["data_dir"] = str(tmp_path / "s3")

    expected = _run(local, "autolabel", AUTOLABEL_JOB, on_path)
    found = _run(local, "autolabel", AUTOLABEL_JOB, on_s3)

    assert found == expected
    assert expected["frames"] == 20 and expected["predictions"]  # people were found
