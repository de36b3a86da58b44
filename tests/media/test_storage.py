"""The storage contract, the same tests for a folder and for an S3-compatible store (a real
moto server on 127.0.0.1): round trips, atomic writes (a failed write or upload leaves the old
object whole and nothing partial), listing and deleting, the download cache of ``local_path``,
errors that name the key; URLs; and the span analysis job run with its video and results on
the S3 store, equal to the same job on local paths."""

from __future__ import annotations

import errno
import io
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import shared_file
from tests.s3_support import BUCKET, PIP, s3_endpoint
from tweenlab.errors import ConfigError, MediaNotFoundError, StorageError, StorageNotFoundError
from tweenlab.jobs import JobState, LocalExecutor, MemoryJobStore
from tweenlab.keyframes import Analysis, SuggestionPolicy
from tweenlab.media import LocalStorage, S3Storage, Storage, storage_from_url
from tweenlab.services.keyframes import analyse_video
from tweenlab.services.scale import ANALYSIS_JOB, INGEST_ANALYSIS_JOB
from tweenlab.settings import Settings

__all__ = ["s3_endpoint"]  # fixtures used here


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """A fresh, empty store: a folder, or a prefix of its own in the moto server's bucket."""
    if request.param == "local":
        return LocalStorage(tmp_path / "store")
    endpoint = request.getfixturevalue("s3_endpoint")
    url = f"s3://{BUCKET}/{uuid.uuid4().hex}?endpoint={endpoint}"
    return storage_from_url(url, cache_dir=tmp_path / "cache")


def test_bytes_and_files_round_trip(store: Storage, tmp_path: Path) -> None:
    assert not store.exists("a/b.bin")
    store.write_bytes("a/b.bin", b"first")
    assert store.exists("a/b.bin") and store.size("a/b.bin") == 5
    assert store.read_bytes("a/b.bin") == b"first"
    store.write_bytes("a/b.bin", b"second, longer")  # replaced whole
    assert store.read_bytes("a/b.bin") == b"second, longer"
    source = tmp_path / "video.mp4"
    source.write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    store.put_file("videos/video.mp4", source)
    local = store.local_path("videos/video.mp4")
    assert local.suffix == ".mp4" and local.read_bytes() == source.read_bytes()
    with store.writing("a/c.txt") as temporary:
        temporary.write_text("written in place")
    assert store.read_bytes("a/c.txt") == b"written in place"
    assert store.list() == ["a/b.bin", "a/c.txt", "videos/video.mp4"]


def test_a_write_that_fails_leaves_the_old_object_and_nothing_partial(
    store: Storage, tmp_path: Path
) -> None:
    store.write_bytes("a/b.bin", b"old")
    with pytest.raises(RuntimeError, match="broke"), store.writing("a/b.bin") as temporary:
        temporary.write_bytes(b"half of the new")
        raise RuntimeError("broke")
    with pytest.raises(RuntimeError), store.writing("a/new.bin") as temporary:
        temporary.write_bytes(b"never stored")
        raise RuntimeError("broke")
    assert store.read_bytes("a/b.bin") == b"old"
    assert store.list() == ["a/b.bin"]
    assert _leftovers(store, tmp_path) == []


class _FailingFile(io.FileIO):
    """A file whose bytes past ``bad_from`` cannot be read (EIO, as from a flaky network
    mount): a read that reaches them fails."""

    def __init__(self, path: Path, bad_from: int) -> None:
        super().__init__(path, "rb")
        self.bad_from = bad_from

    def read(self, size: int | None = -1) -> bytes:
        self._check(size if size is not None and size >= 0 else 1 << 62)
        return super().read(size)

    def readinto(self, buffer: Any) -> int | None:
        self._check(len(memoryview(buffer)))
        return super().readinto(buffer)

    def _check(self, size: int) -> None:
        if self.tell() + size > self.bad_from:
            raise OSError(errno.EIO, "Input/output error")


