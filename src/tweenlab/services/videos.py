"""Videos of a project: accept an upload, register a file under the media root, list, delete.

An upload is written by the caller (the server streams the request body) to ``new_upload()``'s
temporary name in the upload folder; ``accept_upload`` renames it to a generated name, probes it
and either keeps it (a row and an ingest job) or deletes it and raises the probe's
``MediaError``: nothing is left behind by a refused file. Registration takes a path relative to
(or inside) ``Settings.media_root``, resolved with its symbolic links, and refuses anything that
ends up outside. No other path from a request reaches the filesystem: a video's file is found
from its row (``video_path``).

Probing builds the frame index (kept among the derived files, so ingest and frame serving reuse
it): a video is accepted only when every packet could be read. The rest of ingest (proxy,
filmstrip, keyframe analysis) runs as a job; its hook sets the video's status.

With ``Settings.storage_url`` set, an accepted upload goes into the storage as
``uploads/<generated name>`` (its row's ``stored_path`` is that key; a plain upload's is the bare
name) with its frame index published beside it, and the server's copy is deleted: the ingest
job, on any machine, works from the key, and every server process reaches the file and its
derived files through ``StoredVideos`` (``services.stored``).
"""

from __future__ import annotations

import contextlib
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from tweenlab.errors import MediaError, NotFoundError, StorageError, UsageError
from tweenlab.jobs import JobState
from tweenlab.media import DerivedFiles, LocalStorage, VideoInfo, probe
from tweenlab.services.jobs import JobRunner
from tweenlab.services.media import INGEST_JOB
from tweenlab.services.stored import (
    UPLOADS,
    JobVideo,
    StoredVideos,
    open_storage,
    publish_derived,
    storage_params,
)
from tweenlab.settings import Settings
from tweenlab.store import Job, Project, User, Video

__all__ = [
    "VIDEO_SUFFIXES",
    "ServedVideo",
    "accept_upload",
    "delete_video",
    "discard_upload",
    "finish_ingest",
    "get_video",
    "is_stored_key",
    "list_videos",
    "new_upload",
    "register_video",
    "served_video",
    "video_params",
    "video_path",
    "video_row",
    "video_source",
]

#: Suffixes kept from an uploaded file's name (FFmpeg guesses some containers by it);
#: anything else is stored without one.
VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".ts", ".mts", ".mpg", ".mpeg", ".wmv"}
)


def new_upload(settings: Settings) -> Path:
    """A fresh temporary file name in the upload folder (the folder is created)."""
    settings.upload_dir.mkdir(parents=True, exist_ok=True)
    return settings.upload_dir / f".part-{uuid.uuid4().hex}"


def discard_upload(path: Path) -> None:
    """Delete a temporary or refused upload (nothing happens when it is gone already)."""
    path.unlink(missing_ok=True)


def display_name(name: str | None) -> str:
    """The client's file name reduced to its last component, for display only."""
    base = PurePosixPath((name or "").replace("\\", "/")).name.strip()
    return base[:255] or "video"


def accept_upload(
    db: Session,
    settings: Settings,
    jobs: JobRunner,
    *,
    project: Project,
    user: User,
    temporary: Path,
    original_name: str | None,
) -> Video:
    """Keep the uploaded file at ``temporary`` as a video of ``project`` and start its ingest;
    with a storage configured, the file goes there (and leaves the upload folder).

    Raises:
        MediaError: The file is not a readable video (empty, not a video, truncated...); it has
            been deleted.
        StorageError: The storage refused it; nothing is left behind either.
    """
    name = display_name(original_name)
    suffix = PurePosixPath(name).suffix.lower()
    stored = f"{uuid.uuid4().hex}{suffix if suffix in VIDEO_SUFFIXES else ''}"
    final = settings.upload_dir / stored
    temporary.rename(final)
    try:
        info = _probe(settings, final)
        if settings.storage_url is not None:
            stored = _put_upload(settings, final)
    except BaseException:
        _forget(settings, final)
        raise
    return _add(
        db,
        settings,
        jobs,
        project=project,
        user=user,
        origin="upload",
        stored=stored,
        name=name,
        info=info,
    )


