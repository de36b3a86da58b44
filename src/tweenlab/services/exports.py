"""Export a video's annotations as a dataset, as a job, and hand out the zip it makes.

The request (``start_export``) reads the video's normal tasks, joins their task-local tracks
into video tracks with one identity across task boundaries (``workflow.merge_task_tracks``) and
writes the result as a native annotation file under ``<data_dir>/exports``; the job
(``export_job``) reads only that file and its parameters (workers never touch the database),
exports into a folder (``export_annotations``, atomic) and zips it to
``<data_dir>/exports/<job id>.zip`` by writing a temporary file and renaming it, so a download
sees the whole zip or none. With images (decoding and encoding frames: the costly part), the job
writes the annotation files, listing the images they name without writing them, and hands the
images to ``JobContext.map`` in shards of consecutive frames (``export_images_part``), which
workers write into the same folder, each image atomically. The native input file is deleted
once the zip is there (a job resumed after a crash still finds it). Zips are kept
``export_keep_hours`` (72 by default): each new export first deletes older ones, and
downloading one answers that it expired.

With ``Settings.storage_url`` set, the input, the parts' images and the zip live in the storage
instead (``services.exports_stored``): the job downloads its input, parts store each image
they write, the job gathers them into its own folder, zips and stores the zip, and a server
process downloads it into its exports folder to hand it out. The video may be in the storage
too (a key) or on a path every worker sees.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import time
import uuid
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tweenlab.core.annotations import AnnotationSet, VideoRef
from tweenlab.core.roles import Role
from tweenlab.core.schema import Schema
from tweenlab.errors import (
    AccessDeniedError,
    ConflictError,
    FieldError,
    NotFoundError,
    StorageNotFoundError,
    UsageError,
)
from tweenlab.formats import ExportOptions, get_format
from tweenlab.jobs import JobContext, JobRecord
from tweenlab.media import DerivedFiles, Storage
from tweenlab.services.annotations import (
    export_annotations,
    load_annotations,
    retimed_images,
    save_annotations,
)
from tweenlab.services.exports_stored import (
    EXPORTS,
    gather_images,
    job_prefix,
    prune_stored_exports,
    put_input,
    write_and_publish,
)
from tweenlab.services.jobs import JobRunner
from tweenlab.services.projects import Access
from tweenlab.services.quality import task_annotation_set
from tweenlab.services.stored import job_settings, job_video, open_storage
from tweenlab.services.videos import get_video, video_params
from tweenlab.settings import Settings
from tweenlab.store import Job, Task
from tweenlab.workflow import TaskKind, TaskRange, merge_task_tracks

__all__ = [
    "DEFAULT_SHARD_FRAMES",
    "EXPORT_FORMATS",
    "EXPORT_IMAGES_PART",
    "EXPORT_JOB",
    "export_images_part",
    "export_job",
    "export_zip",
    "plan_image_shards",
    "prune_exports",
    "start_export",
]

EXPORT_JOB = "tweenlab.services.exports:export_job"
#: The part that writes one shard of an export's images (``export_images_part``).
EXPORT_IMAGES_PART = "tweenlab.services.exports:export_images_part"
#: Images per part unless a job says otherwise: tens of seconds of decoding and encoding.
DEFAULT_SHARD_FRAMES = 500
EXPORT_FORMATS = ("coco", "yolo", "mot", "cvat_video", "datumaro", "native")


def exports_dir(settings: Settings) -> Path:
    """Where exports are written."""
    return settings.data_dir / "exports"


def prune_exports(settings: Settings, *, now: float | None = None) -> list[Path]:
    """Delete the zips (and left-over inputs) older than ``settings.export_keep_hours``; returns
    what was deleted here. Runs before every new export, so the folder never grows without
    bound; with a storage, its export objects of that age go too."""
    if settings.storage_url is not None:
        prune_stored_exports(open_storage(settings), settings.export_keep_hours, now=now)
    folder = exports_dir(settings)
    if not folder.is_dir():
        return []
    oldest = (time.time() if now is None else now) - settings.export_keep_hours * 3600
    gone = []
    for path in folder.iterdir():
        if path.suffix in {".zip", ".json", ".tmp"} and path.stat().st_mtime < oldest:
            path.unlink(missing_ok=True)
            gone.append(path)
    return gone


def start_export(
    db: Session,
    settings: Settings,
    jobs: JobRunner,
    access: Access,
    *,
    video_id: int,
    format_name: str,
    frames: str = "all",
    images: str | None = None,
    synthetic: int = 0,
    engine: str = "flow",
) -> JobRecord:
    """Merge the video's tasks' tracks and queue the job that exports them (managers, owners).

    ``synthetic`` frames synthesised by ``engine`` follow each exported frame (image datasets
    with images only; ``ExportOptions.synthetic``).
    """
    if not access.role.at_least(Role.MANAGER):
        raise AccessDeniedError("only managers and owners export")
    if format_name not in EXPORT_FORMATS:
        raise FieldError("format", f"one of {', '.join(EXPORT_FORMATS)}, got {format_name!r}")
    module = get_format(format_name)
    try:
        choice, step = ExportOptions.parse_frames(frames)
    except UsageError as error:
        raise FieldError("frames", str(error)) from None
    if images and frames == "none":  # as ``tweenlab export`` refuses it
        raise FieldError("frames", "none writes no images; drop images or choose other frames")
    try:
        ExportOptions(synthetic=synthetic)
    except UsageError as error:
        raise FieldError("synthetic", str(error)) from None
    if synthetic and not module.images_dataset:
        raise FieldError("synthetic", f"{format_name} is not a dataset of separate images")
    if synthetic and not images:
        raise FieldError("synthetic", "synthesised frames are images: ask for images too")
    video = get_video(db, access.project, video_id)
    tasks = list(
        db.scalars(
            select(Task)
            .where(
                Task.project_id == access.project_id,
                Task.video_id == video.id,
                Task.kind == TaskKind.NORMAL.value,
            )
            .order_by(Task.start, Task.id)
        )
    )
    if not tasks:
        raise ConflictError(f"video {video.id} has no tasks to export", field="video_id")
    if any(t.frame_count != video.frame_count for t in tasks):
        raise ConflictError(
            f"the tasks of video {video.id} were split for another frame count than its "
            f"{video.frame_count}",
            field="video_id",
        )
    ref = VideoRef(
        video.original_name,
        video.frame_count,
        video.width,
        video.height,
        Fraction(video.fps),
    )
    schema = Schema.from_json(access.label_schema)
    parts = [(TaskRange(t.start, t.stop), task_annotation_set(db, t, schema, ref)) for t in tasks]
    merged = merge_task_tracks(parts)
    prune_exports(settings)
    params: dict[str, Any] = {
        "project_id": access.project_id,
        "created_by": access.user_id,
        "video_id": video.id,
        "format": format_name,
        "frames": choice,
        "step": step,
        "images": images,
        "synthetic": synthetic,
        "engine": engine,
        "video": None,
        "data_dir": str(settings.data_dir),
        "tracks": len(merged.tracks),
    }
    if images:
        named = video_params(settings, video)
        if "storage_url" not in named and not Path(named["video"]).is_file():
            # the job would fail after the request left its input behind
            raise ConflictError(
                f"video {video.id}: its file is gone; images cannot be exported",
                field="video_id",
            )
        params.update(video=named["video"], video_stored="storage_url" in named)
    params.update(_put_input(settings, merged))
    db.commit()
    return jobs.submit("export", EXPORT_JOB, params)


def _put_input(settings: Settings, merged: AnnotationSet) -> dict[str, Any]:
    """Write the job's input; the params that name it (and the storage, with its stamp)."""
    if settings.storage_url is not None:
        stamp = int(time.time())
        key = put_input(open_storage(settings), merged, stamp)
        return {"annotations": key, "storage_url": settings.storage_url, "stamp": stamp}
    folder = exports_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"input-{uuid.uuid4().hex}.tweenlab.json"
    save_annotations(merged, source)
    return {"annotations": str(source)}


