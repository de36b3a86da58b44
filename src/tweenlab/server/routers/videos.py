"""``/api/projects/{project_id}/videos``: upload or register a video, list, read, delete.

An upload is the file itself as the request body (``Content-Type: application/octet-stream`` or
``video/*``; not multipart), its name for display in ``?name=``. The body is streamed to a
temporary file in the upload folder, at most ``TWEENLAB_MAX_UPLOAD_MB`` (413 past it, at once
when ``Content-Length`` says so), then probed: a file that is not a readable video is refused
with 422 naming why (empty, not a video, truncated...). A refused or interrupted upload leaves
no file behind. An accepted one is stored under a generated name (in the storage, as
``uploads/<name>``, when ``TWEENLAB_STORAGE_URL`` is set) and gets an ingest job
(``ingest_job_id``; follow it at ``/api/jobs/{id}`` or its ``/events``); the video's ``status``
goes ``uploaded`` -> ``ingesting`` -> ``ready`` (or ``failed``).

Members see a project's videos; managers and owners add and delete them.
"""

# TODO(issue 6, tasks): an annotator should see only the videos of tasks assigned to them once
# the tasks table exists; for now every member of the project sees its videos.

from __future__ import annotations

import functools
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from tweenlab.core.roles import Role
from tweenlab.server.deps import Auth, Db, Jobs, Stored, api_router, get_settings, require
from tweenlab.services import videos
from tweenlab.settings import Settings
from tweenlab.store import Video

__all__ = ["router"]

router = api_router(prefix="/projects/{project_id}/videos", tags=["videos"])
Member = Annotated[Auth, Depends(require(Role.ANNOTATOR))]
Manager = Annotated[Auth, Depends(require(Role.MANAGER))]
SettingsDep = Annotated[Settings, Depends(get_settings)]


class VideoView(BaseModel):
    """A video: what probing found and where its ingest is."""

    id: int
    project_id: int
    name: str
    origin: str
    size_bytes: int
    frame_count: int
    width: int
    height: int
    fps: str
    duration: float
    status: str
    error: str | None
    ingest_job_id: str | None
    created_by: int | None
    created_at: datetime


class Registration(BaseModel):
    """A file under the server's media root (``TWEENLAB_MEDIA_ROOT``), relative to it."""

    path: str = Field(min_length=1, max_length=4096)


def _view(video: Video) -> VideoView:
    return VideoView(
        id=video.id,
        project_id=video.project_id,
        name=video.original_name,
        origin=video.origin,
        size_bytes=video.size_bytes,
        frame_count=video.frame_count,
        width=video.width,
        height=video.height,
        fps=video.fps,
        duration=video.duration,
        status=video.status,
        error=video.error,
        ingest_job_id=video.ingest_job_id,
        created_by=video.created_by,
        created_at=video.created_at,
    )


@router.post("", status_code=201, responses={413: {"description": "over the size limit"}})
async def upload_video(
    project_id: int,
    *,
    request: Request,
    db: Db,
    jobs: Jobs,
    settings: SettingsDep,
    auth: Manager,
    name: Annotated[str | None, Query(max_length=255)] = None,
) -> VideoView:
    """Upload a video as the raw request body (managers and owners); see the module docstring."""
    limit = settings.max_upload_mb * 1024 * 1024
    if request.headers.get("content-type", "").lower().startswith("multipart/"):
        raise HTTPException(415, "send the video itself as the request body, not multipart")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the upload is over the limit of {settings.max_upload_mb} MiB")
    project, user = auth.project, auth.user
    db.commit()  # no transaction (nor SQLite's write lock) held while the body streams
    temporary = videos.new_upload(settings)
    try:
        size = 0
        with temporary.open("wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise HTTPException(
                        413, f"the upload is over the limit of {settings.max_upload_mb} MiB"
                    )
                out.write(chunk)
        video = await run_in_threadpool(
            functools.partial(
                videos.accept_upload,
                db,
                settings,
                jobs,
                project=project,
                user=user,
                temporary=temporary,
                original_name=name,
            )
        )
    except ClientDisconnect:
        videos.discard_upload(temporary)
        raise HTTPException(400, "the upload was interrupted") from None
    except BaseException:
        videos.discard_upload(temporary)
        raise
    return _view(video)


@router.post("/register", status_code=201)
def register_video(
    project_id: int,
    body: Registration,
    *,
    db: Db,
    jobs: Jobs,
    settings: SettingsDep,
    auth: Manager,
) -> VideoView:
    """Add a file under the media root by its path, without copying it (managers and owners).

    A path outside the media root (after resolving symbolic links) answers 422, a missing file
    404.
    """
    project, user = auth.project, auth.user
    db.commit()  # probing reads the whole file: hold no transaction meanwhile
    return _view(
        videos.register_video(db, settings, jobs, project=project, user=user, path=body.path)
    )


@router.get("")
def list_videos(project_id: int, db: Db, auth: Member) -> list[VideoView]:
    """The project's videos, oldest first (any member)."""
    return [_view(v) for v in videos.list_videos(db, auth.project)]


@router.get("/{video_id}")
def get_video(project_id: int, video_id: int, db: Db, auth: Member) -> VideoView:
    """One video (any member)."""
    return _view(videos.get_video(db, auth.project, video_id))


@router.delete("/{video_id}", status_code=204)
def delete_video(
    project_id: int,
    video_id: int,
    *,
    db: Db,
    jobs: Jobs,
    stored: Stored,
    settings: SettingsDep,
    auth: Manager,
) -> Response:
    """Delete a video, cancelling its ingest; an uploaded file is deleted with it (from the
    storage too), a registered one stays where it is (managers and owners)."""
    video = videos.get_video(db, auth.project, video_id)
    videos.delete_video(db, settings, jobs, video, stored=stored)
    return Response(status_code=204)
