"""``/api/projects/{project_id}/tasks/{task_id}``: annotations, tracks by revision, journal, undo.

A write names the revision it is based on, in ``If-Match`` (``"3"``, as the track's ``ETag``
gives it) or in the body's ``base_revision`` (0 creates a track). A stale one gets 409 with
``current_revision`` and the stored ``track``; nothing is overwritten.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, Header, Query, Response
from pydantic import BaseModel, Field

from tweenlab.core.roles import Role
from tweenlab.errors import FieldError
from tweenlab.server.deps import Auth, Db, api_router, get_settings, require
from tweenlab.services import task_annotations, track_fill
from tweenlab.services.projects import Access
from tweenlab.settings import Settings
from tweenlab.store import JournalRow, TrackRow

__all__ = ["router"]

router = api_router(prefix="/projects/{project_id}/tasks/{task_id}", tags=["annotations"])
Member = Annotated[Auth, Depends(require(Role.ANNOTATOR))]
IfMatch = Annotated[str | None, Header(max_length=100)]
MAX_INT = 2**31 - 1


class TrackWrite(BaseModel):
    """A track in the native format (``Track.to_json``: ``label``, ``keyframes``, ...) and the
    revision the change is based on (or send ``If-Match``)."""

    track: dict[str, Any]
    base_revision: int | None = Field(default=None, ge=0)


class TrackDelete(BaseModel):
    """The revision the deletion is based on (or send ``If-Match``)."""

    base_revision: int | None = Field(default=None, ge=0)


class TrackView(BaseModel):
    """A track of the task as stored: its number, revision and native JSON."""

    number: int
    revision: int
    label: str
    kind: str
    deleted: bool
    updated_by: int | None
    updated_at: datetime
    track: dict[str, Any] | None


class Tombstone(BaseModel):
    """A deleted track: its number and the revision to base a re-creation on."""

    number: int
    revision: int


class AnnotationsView(BaseModel):
    """Every track of a task; ``revision`` grows with every change to any of them."""

    task_id: int
    revision: int
    tracks: list[TrackView]
    deleted: list[Tombstone]


class JournalView(BaseModel):
    """One change of a track: who, when, the revision it made, the track before and after."""

    id: int
    number: int
    revision: int
    op: str
    actor_id: int | None
    actor: str | None
    at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    undoes: int | None


def _access(auth: Auth) -> Access:
    assert auth.access is not None
    return auth.access


def _view(row: TrackRow) -> TrackView:
    return TrackView(
        number=row.number,
        revision=row.revision,
        label=row.label,
        kind=row.kind,
        deleted=row.deleted,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
        track=None if row.deleted else row.data,
    )


def _entry(row: JournalRow) -> JournalView:
    return JournalView(
        id=row.id,
        number=row.number,
        revision=row.revision,
        op=row.op,
        actor_id=row.actor_id,
        actor=row.actor.email if row.actor is not None else None,
        at=row.at,
        before=row.before,
        after=row.after,
        undoes=row.undoes,
    )


def _base(if_match: str | None, field: int | None) -> int:
    """The base revision from ``If-Match`` (``"3"``, ``W/"3"`` or ``3``) or the body."""
    if if_match is not None:
        text = if_match.strip().removeprefix("W/").strip('"')
        if not text.isdigit():
            raise FieldError("If-Match", f'must be a track revision like "3", got {if_match!r}')
        if field is not None and int(text) != field:
            raise FieldError("base_revision", "differs from If-Match")
        return int(text)
    if field is None:
        raise FieldError(
            "base_revision", "every write names the revision it is based on (0 for a new track)"
        )
    return field


def _etag(response: Response, row: TrackRow) -> None:
    response.headers["ETag"] = f'"{row.revision}"'


@router.get("/annotations")
def get_annotations(project_id: int, task_id: int, db: Db, auth: Member) -> AnnotationsView:
    """Every track of the task with its revision, and the task's revision."""
    found = task_annotations.read_annotations(db, _access(auth), task_id)
    return AnnotationsView(
        task_id=found.task.id,
        revision=found.task.revision,
        tracks=[_view(row) for row in found.tracks],
        deleted=[Tombstone(number=row.number, revision=row.revision) for row in found.deleted],
    )


@router.get("/tracks/{number}")
def get_track(
    *, project_id: int, task_id: int, number: int, db: Db, auth: Member, response: Response
) -> TrackView:
    """One track; its ``ETag`` is the revision to send back in ``If-Match``."""
    row = task_annotations.read_track(db, _access(auth), task_id, number)
    _etag(response, row)
    return _view(row)


class StateView(BaseModel):
    """A track on one frame: the shape drawn there and how it came to be."""

    frame: int
    shape: dict[str, Any]
    outside: bool
    occluded: bool
    keyframe: bool
    inbetween: bool


class StatesView(BaseModel):
    """A track on each frame of a range, at ``revision``."""

    number: int
    revision: int
    states: list[StateView]


