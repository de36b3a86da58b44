"""``/api/projects/{project_id}/tasks/{task_id}``: where to look next, for the editor's timeline.

``GET .../tracks/{number}/confidence`` gives a track's per-frame confidence from motion-guided
in-betweening (``fill``) and the suggested next keyframe of each span; ``GET .../keyframes`` the
scene cuts and suggested keyframes of the task's frames from the video's keyframe analysis.
Both read what is stored; neither decodes video nor computes flow.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Response
from pydantic import BaseModel

from tweenlab.core.roles import Role
from tweenlab.server.deps import Auth, Db, Stored, api_router, get_settings, require
from tweenlab.services import guidance
from tweenlab.services.projects import Access
from tweenlab.settings import Settings

__all__ = ["router"]

router = api_router(prefix="/projects/{project_id}/tasks/{task_id}", tags=["guidance"])
Member = Annotated[Auth, Depends(require(Role.ANNOTATOR))]
SettingsDep = Annotated[Settings, Depends(get_settings)]


class SpanView(BaseModel):
    """A span between keyframes ``first`` and ``last``: the confidence of each frame between
    them (``null`` where in-betweening filled none), and where the next keyframe is needed."""

    first: int
    last: int
    confidence: list[float | None] | None
    suggested: list[int]
    across_cut: bool


class ConfidenceView(BaseModel):
    """A track's spans at ``revision`` and all their suggested keyframes."""

    number: int
    revision: int
    spans: list[SpanView]
    suggested: list[int]


class KeyframesView(BaseModel):
    """The task's scene cuts, transitions and suggested keyframes (empty until analysed)."""

    analysed: bool
    cuts: list[int]
    transitions: list[tuple[int, int]]
    suggested: list[int]


def _access(auth: Auth) -> Access:
    assert auth.access is not None
    return auth.access


@router.get("/tracks/{number}/confidence")
def get_track_confidence(
    *,
    project_id: int,
    task_id: int,
    number: int,
    db: Db,
    auth: Member,
    settings: SettingsDep,
    stored: Stored,
    response: Response,
) -> ConfidenceView:
    """The track's confidence per frame, span by span, and the suggested next keyframes: in a
    span filled by motion its least confident frame (what ``fill`` suggested), in a span left
    straight across a scene cut both sides of the cut. Its ``ETag`` is the track's revision."""
    found = guidance.track_confidence(db, _access(auth), settings, task_id, number, stored=stored)
    response.headers["ETag"] = f'"{found.row.revision}"'
    spans = [
        SpanView(
            first=s.first,
            last=s.last,
            confidence=s.confidence,
            suggested=s.suggested,
            across_cut=s.across_cut,
        )
        for s in found.spans
    ]
    return ConfidenceView(
        number=found.row.number,
        revision=found.row.revision,
        spans=spans,
        suggested=found.suggested,
    )


@router.get("/keyframes")
def get_task_keyframes(
    *, project_id: int, task_id: int, db: Db, auth: Member, settings: SettingsDep, stored: Stored
) -> KeyframesView:
    """The scene cuts and suggested keyframes within the task's frames, from the keyframe
    analysis of its video (made at ingest); ``analysed`` is false, and the lists empty, when
    the video has not been analysed."""
    found = guidance.task_keyframes(db, _access(auth), settings, task_id, stored=stored)
    return KeyframesView(
        analysed=found.analysed,
        cuts=found.cuts,
        transitions=found.transitions,
        suggested=found.suggested,
    )