def _zip_folder(folder: Path, target: Path) -> int:
    """Zip ``folder``'s files into ``target`` atomically; returns the files written."""
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    count = 0
    try:
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(folder).as_posix())
                    count += 1
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return count


def export_job(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Job function (``tweenlab.services.exports:export_job``): export the native annotation file
    ``params["annotations"]`` as ``params["format"]`` and zip it to
    ``<data_dir>/exports/<job id>.zip``. Params: ``annotations``, ``format``, ``frames``,
    ``step``, ``images`` (``jpg``/``png`` or none), ``synthetic`` and ``engine`` (synthesised
    frames after each exported one, ``ExportOptions.synthetic``), ``video`` (for images),
    ``data_dir``, ``shard_frames`` (images per part, ``DEFAULT_SHARD_FRAMES``); with a storage,
    ``storage_url``, ``stamp`` and ``video_stored`` (``video`` is a key): ``annotations`` is a
    key and the zip goes to ``exports/<stamp>-<job id>.zip`` there.

    With images, the job writes the annotation files itself and lists the images they name;
    parts of ``JobContext.map`` (``export_images_part``) decode and write the images of
    ``shard_frames`` consecutive frames each; the zip holds the same files as one process
    writes. Progress: images written, summed over the parts. Without images: one pass.
    """
    settings = job_settings(params)
    storage = None if settings.storage_url is None else open_storage(settings)
    folder = exports_dir(settings)
    annotations = load_annotations(_input(storage, params, folder / f"{context.job_id}.json"))
    options = ExportOptions(
        frames=params.get("frames", "all"),
        step=int(params.get("step", 1)),
        images=params.get("images"),
        synthetic=int(params.get("synthetic") or 0),
    )
    engine = str(params.get("engine") or "flow")
    out = folder / context.job_id
    video = None
    if params.get("video"):
        stored = bool(params.get("video_stored"))
        video = job_video(settings, params["video"], stored=stored, fetch=("index.npz",)).path
    export = functools.partial(
        export_annotations,
        annotations,
        out,
        params["format"],
        options,
        settings,
        video=video,
        engine=engine,
    )
    if options.images is not None and video is not None:
        result = export(defer_images=True)
        if not _write_images_in_shards(context, params, out, result.images):
            shutil.rmtree(out, ignore_errors=True)
            if storage is not None:  # the images the parts stored before they stopped
                _delete_under(storage, _images_at(params, context.job_id))
            return {"cancelled": True}
        if storage is not None:
            gather_images(storage, _images_at(params, context.job_id), out)
        steps = len(result.images)
    else:
        context.progress(0, 2)
        result, steps = export(), 2
    name, size, files = _zip(context.job_id, params, settings, storage, out)
    context.progress(steps, steps)
    return {
        "zip": name,
        "bytes": size,
        "files": files,
        "frames": len(result.plan.frames),
        "tracks": len(annotations.tracks),
    }


def _zip(
    job_id: str, params: Mapping[str, Any], settings: Settings, storage: Storage | None, out: Path
) -> tuple[str, int, int]:
    """Zip ``out`` into the exports folder, or into the storage (``exports/<stamp>-<job
    id>.zip``; zipped apart from the exports folder, which a storage folder may be); remove
    ``out`` and the job's input. Returns the zip's name, bytes and files."""
    folder = exports_dir(settings)
    if storage is None:
        target = folder / f"{job_id}.zip"
    else:
        target = settings.data_dir / "export-parts" / f"{params['stamp']}-{job_id}.zip"
        target.parent.mkdir(parents=True, exist_ok=True)
    files = _zip_folder(out, target)
    shutil.rmtree(out, ignore_errors=True)
    size = target.stat().st_size
    if storage is None:
        Path(params["annotations"]).unlink(missing_ok=True)  # kept until now for a retry
    else:
        _publish_zip(storage, params, job_id, target)
        (folder / f"{job_id}.json").unlink(missing_ok=True)
    return target.name, size, files


def _input(storage: Storage | None, params: Mapping[str, Any], local: Path) -> Path:
    """The job's input annotation file: its path, or downloaded from the storage to ``local``."""
    if storage is None:
        return Path(params["annotations"])
    storage.download(params["annotations"], local)
    return local


def _images_at(params: Mapping[str, Any], job_id: str) -> str:
    """Where the parts store the images: the storage prefix of the job."""
    return job_prefix(int(params["stamp"]), job_id)


def _publish_zip(storage: Storage, params: Mapping[str, Any], job_id: str, zipped: Path) -> None:
    """Store the zip (then delete the local one, the images' objects and the input)."""
    storage.put_file(EXPORTS + zipped.name, zipped)
    zipped.unlink()
    _delete_under(storage, _images_at(params, job_id))
    storage.delete(params["annotations"])


def _delete_under(storage: Storage, prefix: str) -> None:
    for key in storage.list(prefix):
        storage.delete(key)


def plan_image_shards(
    images: Sequence[tuple[int, str]], shard_frames: int
) -> list[list[tuple[int, str]]]:
    """``images`` (``(frame, path)``) sorted by frame, in shards of ``shard_frames`` consecutive
    ones: each part decodes one stretch of the video, forward.

    Raises:
        UsageError: ``shard_frames`` is not positive.

    Example:
        >>> plan_image_shards([(9, "c"), (0, "a"), (4, "b")], 2)
        [[(0, 'a'), (4, 'b')], [(9, 'c')]]
    """
    if shard_frames < 1:
        raise UsageError(f"shard_frames: must be positive, got {shard_frames}")
    ordered = sorted(images)
    return [ordered[i : i + shard_frames] for i in range(0, len(ordered), shard_frames)]


def _write_images_in_shards(
    context: JobContext,
    params: Mapping[str, Any],
    out: Path,
    images: Sequence[tuple[int, str]],
) -> bool:
    """Write ``images`` into ``out`` (with a storage: under the job's prefix there) through
    ``context.map``; whether every part finished."""
    shard_frames = int(params.get("shard_frames") or DEFAULT_SHARD_FRAMES)
    shared = {"video": params["video"], "data_dir": params["data_dir"], "folder": str(out)}
    shared.update(synthetic=int(params.get("synthetic") or 0), engine=params.get("engine"))
    if params.get("storage_url"):
        shared.update(
            storage_url=params["storage_url"],
            video_stored=bool(params.get("video_stored")),
            folder=_images_at(params, context.job_id),
        )
    items = [
        {**shared, "frames": [f for f, _ in shard], "paths": [p for _, p in shard]}
        for shard in plan_image_shards(images, shard_frames)
    ]
    results = context.map(EXPORT_IMAGES_PART, items)
    return not context.cancelled and not any(r.get("cancelled") for r in results)


def export_images_part(context: JobContext, item: dict[str, Any]) -> dict[str, Any]:
    """One part of an export job (``EXPORT_IMAGES_PART``): decode ``item["frames"]`` of
    ``item["video"]`` (with ``synthetic``: frames of the video retimed by ``synthetic + 1``,
    made by ``engine``) and write frame ``frames[i]``'s image to ``<folder>/<paths[i]>`` (with
    ``storage_url``: store it under the key ``<folder><paths[i]>``).

    Each image is written atomically and the same frame always gives the same bytes, so a
    part run again (its worker died) leaves the same files. Progress: images written.
    """
    settings = job_settings(item)
    stored = bool(item.get("video_stored"))
    video = job_video(settings, item["video"], stored=stored, fetch=("index.npz",)).path
    frames = [int(frame) for frame in item["frames"]]
    index = DerivedFiles(settings.derived_dir).index(video)
    synthetic = int(item.get("synthetic") or 0)
    writer = retimed_images(video, index, synthetic=synthetic, engine=item.get("engine") or "flow")
    context.progress(0, len(frames))
    if settings.storage_url is None:
        paths = [Path(item["folder"]) / path for path in item["paths"]]
        return _count(context, writer.written(frames, paths), len(frames))
    scratch = settings.data_dir / "export-parts"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch) as private:
        written = write_and_publish(
            writer,
            frames,
            item["paths"],
            storage=open_storage(settings),
            prefix=item["folder"],
            scratch=Path(private),
        )
        return _count(context, written, len(frames))


