"""Auto-labelling tasks and their predictions (``/api/projects/{p}``).

``POST tasks/{t}/autolabel`` (managers and owners) queues a job that pre-labels the task's
frames with a registered labeler; ``GET /api/jobs/{id}`` follows it. ``POST
videos/{v}/autolabel`` queues one such job per task of the video. The tracks a job writes are
predictions (``source: "auto"`` with a ``score``) until ``POST tasks/{t}/predictions/accept``
turns them into ordinary tracks, or ``.../reject`` deletes them; running a job again replaces
only the predictions nobody has edited.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from pydantic import BaseModel, Field

from tweenlab.core.roles import Role
from tweenlab.server.deps import Auth, Db, Jobs, api_router, get_settings, require
from tweenlab.server.routers.jobs import JobView, get_job
from tweenlab.services import predictions
from tweenlab.services.autolabel import DEFAULT_LABELER
from tweenlab.services.projects import Access
from tweenlab.settings import Settings

__all__ = ["router"]

router = api_router(prefix="/projects/{project_id}", tags=["predictions"])
Manager = Annotated[Auth, Depends(require(Role.MANAGER))]
Member = Annotated[Auth, Depends(require(Role.ANNOTATOR))]
SettingsDep = Annotated[Settings, Depends(get_settings)]


class AutolabelBody(BaseModel):
    """Which labeler, on which frames, and what it needs (a model file name inside the
    server's ``models`` folder, class names, an endpoint); ``label_map`` names the project label
    a model class becomes (classes named like a label need no entry; others are dropped)."""

    labeler: str = Field(default=DEFAULT_LABELER, max_length=100)
    every: int = Field(default=5, ge=1, le=10_000)
    min_score: float = Field(default=0.25, ge=0.0, le=1.0)
    min_iou: float = Field(default=0.9, gt=0.0, le=1.0)
    model: str | None = Field(default=None, max_length=255)
    classes: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        default=None, max_length=10_000
    )
    url: str | None = Field(default=None, max_length=2000)
    options: dict[str, str | int | float] = Field(default_factory=dict, max_length=32)
    label_map: dict[str, str] = Field(default_factory=dict, max_length=1000)


class PredictionChoice(BaseModel):
    """The predicted tracks concerned, by number; all of the task's when left out."""

    tracks: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] | None = Field(
        default=None, max_length=100_000
    )


class PredictionResult(BaseModel):
    """The tracks that changed."""

    tracks: list[int]


def _access(auth: Auth) -> Access:
    assert auth.access is not None
    return auth.access


@router.post("/tasks/{task_id}/autolabel", status_code=202)
def autolabel(
    project_id: int,
    task_id: int,
    body: AutolabelBody,
    *,
    db: Db,
    jobs: Jobs,
    settings: SettingsDep,
    auth: Manager,
) -> JobView:
    """Queue the auto-labelling job; answers it (``GET /api/jobs/{id}`` follows it)."""
    job = predictions.start_autolabel(db, settings, jobs, _access(auth), task_id, **_options(body))
    return get_job(job.id, db, auth)


@router.post("/videos/{video_id}/autolabel", status_code=202)
def autolabel_video(
    project_id: int,
    video_id: int,
    body: AutolabelBody,
    *,
    db: Db,
    jobs: Jobs,
    settings: SettingsDep,
    auth: Manager,
) -> list[JobView]:
    """Queue one auto-labelling job per task of the video (409 when it has no task)."""
    started = predictions.start_video_autolabel(
        db, settings, jobs, _access(auth), video_id, **_options(body)
    )
    return [get_job(job.id, db, auth) for job in started]


def _options(body: AutolabelBody) -> dict[str, Any]:
    return {
        "labeler": body.labeler,
        "every": body.every,
        "min_score": body.min_score,
        "min_iou": body.min_iou,
        "model": body.model,
        "classes": body.classes,
        "url": body.url,
        "extra": body.options,
        "label_map": body.label_map,
    }


@router.post("/tasks/{task_id}/predictions/accept")
def accept(
    project_id: int, task_id: int, body: PredictionChoice, db: Db, auth: Member
) -> PredictionResult:
    """Turn predictions into ordinary tracks (whoever may edit the task)."""
    numbers = predictions.accept_predictions(db, _access(auth), task_id, body.tracks)
    return PredictionResult(tracks=numbers)


@router.post("/tasks/{task_id}/predictions/reject")
def reject(
    project_id: int, task_id: int, body: PredictionChoice, db: Db, auth: Member
) -> PredictionResult:
    """Delete predictions (whoever may edit the task)."""
    numbers = predictions.reject_predictions(db, _access(auth), task_id, body.tracks)
    return PredictionResult(tracks=numbers)
