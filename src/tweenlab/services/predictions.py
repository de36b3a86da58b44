"""Predictions in a task: an auto-labelling job writes them, a person accepts or rejects them.

``start_autolabel`` (managers and owners) queues ``autolabel_job``, which labels the task's
frames in parts a worker can do alone (spans of frames, ``services.autolabel_parts``) and
turns the detections into thinned tracks (``services.autolabel``) that travel back in its
result: workers never write to the database. ``finish_autolabel``, the job's hook, puts them
into the task in the transaction that marks the job succeeded, replacing the task's untouched
predictions. A failing labeler fails the job before anything is written,
so accepted and manual tracks are never touched; and a prediction a person has edited since it
was written (revision above 1) is kept, not replaced, so no human work is lost by running the
job again.

``accept_predictions`` turns predictions into ordinary tracks (``source`` manual, no score);
``reject_predictions`` deletes them. Both are journaled changes, like every other track edit.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tweenlab.core.roles import Role
from tweenlab.core.track import Track
from tweenlab.errors import AccessDeniedError, ConflictError, FieldError, TweenlabError
from tweenlab.jobs import JobContext, JobRecord, JobState
from tweenlab.services.annotations import video_ref
from tweenlab.services.autolabel import AUTO, labeler_options, make_labeler, prelabel
from tweenlab.services.autolabel_parts import job_labeler, label_in_parts
from tweenlab.services.jobs import JobRunner
from tweenlab.services.projects import Access, project_access
from tweenlab.services.stored import job_settings, job_video
from tweenlab.services.task_annotations import (
    change_track,
    check_may_edit,
    insert_track,
    parse_track,
)
from tweenlab.services.tasks import locked_task, visible_task
from tweenlab.services.videos import get_video, video_params
from tweenlab.settings import Settings
from tweenlab.store import Job, Task, TrackRow, User

__all__ = [
    "AUTOLABEL_JOB",
    "accept_predictions",
    "autolabel_job",
    "check_labeler_url",
    "finish_autolabel",
    "reject_predictions",
    "replace_predictions",
    "start_autolabel",
    "start_video_autolabel",
]

AUTOLABEL_JOB = "tweenlab.services.predictions:autolabel_job"


def start_autolabel(
    db: Session,
    settings: Settings,
    jobs: JobRunner,
    access: Access,
    task_id: int,
    *,
    labeler: str,
    every: int = 5,
    min_score: float = 0.25,
    min_iou: float = 0.9,
    model: str | None = None,
    classes: list[str] | None = None,
    url: str | None = None,
    extra: dict[str, str | float | int] | None = None,
    label_map: dict[str, str] | None = None,
) -> JobRecord:
    """Queue the job that pre-labels task ``task_id`` (managers and owners).

    ``model`` is a file name inside ``<data_dir>/models`` (models are put there by whoever runs
    the server; a request never names another path). The labeler's classes become the
    project's labels of the same name, or those ``label_map`` names (``{"person":
    "pedestrian"}``); predictions of a class that is neither are dropped (the job's result
    counts them), as CVAT's automatic annotation drops unmapped labels. The labeler is built
    here once, so a bad name, model or endpoint is a 422 now rather than a failed job later.
    """
    if not access.role.at_least(Role.MANAGER):
        raise AccessDeniedError("only managers and owners run auto-labelling")
    task = visible_task(db, access, task_id)
    if every < 1:
        raise FieldError("every", f"must be at least 1, got {every}")
    model_path = _model_file(settings, model)
    if url is not None:
        check_labeler_url(settings, url)
    options = labeler_options(
        model=model_path, classes=classes, url=url, min_score=min_score, extra=extra or {}
    )
    make_labeler(labeler, options)
    names = {label["name"] for label in access.label_schema}
    for model_class, label in (label_map or {}).items():
        if label not in names:
            raise FieldError(f"label_map.{model_class}", f"{label!r} is not a label of the project")
    video = get_video(db, access.project, task.video_id)
    params: dict[str, Any] = {
        "project_id": access.project_id,
        "created_by": access.user_id,
        "task_id": task.id,
        **video_params(settings, video),
        "start": task.start,
        "stop": task.stop,
        "labeler": labeler,
        "model": str(model_path) if model_path else None,
        "classes": classes,
        "url": url,
        "min_score": min_score,
        "min_iou": min_iou,
        "every": every,
        "extra": dict(extra or {}),
        "label_map": dict(label_map or {}),
        "data_dir": str(settings.data_dir),
    }
    db.commit()
    return jobs.submit("autolabel", AUTOLABEL_JOB, params)


def start_video_autolabel(
    db: Session,
    settings: Settings,
    jobs: JobRunner,
    access: Access,
    video_id: int,
    **options: Any,
) -> list[JobRecord]:
    """``start_autolabel`` for every task of video ``video_id`` (consensus copies included:
    each annotator then corrects predictions of their own)."""
    video = get_video(db, access.project, video_id)
    tasks = list(
        db.scalars(
            select(Task.id)
            .where(Task.project_id == access.project_id, Task.video_id == video.id)
            .order_by(Task.start, Task.id)
        )
    )
    if not tasks:
        raise ConflictError(f"video {video.id} has no tasks to pre-label", field="video_id")
    return [start_autolabel(db, settings, jobs, access, task, **options) for task in tasks]


def check_labeler_url(settings: Settings, url: str) -> None:
    """``FieldError`` on ``url`` unless it lies under one of ``settings.labeler_urls`` (the same
    scheme, host and port, its path under the allowed one's): the server sends frames there, and
    without this any project manager could make it post to its own network (a cloud's metadata
    address, an internal service)."""
    wanted = urlsplit(url)
    for allowed in (a.strip() for a in settings.labeler_urls.split(",") if a.strip()):
        base = urlsplit(allowed)
        path = base.path if base.path.endswith("/") else base.path + "/"
        same = (wanted.scheme, wanted.netloc) == (base.scheme, base.netloc)
        if same and (wanted.path + "/").startswith(path):
            return
    listed = settings.labeler_urls or "none"
    raise FieldError(
        "url",
        f"{url} is not an endpoint this server sends frames to (TWEENLAB_LABELER_URLS, set by "
        f"whoever runs it: {listed})",
    )


def _model_file(settings: Settings, name: str | None) -> Path | None:
    if name is None:
        return None
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise FieldError("model", f"a file name inside the server's models folder, got {name!r}")
    path = settings.data_dir / "models" / name
    if not path.is_file():
        raise FieldError("model", f"no model {name!r} in the server's models folder")
    return path


def autolabel_job(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Job function: label the task's frames and return the predicted tracks.

    The frames are labelled in parts of about ``span_frames`` frames of video (a param,
    ``autolabel_parts.DEFAULT_SPAN_FRAMES`` unless given; a sequential labeler in one part),
    which a cluster executor runs side by side; their detections are merged before tracking,
    so the tracks are those of one pass (``services.autolabel_parts``).

    It writes nothing: the tracks travel back in the result (``predictions``) and
    ``finish_autolabel`` puts them into the task in the transaction that marks the job done.
    Params: those ``start_autolabel`` writes (``video`` a path, or a key in ``storage_url``:
    then the job and each part decode their worker's copy). Progress counts labelled frames.
    """
    from tweenlab.autolabel.run import every_nth  # noqa: PLC0415

    settings = job_settings(params)
    labeler = job_labeler(params)
    video = job_video(settings, str(params["video"]), fetch=("index.npz",))
    ref, index = video_ref(video.path, settings)
    frames = every_nth(ref.frame_count, int(params["every"]), start=params["start"])
    frames = [f for f in frames if f < params["stop"]]
    keyframes = index.keyframe_indices().tolist()
    found = label_in_parts(context, params, labeler, frames, keyframes)
    made = prelabel(found, params["stop"], min_iou=float(params["min_iou"]))
    renamed = params.get("label_map") or {}
    return {
        "labeler": labeler.name,
        "frames": len(found),
        "detections": made.detections,
        "keyframes": made.keyframes,
        "classes": [{"label": c.label, **dict(c.attributes)} for c in made.classes],
        "predictions": [
            {**track.to_json(), "label": renamed.get(track.label, track.label)}
            for track in made.tracks
        ],
    }


def finish_autolabel(db: Session, job: Job) -> None:
    """The autolabel job's hook, in the transaction that marks it succeeded: its predictions
    replace the task's untouched ones, as the person who started it. Where that cannot be done
    any more (the task or the person gone, their role changed), the job fails instead and the
    task stays as it was."""
    if JobState(job.state) is not JobState.SUCCEEDED or job.result is None:
        return
    result = dict(job.result)
    data = result.pop("predictions", None)
    if data is None:
        return
    try:
        user = db.get(User, job.params["created_by"])
        if user is None:
            raise AccessDeniedError("the person who started this job no longer exists")
        access = project_access(db, user, job.params["project_id"])
        if not access.role.at_least(Role.MANAGER):
            raise AccessDeniedError("the person who started this job is no longer a manager")
        task = locked_task(db, access, job.params["task_id"])
        schema = access.label_schema
        names = {label["name"] for label in schema}
        fitting = [track for track in data if track["label"] in names]
        tracks = [parse_track(task, schema, int(track["id"]), track) for track in fitting]
        numbers, kept = _replace(db, access, task, tracks)
    except TweenlabError as error:
        job.state, job.error, job.result = JobState.FAILED.value, str(error), None
        return
    dropped = Counter(track["label"] for track in data if track["label"] not in names)
    job.result = {**result, "tracks": numbers, "kept_edited": kept, "dropped": dict(dropped)}


def replace_predictions(
    db: Session, access: Access, task_id: int, tracks: list[Track]
) -> tuple[list[int], int]:
    """In one transaction: delete the task's untouched predictions, add ``tracks`` as new ones.

    Returns the new tracks' numbers and how many edited predictions were kept.
    """
    task = locked_task(db, access, task_id)
    numbers, kept = _replace(db, access, task, tracks)
    db.commit()
    return numbers, kept


def _replace(db: Session, access: Access, task: Task, tracks: list[Track]) -> tuple[list[int], int]:
    """``replace_predictions`` inside the caller's transaction."""
    rows = list(db.scalars(select(TrackRow).where(TrackRow.task_id == task.id)))
    kept = 0
    for row in rows:
        if row.deleted or row.data.get("source") != AUTO:
            continue
        if row.revision > 1:
            kept += 1
            continue
        change_track(db, access, task, row, None)
    last = db.scalar(select(func.max(TrackRow.number)).where(TrackRow.task_id == task.id))
    number = int(last or 0)
    numbers = []
    for track in tracks:
        number += 1
        insert_track(db, access, task, number, {**track.to_json(), "id": number})
        numbers.append(number)
    return numbers, kept


def _predictions(
    db: Session, access: Access, task_id: int, numbers: list[int] | None
) -> tuple[Any, list[TrackRow]]:
    task = locked_task(db, access, task_id)
    check_may_edit(access, task)
    rows = [
        row
        for row in db.scalars(
            select(TrackRow).where(TrackRow.task_id == task.id).order_by(TrackRow.number)
        )
        if not row.deleted and row.data.get("source") == AUTO
    ]
    if numbers is not None:
        wanted = set(numbers)
        missing = wanted - {row.number for row in rows}
        if missing:
            raise FieldError("tracks", f"track {min(missing)} is not a prediction of this task")
        rows = [row for row in rows if row.number in wanted]
    return task, rows


def accept_predictions(
    db: Session, access: Access, task_id: int, numbers: list[int] | None = None
) -> list[int]:
    """Turn the task's predictions (all, or ``numbers``) into ordinary tracks; one transaction."""
    task, rows = _predictions(db, access, task_id, numbers)
    for row in rows:
        after = {k: v for k, v in row.data.items() if k != "score"} | {"source": "manual"}
        change_track(db, access, task, row, after)
    db.commit()
    return [row.number for row in rows]


def reject_predictions(
    db: Session, access: Access, task_id: int, numbers: list[int] | None = None
) -> list[int]:
    """Delete the task's predictions (all, or ``numbers``); one transaction."""
    task, rows = _predictions(db, access, task_id, numbers)
    for row in rows:
        change_track(db, access, task, row, None)
    db.commit()
    return [row.number for row in rows]