def _put_upload(settings: Settings, path: Path) -> str:
    """Put an accepted upload and its frame index into the storage, and delete the server's
    copy (unless the storage is a folder holding that very file); returns its key. A failure
    leaves nothing in the storage."""
    key = UPLOADS + path.name
    storage = open_storage(settings)
    video = JobVideo(key, path, storage)
    try:
        storage.put_file(key, path)
        publish_derived(video, video.folder(settings), ("index.npz",), manifest=False)
    except BaseException:
        with contextlib.suppress(StorageError):  # the store may be down: say the first error
            storage.delete(key)
        raise
    if not (isinstance(storage, LocalStorage) and storage.path(key) == path.absolute()):
        _forget(settings, path)  # the storage holds it now
    return key


def is_stored_key(stored_path: str) -> bool:
    """Whether an upload's ``stored_path`` is a key in the storage (``uploads/...``) rather than
    a name in the upload folder."""
    return stored_path.startswith(UPLOADS)


def register_video(
    db: Session,
    settings: Settings,
    jobs: JobRunner,
    *,
    project: Project,
    user: User,
    path: str,
) -> Video:
    """Add the file at ``path`` under the media root as a video of ``project`` (not copied).

    Raises:
        UsageError: No media root is configured, or ``path`` is outside it (field ``path``).
        NotFoundError: No file there.
        MediaError: The file is not a readable video.
    """
    if settings.media_root is None:
        raise UsageError("path: registering files is off (set TWEENLAB_MEDIA_ROOT)")
    root = settings.media_root.resolve()
    if "\0" in path:
        raise UsageError("path: must not contain NUL")
    candidate = Path(path)
    resolved = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if not resolved.is_relative_to(root) or resolved == root:
        raise UsageError("path: must name a file under the media root")
    if not resolved.is_file():
        raise NotFoundError(f"no file {path!r} under the media root")
    relative = resolved.relative_to(root).as_posix()
    info = _probe(settings, resolved)
    return _add(
        db,
        settings,
        jobs,
        project=project,
        user=user,
        origin="register",
        stored=relative,
        name=resolved.name,
        info=info,
    )


def list_videos(db: Session, project: Project) -> list[Video]:
    """The project's videos, oldest first."""
    return list(db.scalars(select(Video).where(Video.project_id == project.id).order_by(Video.id)))


def get_video(db: Session, project: Project, video_id: int) -> Video:
    """Video ``video_id`` of ``project`` (``NotFoundError`` for another project's)."""
    video = db.get(Video, video_id)
    if video is None or video.project_id != project.id:
        raise NotFoundError(f"no video {video_id} in this project")
    return video


@dataclass(frozen=True)
class ServedVideo:
    """What serving a video's frames reads of its row (``served_video``)."""

    id: int
    project_id: int
    origin: str
    stored_path: str
    frame_count: int
    status: str
    error: str | None


_SERVED = select(
    Video.id,
    Video.project_id,
    Video.origin,
    Video.stored_path,
    Video.frame_count,
    Video.status,
    Video.error,
).where(Video.id == bindparam("video_id"))


def served_video(db: Session, project_id: int, video_id: int) -> ServedVideo:
    """``get_video`` for a frame request: its row's few columns in one statement built once (a
    frame request reads a video's row, and loading it as an ORM object, with a statement made
    per call, was about a sixth of a cached frame's CPU)."""
    row = db.connection().execute(_SERVED, {"video_id": video_id}).first()
    if row is None or row.project_id != project_id:
        raise NotFoundError(f"no video {video_id} in this project")
    return ServedVideo(*row)


class _VideoFile(Protocol):
    """What finds a video's file: its row's id, origin and stored path."""

    @property
    def id(self) -> int: ...
    @property
    def origin(self) -> str: ...
    @property
    def stored_path(self) -> str: ...


def video_path(
    settings: Settings, video: _VideoFile, *, stored: StoredVideos | None = None
) -> Path:
    """The file of ``video``, from its row: for a video in the storage, a local copy with its
    published derived files beside it (``stored``'s, or fetched through a new client)."""
    return video_source(settings, video, stored=stored).path


def video_source(
    settings: Settings, video: _VideoFile, *, stored: StoredVideos | None = None
) -> JobVideo:
    """``video_path``, and for a video in the storage its key and the storage (to fetch more
    of what jobs published under it)."""
    if video.origin == "upload":
        if not is_stored_key(video.stored_path):
            path = settings.upload_dir / video.stored_path
            return JobVideo(str(path), path)
        _check_storage(settings, video)
        return (stored or StoredVideos(settings)).video(video.stored_path)
    if settings.media_root is None:
        raise NotFoundError(f"video {video.id}: its media root is no longer configured")
    path = settings.media_root.resolve() / video.stored_path
    return JobVideo(str(path), path)