@router.get("/tracks/{number}/states")
def get_track_states(
    *,
    project_id: int,
    task_id: int,
    number: int,
    db: Db,
    auth: Member,
    response: Response,
    first: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
    last: Annotated[int, Query(ge=0, le=MAX_INT)] = MAX_INT,
) -> StatesView:
    """The track on every frame of ``first..last`` (clipped to the task): keyframes, in-between
    shapes and the server's interpolation, exactly as exports see it."""
    row, states = task_annotations.track_states(
        db, _access(auth), task_id, number, first=first, last=last
    )
    _etag(response, row)
    return StatesView(
        number=row.number, revision=row.revision, states=[StateView(**s) for s in states]
    )


@router.put("/tracks/{number}")
def put_track(
    *,
    project_id: int,
    task_id: int,
    number: int,
    body: TrackWrite,
    db: Db,
    auth: Member,
    settings: Annotated[Settings, Depends(get_settings)],
    response: Response,
    if_match: IfMatch = None,
) -> TrackView:
    """Create (base revision 0) or replace a track. 409 with ``current_revision`` and ``track``
    when it is no longer at the base revision; 422 naming the field for a malformed track or a
    keyframe outside the task's frames. In-between shapes the edit made stale are computed
    again for the new keyframes when the flow is cached (``track_fill.save_track``)."""
    base = _base(if_match, body.base_revision)
    row = track_fill.save_track(
        db, _access(auth), settings, task_id, number, data=body.track, base=base
    )
    _etag(response, row)
    return _view(row)


class FillRequest(BaseModel):
    """Fill a track's spans by motion; ``first``/``last`` limit it to spans overlapping them;
    ``method`` ``tracker`` fills box spans with the single-object tracker instead of the flow."""

    base_revision: int | None = Field(default=None, ge=0)
    first: int | None = Field(default=None, ge=0)
    last: int | None = Field(default=None, ge=0)
    method: Literal["flow", "tracker"] = "flow"


class FillView(BaseModel):
    """The track's new revision, the frames filled between keyframes, the suggested next
    keyframes, spans left straight because a scene cut lies inside them, the frames carried
    past the first and last keyframes, the frame the object leaves the picture on after its
    last keyframe (null when it was followed to the end), and the keyframes whose box has no
    area (nothing to follow: their spans are left straight and they are not carried)."""

    track: TrackView
    filled: int
    suggested: list[int]
    across_cuts: list[tuple[int, int]]
    extended: int
    leaves: int | None
    zero_size: list[int] = []


@router.post("/tracks/{number}/fill")
def fill_track(
    *,
    project_id: int,
    task_id: int,
    number: int,
    body: FillRequest,
    db: Db,
    auth: Member,
    settings: Annotated[Settings, Depends(get_settings)],
    response: Response,
    if_match: IfMatch = None,
) -> FillView:
    """ "Fill in between": the track's spans between keyframes filled by motion as in-between
    shapes (not keyframes), written as the next revision. 409 when the track is no longer at
    the base revision. The first fill of a video computes its optical flow (seconds per
    hundred frames); ``tweenlab.services.propagate:flow_job`` can compute it ahead."""
    base = _base(if_match, body.base_revision)
    done = track_fill.fill_track(
        db,
        _access(auth),
        settings,
        task_id,
        number,
        base=base,
        first=body.first,
        last=body.last,
        method=body.method,
    )
    _etag(response, done.row)
    report = done.report
    return FillView(
        track=_view(done.row),
        filled=report.filled,
        suggested=report.suggested,
        across_cuts=report.across_cuts,
        extended=report.extended,
        leaves=report.leaves,
        zero_size=report.zero_size,
    )


@router.delete("/tracks/{number}")
def delete_track(
    *,
    project_id: int,
    task_id: int,
    number: int,
    db: Db,
    auth: Member,
    response: Response,
    if_match: IfMatch = None,
    body: TrackDelete | None = None,
) -> TrackView:
    """Delete a track if it is still at the base revision (409 otherwise)."""
    base = _base(if_match, body.base_revision if body is not None else None)
    row = task_annotations.delete_track(db, _access(auth), task_id, number, base=base)
    _etag(response, row)
    return _view(row)


@router.get("/journal")
def get_journal(
    project_id: int, task_id: int, db: Db, auth: Member, track: int | None = None
) -> list[JournalView]:
    """Who changed which track, when, and how (oldest first; ``track`` for one track)."""
    return [_entry(row) for row in task_annotations.journal(db, _access(auth), task_id, track)]


@router.post("/undo")
def undo(project_id: int, task_id: int, db: Db, auth: Member) -> JournalView:
    """Revert the caller's latest change in the task as a new change; 409 when someone else
    changed that track since, or there is nothing to undo."""
    return _entry(task_annotations.undo(db, _access(auth), task_id))
