"""Exports (``/api/projects/{project_id}/exports``, managers and owners): ``POST`` queues a job
that exports a video's annotations (its tasks' tracks joined, one identity per object across
task boundaries) as a dataset and zips it; ``GET /api/jobs/{id}`` follows it; ``GET
exports/{job_id}/download`` gives the zip once the job succeeded (404 before)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from tweenlab.core.roles import Role
from tweenlab.formats import MAX_SYNTHETIC
from tweenlab.server.deps import Auth, Db, Jobs, api_router, get_settings, require
from tweenlab.server.routers.jobs import JobView, get_job
from tweenlab.services import exports
from tweenlab.services.projects import Access
from tweenlab.settings import Settings

__all__ = ["router"]

router = api_router(prefix="/projects/{project_id}/exports", tags=["exports"])
Manager = Annotated[Auth, Depends(require(Role.MANAGER))]
SettingsDep = Annotated[Settings, Depends(get_settings)]


class ExportBody(BaseModel):
    """What to export: the video, the format, which frames (``all``, ``keyframes``,
    ``every:N``) and, optionally, frame images; ``synthetic`` frames synthesised by
    ``synthesis_engine`` after each exported one, labelled at their time (image datasets with
    images: coco, yolo, datumaro)."""

    video_id: int = Field(ge=1)
    format: Literal["coco", "yolo", "mot", "cvat_video", "datumaro", "native"]
    frames: str = Field(default="all", max_length=32)
    images: Literal["jpg", "png"] | None = None
    synthetic: int = Field(default=0, ge=0, le=MAX_SYNTHETIC)
    synthesis_engine: Literal["flow", "adaconv", "sepconv", "dvf", "bipn", "phasenet"] = "flow"


def _access(auth: Auth) -> Access:
    assert auth.access is not None
    return auth.access


@router.post("", status_code=202)
def start_export(
    project_id: int,
    body: ExportBody,
    *,
    db: Db,
    jobs: Jobs,
    settings: SettingsDep,
    auth: Manager,
) -> JobView:
    """Queue the export; answers its job (``GET /api/jobs/{id}`` follows it)."""
    job = exports.start_export(
        db,
        settings,
        jobs,
        _access(auth),
        video_id=body.video_id,
        format_name=body.format,
        frames=body.frames,
        images=body.images,
        synthetic=body.synthetic,
        engine=body.synthesis_engine,
    )
    return get_job(job.id, db, auth)


@router.get("/{job_id}/download", response_class=FileResponse)
def download(
    project_id: int, job_id: str, *, db: Db, settings: SettingsDep, auth: Manager
) -> FileResponse:
    """The export's zip (404 until its job has succeeded)."""
    path = exports.export_zip(db, settings, _access(auth), job_id)
    return FileResponse(path, media_type="application/zip", filename=f"export-{job_id}.zip")