def _count(context: JobContext, written: Iterator[int], total: int) -> dict[str, Any]:
    """Report each image written; stop between two when cancelled."""
    for done, _ in enumerate(written, start=1):
        context.progress(done)
        if context.cancelled:
            return {"cancelled": True, "images": done}
    context.progress(total)  # a corrupt frame (skipped, as one process does) counts too
    return {"images": total}


def export_zip(db: Session, settings: Settings, access: Access, job_id: str) -> Path:
    """The zip of a finished export job of the project (managers and owners); ``NotFoundError``
    for another project's job, another kind of job, or one not (yet) succeeded. A zip in the
    storage is downloaded into the exports folder first (once)."""
    if not access.role.at_least(Role.MANAGER):
        raise AccessDeniedError("only managers and owners download exports")
    row = db.get(Job, job_id)
    if row is None or row.project_id != access.project_id or row.kind != "export":
        raise NotFoundError(f"no export {job_id!r} in this project")
    if row.state != "succeeded":
        raise NotFoundError(f"export {job_id!r} is {row.state}: no zip yet")
    name = str((row.result or {}).get("zip") or f"{row.id}.zip")
    target = exports_dir(settings) / name
    expired = NotFoundError(
        f"export {job_id!r} has expired (zips are kept {settings.export_keep_hours:g} "
        "hours): export again"
    )
    if not target.is_file() and row.params.get("storage_url"):
        if settings.storage_url is None:
            raise NotFoundError(f"export {job_id!r} is in the storage: set TWEENLAB_STORAGE_URL")
        try:
            open_storage(settings).download(EXPORTS + name, target)
        except StorageNotFoundError:
            raise expired from None
    if not target.is_file():
        raise expired
    return target