def test_an_upload_whose_source_fails_midway_leaves_the_old_object(
    store: Storage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.write_bytes("videos/v.mp4", b"old")
    source = tmp_path / "v.mp4"
    source.write_bytes(b"\x01" * (12 << 20))  # past boto3's 8 MiB: a multipart upload
    real_open = Path.open

    def flaky_open(path: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if path == source:
            return _FailingFile(path, bad_from=9 << 20)  # in the second part
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", flaky_open)
    with pytest.raises(StorageError, match=r"videos/v\.mp4: cannot .*Input/output error"):
        store.put_file("videos/v.mp4", source)
    monkeypatch.undo()
    assert store.read_bytes("videos/v.mp4") == b"old"
    assert store.list() == ["videos/v.mp4"]
    assert _leftovers(store, tmp_path) == []


def _leftovers(store: Storage, tmp_path: Path) -> list[str]:
    """Temporaries in the folder, or multipart uploads the bucket still holds."""
    if isinstance(store, LocalStorage):
        return [p.name for p in store.root.rglob(".*")]
    assert isinstance(store, S3Storage)
    client = store._client  # the test looks behind the interface: S3 hides unfinished uploads
    answer = client.list_multipart_uploads(Bucket=store.bucket, Prefix=store.prefix)
    uploads = [str(u["Key"]) for u in answer.get("Uploads", [])]
    cached = [p.name for p in (tmp_path / "cache" / "uploads").glob("*")]
    return uploads + cached


def test_download_copies_the_object_and_leaves_nothing_when_there_is_none(
    store: Storage, tmp_path: Path
) -> None:
    store.write_bytes("a/b.mp4", b"the video")
    target = tmp_path / "out" / "b.mp4"
    store.download("a/b.mp4", target)
    assert target.read_bytes() == b"the video"
    store.write_bytes("a/b.mp4", b"replaced")
    store.download("a/b.mp4", target)  # replaces the file whole
    assert target.read_bytes() == b"replaced"
    with pytest.raises(StorageNotFoundError, match=r"a/gone\.mp4: no such object"):
        store.download("a/gone.mp4", tmp_path / "out" / "gone.mp4")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["b.mp4"]  # no temporaries


def test_list_and_delete(store: Storage) -> None:
    for key in ("a/1", "a/2", "ab/3", "b/4", "a/deep/5"):
        store.write_bytes(key, key.encode())
    assert store.list() == ["a/1", "a/2", "a/deep/5", "ab/3", "b/4"]
    assert store.list("a/") == ["a/1", "a/2", "a/deep/5"]
    assert store.list("a") == ["a/1", "a/2", "a/deep/5", "ab/3"]  # a prefix, as in S3
    assert store.list("a/de") == ["a/deep/5"] and store.list("c/") == []
    store.delete("a/1")
    store.delete("a/1")  # nothing there: no error, as in S3
    assert store.list("a/") == ["a/2", "a/deep/5"] and not store.exists("a/1")


def test_a_missing_key_is_an_error_that_names_it(store: Storage) -> None:
    store.write_bytes("videos/there.mp4", b"x")
    for read in (store.read_bytes, store.size, store.local_path):
        with pytest.raises(StorageNotFoundError, match=r"videos/gone\.mp4: no such object") as e:
            read("videos/gone.mp4")
        assert isinstance(e.value, MediaNotFoundError) and store.describe() in str(e.value)


@pytest.mark.parametrize(
    "key",
    ["", "/abs", "a/../b", "a//b", "a/", ".hidden", "a/.tmp", "a\\b", "a/./b"],
    ids=[
        "empty",
        "absolute",
        "dotdot",
        "empty-part",
        "trailing",
        "hidden",
        "temp",
        "bslash",
        "dot",
    ],
)
def test_keys_that_could_escape_or_clash_are_refused(store: Storage, key: str) -> None:
    with pytest.raises(StorageError, match="not a valid key"):
        store.write_bytes(key, b"x")


def test_local_path_of_a_folder_is_the_file_itself(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "store")
    store.write_bytes("videos/a.mp4", b"x")
    assert store.local_path("videos/a.mp4") == tmp_path / "store" / "videos" / "a.mp4"


def test_an_s3_object_is_downloaded_once_and_again_when_it_changed(
    s3_endpoint: str, tmp_path: Path
) -> None:
    url = f"s3://{BUCKET}/cache-test?endpoint={s3_endpoint}"
    store = storage_from_url(url, cache_dir=tmp_path / "cache")
    store.write_bytes("videos/a.mp4", b"version 1")
    first = store.local_path("videos/a.mp4")
    written = first.stat()
    again = store.local_path("videos/a.mp4")  # the same ETag: the cached file, untouched
    assert again == first and again.stat().st_mtime_ns == written.st_mtime_ns
    assert again.stat().st_ino == written.st_ino
    store.write_bytes("videos/a.mp4", b"version 2, longer")
    changed = store.local_path("videos/a.mp4")
    assert changed != first and changed.read_bytes() == b"version 2, longer"
    assert not first.exists()  # the old version's download is gone
    assert changed.name == "a.mp4"  # decoders that go by the extension still do
    assert not [p for p in (tmp_path / "cache").rglob(".*")]  # no temporaries


def test_s3_errors_are_tweenlab_errors_that_name_the_store(
    s3_endpoint: str, tmp_path: Path
) -> None:
    url = f"s3://no-such-bucket/x?endpoint={s3_endpoint}"
    store = storage_from_url(url, cache_dir=tmp_path)
    with pytest.raises(StorageError, match=r"a\.bin: cannot write: NoSuchBucket no such bucket"):
        store.write_bytes("a.bin", b"x")
    with pytest.raises(StorageError, match="no-such-bucket"):
        store.list()


@pytest.mark.parametrize(
    ("url", "kind", "where"),
    [
        ("/srv/tweenlab", LocalStorage, "/srv/tweenlab"),
        ("file:///mnt/nfs/tweenlab", LocalStorage, "/mnt/nfs/tweenlab"),
        ("s3://media/tweenlab/prod", S3Storage, "s3://media/tweenlab/prod"),
        ("s3://media", S3Storage, "s3://media/"),
        (
            "s3://media/tw?endpoint=http://minio:9000",
            S3Storage,
            "s3://media/tw at http://minio:9000",
        ),
    ],
    ids=["path", "file", "s3", "bucket-root", "endpoint"],
)
def test_storage_urls(url: str, kind: type, where: str, tmp_path: Path) -> None:
    pytest.importorskip("boto3", reason=f"s3:// needs boto3: {PIP}")
    store = storage_from_url(url, cache_dir=tmp_path)
    assert isinstance(store, kind) and store.describe() == where
    assert storage_from_url(store.url, cache_dir=tmp_path).describe() == where


@pytest.mark.parametrize(
    "url",
    ["http://host/x", "s3://", "s3://media/x?colour=red", "file://host/x", "s3://key:secret@b/x"],
    ids=["http", "no-bucket", "unknown-option", "file-host", "credentials"],
)
def test_bad_storage_urls_are_config_errors(url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TWEENLAB_STORAGE_URL"):
        storage_from_url(url, cache_dir=tmp_path)


def test_without_boto3_an_s3_url_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(ConfigError, match=r"pip install 'tweenlab\[s3\]'"):
        storage_from_url("s3://media/x", cache_dir=tmp_path)


# -- the span jobs, with their video and results on S3 ------------------------------------------


@pytest.fixture(scope="module")
def executor() -> Iterator[LocalExecutor]:
    running = LocalExecutor(MemoryJobStore(), workers=1)
    yield running
    running.shutdown()


def _run(executor: LocalExecutor, target: str, params: dict[str, Any]) -> dict[str, Any]:
    job = executor.wait(executor.submit("keyframes", target, params).id, timeout=180)
    assert job.state is JobState.SUCCEEDED, job.error
    assert job.result is not None
    return job.result


@pytest.mark.shared_data
def test_the_analysis_job_on_s3_equals_the_one_on_local_paths(
    executor: LocalExecutor, s3_endpoint: str, tmp_path: Path
) -> None:
    video = shared_file("clips/bikes.mp4")
    url = f"s3://{BUCKET}/job-{uuid.uuid4().hex[:8]}?endpoint={s3_endpoint}"
    on_s3 = Settings(data_dir=tmp_path / "worker", storage_url=url)
    store = storage_from_url(url, cache_dir=tmp_path / "uploader-cache")
    store.put_file("videos/bikes.mp4", video)
    common = {"span_frames": 60, "policy": {"max_count": 8}}
    local = _run(
        executor, ANALYSIS_JOB, {**common, "video": str(video), "data_dir": str(tmp_path / "local")}
    )
    remote = _run(
        executor,
        ANALYSIS_JOB,
        {
            **common,
            "video": "videos/bikes.mp4",
            "data_dir": str(on_s3.data_dir),
            "storage_url": url,
        },
    )
    assert remote["spans"] == local["spans"] == 5 and remote["video"] == "videos/bikes.mp4"
    for name in ("frames", "cuts", "hard_cuts", "transitions", "flashes", "suggested", "errors"):
        assert remote[name] == local[name], name
    derived = "derived/videos/bikes.mp4/"
    assert remote["signals"] == derived + "keyframes.npz"
    assert store.list(derived) == [derived + "keyframes.npz"]  # the span objects are merged away
    published = Analysis.load(store.local_path(derived + "keyframes.npz"))
    policy = SuggestionPolicy(max_count=8)
    kept = analyse_video(video, Settings(data_dir=tmp_path / "local"), policy=policy).analysis
    assert published is not None and kept.suggested == local["suggested"]
    assert np.array_equal(published.frames, kept.frames)
    assert np.array_equal(published.thumbs, kept.thumbs)
    assert published.cuts == kept.cuts and published.suggested == kept.suggested


@pytest.mark.shared_data
def test_ingest_and_analysis_on_s3_publish_the_derived_files(
    executor: LocalExecutor, s3_endpoint: str, tmp_path: Path
) -> None:
    video = shared_file("clips/bikes.mp4")
    url = f"s3://{BUCKET}/ingest-{uuid.uuid4().hex[:8]}?endpoint={s3_endpoint}"
    store = storage_from_url(url, cache_dir=tmp_path / "uploader-cache")
    store.put_file("in/bikes.mp4", video)
    common = {"span_frames": 100, "proxy_max_gop": 500}
    local = _run(
        executor,
        INGEST_ANALYSIS_JOB,
        {**common, "videos": [str(video)], "data_dir": str(tmp_path / "local")},
    )
    remote = _run(
        executor,
        INGEST_ANALYSIS_JOB,
        {**common, "videos": ["in/bikes.mp4"], "data_dir": str(tmp_path / "w"), "storage_url": url},
    )
    (mine,), (theirs,) = remote["videos"], local["videos"]
    assert mine == {**theirs, "video": "in/bikes.mp4"}
    assert store.list("derived/") == [
        f"derived/in/bikes.mp4/{name}" for name in ("filmstrip.jpg", "index.npz", "keyframes.npz")
    ]
