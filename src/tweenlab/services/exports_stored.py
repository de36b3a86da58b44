"""An export's files in the storage (``Settings.storage_url``), so that its job and parts run on
any machine and any server process hands out the zip.

Keys, under ``exports/``, each starting with the time the export was asked for (seconds since
the epoch), which is how old ones are found without reading any object's metadata:

- ``exports/input-<stamp>-<id>.tweenlab.json``: the joined tracks the request wrote (the job's
  input; deleted once the zip is there);
- ``exports/<stamp>-<job id>/<path>``: an image a part wrote (the path the format gives it);
  gathered into the zip, then deleted;
- ``exports/<stamp>-<job id>.zip``: the zip, put whole (one atomic write).

Each is written atomically (``Storage``), a part run twice writes the same image twice, and a
server downloads a zip into its exports folder once, where ``prune_exports`` finds it too.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

from tweenlab.core.annotations import AnnotationSet
from tweenlab.media import Storage
from tweenlab.services.annotations import WrittenImages, save_annotations

__all__ = [
    "EXPORTS",
    "gather_images",
    "job_prefix",
    "prune_stored_exports",
    "put_input",
    "write_and_publish",
]

EXPORTS = "exports/"


def put_input(storage: Storage, annotations: AnnotationSet, stamp: int) -> str:
    """Store the export's input annotations; returns their key."""
    key = f"{EXPORTS}input-{stamp}-{uuid.uuid4().hex}.tweenlab.json"
    with storage.writing(key) as temporary:
        save_annotations(annotations, temporary)
    return key


def job_prefix(stamp: int, job_id: str) -> str:
    """The key prefix of a job's images (``exports/<stamp>-<job id>/``); its zip is that prefix
    without the ``/``, plus ``.zip``."""
    return f"{EXPORTS}{stamp}-{job_id}/"


def write_and_publish(
    writer: WrittenImages,
    frames: Sequence[int],
    paths: Sequence[str],
    *,
    storage: Storage,
    prefix: str,
    scratch: Path,
) -> Iterator[int]:
    """Write frame ``frames[i]``'s image to ``<prefix><paths[i]>``, through ``scratch`` (a
    private folder; each image deleted there once stored); yields each frame once stored."""
    local = [scratch / path for path in paths]
    names = dict(zip(frames, paths, strict=True))
    for frame in writer.written(frames, local):
        image = scratch / names[frame]
        storage.put_file(prefix + names[frame], image)
        image.unlink()
        yield frame


def gather_images(storage: Storage, prefix: str, out: Path) -> int:
    """Download every image under ``prefix`` into ``out`` (its path below the prefix); returns
    how many."""
    keys = storage.list(prefix)
    for key in keys:
        storage.download(key, out / key.removeprefix(prefix))
    return len(keys)


def prune_stored_exports(storage: Storage, keep_hours: float, *, now: float | None = None) -> int:
    """Delete the export objects whose stamp is older than ``keep_hours``; returns how many."""
    oldest = (time.time() if now is None else now) - keep_hours * 3600
    gone = 0
    for key in storage.list(EXPORTS):
        head = key.removeprefix(EXPORTS).split("/", 1)[0].removeprefix("input-")
        stamp = head.split("-", 1)[0].removesuffix(".zip")
        if stamp.isdigit() and int(stamp) < oldest:
            storage.delete(key)
            gone += 1
    return gone
