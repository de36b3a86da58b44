"""Videos and their derived files in the storage (``Settings.storage_url``), as jobs and the
server reach them.

A job names its video by path (a shared mount: every worker sees the same paths) or, with
``storage_url`` in its params, by a key in the storage. ``job_video`` turns either into a local
file to decode: the path itself, or the storage's ``local_path`` (an S3 object is downloaded to
the worker's cache once). Derived files are made locally, among the local copy's derived files
(``DerivedFiles``), and what other processes need is published under the video's key:

- ``uploads/<generated name>``: a video uploaded through the server;
- ``derived/<video key>/<name>``: what ingest made of it (``PUBLISHED``: frame index, proxy and
  its index, filmstrip, keyframe analysis), and ``published.json`` (``MANIFEST``), written
  last, naming them: a reader that finds it knows the set is complete;
- ``derived/<video key>/flow-<method>-<w>x<h>/<file>``: optical flow a flow job computed.

A reader fetches the published files it lacks into its own derived folder (``fetch_derived``),
so everything that reads derived files by path (the frame server, the keyframe analysis, the
flow cache) works on the local copy as it does on a shared path. Every write to the storage is
atomic (``Storage``), so a reader sees a whole file or none. ``StoredVideos`` is the server's
way in: one storage client, and videos whose files are all fetched remembered, so serving a
frame asks the storage nothing more once a video is ready.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tweenlab.errors import ConfigError, MediaError, StorageNotFoundError
from tweenlab.media import DerivedFiles, Storage, storage_from_url
from tweenlab.settings import Settings

__all__ = [
    "DECODING",
    "MANIFEST",
    "PUBLISHED",
    "UPLOADS",
    "JobVideo",
    "StoredVideos",
    "derived_key",
    "fetch_derived",
    "job_settings",
    "job_video",
    "open_storage",
    "publish_derived",
    "storage_params",
]

#: Where uploaded videos are kept in the storage (``uploads/<generated name>``).
UPLOADS = "uploads/"
#: The derived files ingest publishes, when it made them (a proxy only when one is needed).
PUBLISHED = ("index.npz", "proxy.mp4", "proxy-index.npz", "filmstrip.jpg", "keyframes.npz")
#: Written after the derived files: the names published, so the set is known to be complete.
MANIFEST = "published.json"
#: What decoding a video needs besides the video: its index, and the proxy where there is one.
DECODING = ("index.npz", "proxy.mp4", "proxy-index.npz")


def open_storage(settings: Settings) -> Storage:
    """The storage ``settings.storage_url`` names; unset: the data folder (a ``LocalStorage``).

    Example:
        >>> open_storage(Settings(data_dir="/tmp/tw")).describe()
        '/tmp/tw'
    """
    url = settings.storage_url or str(settings.data_dir)
    return storage_from_url(url, cache_dir=settings.storage_cache_dir)


def derived_key(video: str, *parts: str) -> str:
    """The storage key of one of a stored video's derived files.

    Example:
        >>> derived_key("uploads/ab12.mp4", "index.npz")
        'derived/uploads/ab12.mp4/index.npz'
    """
    return "/".join(("derived", video, *parts))


def storage_params(settings: Settings, video: str) -> dict[str, Any]:
    """The params that name a stored video ``video`` (a key) to a job: the key, and the storage
    (its URL; credentials never travel).

    Raises:
        ConfigError: No storage is configured (``TWEENLAB_STORAGE_URL`` unset).
    """
    if settings.storage_url is None:
        raise ConfigError(f"{video} is in the storage: set TWEENLAB_STORAGE_URL to reach it")
    return {"video": video, "storage_url": settings.storage_url}


@dataclass(frozen=True)
class JobVideo:
    """A video as a job names it, and where this process can decode it.

    Attributes:
        name: What the params say: a path, or a storage key when ``storage`` is set.
        path: A local file to decode (the path itself, or the storage's ``local_path``).
        storage: The storage the key is in; ``None`` for a plain path.
    """

    name: str
    path: Path
    storage: Storage | None = None

    def key(self, *parts: str) -> str:
        """The storage key of one of the video's derived files (``derived/<video key>/...``)."""
        return derived_key(self.name, *parts)

    def folder(self, settings: Settings) -> Path:
        """The local copy's derived folder."""
        return DerivedFiles(settings.derived_dir).folder(self.path)


def job_video(
    settings: Settings, name: str, *, fetch: Iterable[str] = (), stored: bool | None = None
) -> JobVideo:
    """The video a job's params name: a path without ``settings.storage_url``, else a key whose
    object is fetched (once per worker), with its published derived files ``fetch`` (those the
    storage holds and this worker lacks). ``stored`` says which it is where a job uses the
    storage for more than its video (an export: a path, or a key when true).

    Example:
        >>> video = job_video(settings, "uploads/ab12.mp4", fetch=DECODING)  # doctest: +SKIP
        >>> VideoReader(video.path)  # doctest: +SKIP
    """
    if settings.storage_url is None or stored is False:
        return JobVideo(name, Path(name))
    storage = open_storage(settings)
    video = JobVideo(name, storage.local_path(name), storage)
    wanted = tuple(fetch)
    if wanted:
        fetch_derived(video, settings, wanted)
    return video


def job_settings(params: Mapping[str, Any], **given: Any) -> Settings:
    """The ``Settings`` a job's params carry: ``data_dir``, ``storage_url`` when given, and
    ``given``."""
    return Settings(
        data_dir=Path(params["data_dir"]), storage_url=params.get("storage_url"), **given
    )


def publish_derived(
    video: JobVideo, folder: Path, names: Iterable[str] = PUBLISHED, *, manifest: bool = True
) -> list[str]:
    """Put each of ``names`` that ``folder`` holds under ``derived/<video key>/``; then, with
    ``manifest``, ``published.json`` naming them. Returns the names published."""
    storage = video.storage
    assert storage is not None, "publish_derived is for a video in the storage"
    done = [name for name in names if (folder / name).is_file()]
    for name in done:
        storage.put_file(video.key(name), folder / name)
    if manifest:
        storage.write_bytes(video.key(MANIFEST), json.dumps({"files": done}).encode())
    return done


def fetch_derived(video: JobVideo, settings: Settings, names: Iterable[str] = PUBLISHED) -> bool:
    """Copy the published files among ``names`` that the local derived folder lacks into it
    (each written atomically). Returns whether the set is complete: the manifest was found,
    so what it does not name was never made (no proxy: none needed)."""
    storage = video.storage
    assert storage is not None, "fetch_derived is for a video in the storage"
    folder = video.folder(settings)
    wanted = [name for name in names if not (folder / name).is_file()]
    try:
        listed = json.loads(storage.read_bytes(video.key(MANIFEST)))["files"]
    except StorageNotFoundError:
        listed = None
    for name in wanted:
        if listed is not None and name not in listed:
            continue
        with contextlib.suppress(StorageNotFoundError):  # not made (yet): ingest is running
            storage.download(video.key(name), folder / name)
    return listed is not None


class StoredVideos:
    """The server's way to videos in the storage: ``video`` gives a local file to decode, with
    the published derived files beside it (in this server's derived folder).

    One storage client serves every request (opening one costs tens of milliseconds), and a
    video whose derived files are complete (its ingest published them) is remembered: the
    next request for it checks only that the local copy is still there. Stored videos are
    never rewritten (their keys are names the server generated), so that is safe.

    Args:
        settings: The server's settings (``storage_url``, and the data folder for the cache).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._storage: Storage | None = None
        self._complete: dict[str, Path] = {}
        self._lock = threading.Lock()

    @property
    def storage(self) -> Storage:
        """The storage, opened on first use."""
        with self._lock:
            if self._storage is None:
                self._storage = open_storage(self.settings)
            return self._storage

    def video(self, key: str) -> JobVideo:
        """The stored video ``key`` with a local copy, its published derived files fetched."""
        known = self._complete.get(key)
        if known is not None and known.is_file():
            return JobVideo(key, known, self.storage)
        video = JobVideo(key, self.storage.local_path(key), self.storage)
        if fetch_derived(video, self.settings):
            self._complete[key] = video.path
        return video

    def forget(self, key: str) -> None:
        """Delete the stored video ``key``, everything published under it, and this server's
        copy of it (other machines' caches keep theirs)."""
        known = self._complete.pop(key, None)
        if known is not None:
            with contextlib.suppress(MediaError):
                shutil.rmtree(DerivedFiles(self.settings.derived_dir).folder(known), True)
            known.unlink(missing_ok=True)
        storage = self.storage
        for derived in storage.list(derived_key(key) + "/"):
            storage.delete(derived)
        storage.delete(key)