def video_params(settings: Settings, video: Video) -> dict[str, Any]:
    """What names ``video``'s file to a job: ``video`` (its path), or, for a video in the
    storage, its key and ``storage_url``; nothing is downloaded here."""
    if video.origin == "upload" and is_stored_key(video.stored_path):
        _check_storage(settings, video)
        return storage_params(settings, video.stored_path)
    return {"video": str(video_path(settings, video))}


def _check_storage(settings: Settings, video: _VideoFile) -> None:
    if settings.storage_url is None:
        raise NotFoundError(f"video {video.id} is in the storage: set TWEENLAB_STORAGE_URL")


def delete_video(
    db: Session,
    settings: Settings,
    jobs: JobRunner,
    video: Video,
    *,
    stored: StoredVideos | None = None,
) -> None:
    """Delete ``video``: its row, its ingest job if still running, and an uploaded file with its
    derived files (a registered file is not the server's and stays)."""
    if video.ingest_job_id is not None:
        job = db.get(Job, video.ingest_job_id)
        if job is not None and not JobState(job.state).final:
            db.rollback()
            jobs.cancel(job.id)
    origin, key = video.origin, video.stored_path
    in_storage = origin == "upload" and is_stored_key(key)
    path = None if in_storage else video_path(settings, video)
    db.delete(video)
    db.commit()
    if in_storage and settings.storage_url is not None:
        (stored or StoredVideos(settings)).forget(key)
    elif origin == "upload" and path is not None:
        _forget(settings, path)


def finish_ingest(db: Session, job: Job) -> None:
    """The ingest job's hook: the video follows its job (ingesting, ready, or failed)."""
    video_id = job.params.get("video_id")
    video = db.get(Video, video_id) if isinstance(video_id, int) else None
    if video is None:
        return
    state = JobState(job.state)
    if state is JobState.RUNNING:
        video.status = "ingesting"
    elif state is JobState.SUCCEEDED and not (job.result or {}).get("cancelled"):
        video.status, video.error = "ready", None
    elif state.final:
        video.status = "failed"
        video.error = job.error or f"ingest {state.value}"


def _probe(settings: Settings, path: Path) -> VideoInfo:
    return probe(path, index=DerivedFiles(settings.derived_dir).index(path))


def _forget(settings: Settings, path: Path) -> None:
    """Delete an uploaded file and its derived folder."""
    try:
        folder = DerivedFiles(settings.derived_dir).folder(path)
    except MediaError:
        folder = None
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
    path.unlink(missing_ok=True)


def video_row(
    project: Project,
    user: User,
    info: VideoInfo,
    *,
    origin: str,
    stored: str,
    name: str,
    status: str = "uploaded",
) -> Video:
    """A new video row of ``project`` from what probing found (not yet added to a session)."""
    return Video(
        project_id=project.id,
        origin=origin,
        stored_path=stored,
        original_name=name,
        size_bytes=info.size_bytes,
        frame_count=info.frame_count,
        width=info.display_size[0],
        height=info.display_size[1],
        fps=f"{info.frame_rate.numerator}/{info.frame_rate.denominator}",
        duration=float(info.duration),
        status=status,
        created_by=user.id,
    )


def _add(
    db: Session,
    settings: Settings,
    jobs: JobRunner,
    *,
    project: Project,
    user: User,
    origin: str,
    stored: str,
    name: str,
    info: VideoInfo,
) -> Video:
    video = video_row(project, user, info, origin=origin, stored=stored, name=name)
    db.add(video)
    db.commit()
    params = {
        "video_id": video.id,
        "project_id": project.id,
        "created_by": user.id,
        "video": str(info.path),
        "data_dir": str(settings.data_dir),
        "proxy_max_gop": settings.proxy_max_gop,
        "frame_cache_mb": settings.frame_cache_mb,
        "keyframes": settings.ingest_keyframes,
    }
    if origin == "upload" and is_stored_key(stored):
        params.update(storage_params(settings, stored))
    job = jobs.submit("ingest", INGEST_JOB, params)
    video.ingest_job_id = job.id
    db.commit()
    db.refresh(video)
    return video
