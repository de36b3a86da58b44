"""Quality (``/api/projects/{project_id}/...``): a task's agreement with a ground-truth task or
another task of the same frames (``tasks/{task_id}/quality?against=``: managers and the task's
reviewer), and the consensus of annotators of one clip (``quality/consensus?tasks=1,2,3``:
managers). Scores are ``workflow.quality``'s: mean IoU, missing/extra, IDF1, HOTA."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query

from tweenlab.core.roles import Role
from tweenlab.errors import FieldError
from tweenlab.server.deps import Auth, Db, api_router, require
from tweenlab.services import quality
from tweenlab.services.projects import Access

__all__ = ["router"]

router = api_router(prefix="/projects/{project_id}", tags=["quality"])
Member = Annotated[Auth, Depends(require(Role.ANNOTATOR))]
Manager = Annotated[Auth, Depends(require(Role.MANAGER))]
Threshold = Annotated[float, Query(gt=0, le=1)]


def _access(auth: Auth) -> Access:
    assert auth.access is not None
    return auth.access


@router.get("/tasks/{task_id}/quality")
def task_quality(
    project_id: int,
    task_id: int,
    *,
    db: Db,
    auth: Member,
    against: Annotated[int | None, Query(ge=1)] = None,
    iou_threshold: Threshold = 0.5,
) -> dict[str, Any]:
    """The task's agreement with task ``against`` (the reference; by default a ground-truth task
    of its video covering its frames) on the frames both cover."""
    reference, agreement = quality.task_agreement(
        db, _access(auth), task_id, against, iou_threshold=iou_threshold
    )
    return {
        "task_id": task_id,
        "against": reference.id,
        "against_kind": reference.kind,
        **agreement.to_json(),
    }


@router.get("/tasks/{task_id}/training")
def training_result(project_id: int, task_id: int, *, db: Db, auth: Member) -> dict[str, Any]:
    """A training task scored against the ground truth of its clip, with the differences (the
    tracks missed, the extra ones, and how each matched): for its trainee, reviewer and
    managers. Submitting a training task writes the score into its history."""
    reference, agreement = quality.training_result(db, _access(auth), task_id)
    return {"task_id": task_id, "against": reference.id, **agreement.to_json()}


@router.get("/quality/consensus")
def task_consensus(
    project_id: int,
    *,
    db: Db,
    auth: Manager,
    tasks: Annotated[str, Query(max_length=10_000)],
    iou_threshold: Threshold = 0.5,
) -> dict[str, Any]:
    """Each task's annotator scored against the ground-truth task among ``tasks`` or, without
    one, against the others; best first."""
    try:
        ids = [int(part) for part in tasks.split(",") if part.strip()]
    except ValueError:
        raise FieldError("tasks", "task ids separated by commas, such as 1,2,3") from None
    reference, entries = quality.task_consensus(db, _access(auth), ids, iou_threshold=iou_threshold)
    return {
        "reference": reference,
        "annotators": [
            {
                "task_id": e.task_id,
                "annotator_id": e.annotator_id,
                "email": e.email,
                **e.score,
            }
            for e in entries
        ],
    }
