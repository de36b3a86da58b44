"""``/api/projects/{project_id}/tasks/{task_id}/issues``: review issues pinned to a frame and a
region, their comments, resolving them. Rejecting a task (an action) sends it back with them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends
from pydantic import BaseModel, Field

from tweenlab.core.roles import Role
from tweenlab.server.deps import Auth, Db, api_router, require
from tweenlab.services import review
from tweenlab.services.projects import Access
from tweenlab.store import ReviewIssue

__all__ = ["router"]

router = api_router(prefix="/projects/{project_id}/tasks/{task_id}/issues", tags=["review"])
Member = Annotated[Auth, Depends(require(Role.ANNOTATOR))]
Reviewer = Annotated[Auth, Depends(require(Role.REVIEWER))]
Coordinate = Annotated[float, Field(ge=0, le=1_000_000)]


class Region(BaseModel):
    """A box on the frame, in pixels: top-left corner, width and height."""

    x: Coordinate
    y: Coordinate
    w: Coordinate
    h: Coordinate


class NewIssue(BaseModel):
    """What is wrong, where."""

    frame: int = Field(ge=0, le=100_000_000)
    region: Region
    text: str = Field(min_length=1, max_length=10_000)


class NewComment(BaseModel):
    """A reply in an issue's thread."""

    text: str = Field(min_length=1, max_length=10_000)


class CommentView(BaseModel):
    """A comment."""

    id: int
    author_id: int | None
    text: str
    at: datetime


class IssueView(BaseModel):
    """An issue and its thread."""

    id: int
    task_id: int
    frame: int
    region: Region
    author_id: int | None
    text: str
    created_at: datetime
    resolved: bool
    resolved_at: datetime | None
    resolved_by: int | None
    comments: list[CommentView]


def _access(auth: Auth) -> Access:
    assert auth.access is not None
    return auth.access


def _view(issue: ReviewIssue) -> IssueView:
    return IssueView(
        id=issue.id,
        task_id=issue.task_id,
        frame=issue.frame,
        region=Region(**issue.region),
        author_id=issue.author_id,
        text=issue.text,
        created_at=issue.created_at,
        resolved=issue.resolved,
        resolved_at=issue.resolved_at,
        resolved_by=issue.resolved_by,
        comments=[
            CommentView(id=c.id, author_id=c.author_id, text=c.text, at=c.at)
            for c in issue.comments
        ],
    )


@router.post("", status_code=201)
def open_issue(project_id: int, task_id: int, body: NewIssue, db: Db, auth: Reviewer) -> IssueView:
    """Pin an issue to a frame of the task and a region (reviewers and above)."""
    issue = review.open_issue(
        db,
        _access(auth),
        task_id,
        frame=body.frame,
        region=body.region.model_dump(),
        text=body.text,
    )
    return _view(issue)


@router.get("")
def list_issues(
    project_id: int, task_id: int, db: Db, auth: Member, open_only: bool = False
) -> list[IssueView]:
    """The task's issues with their comments (``open_only`` for the unresolved ones)."""
    found = review.list_issues(db, _access(auth), task_id, open_only=open_only)
    return [_view(issue) for issue in found]


@router.post("/{issue_id}/comments", status_code=201)
def add_comment(
    *, project_id: int, task_id: int, issue_id: int, body: NewComment, db: Db, auth: Member
) -> IssueView:
    """Reply in an issue's thread (anyone who sees the task)."""
    return _view(review.add_comment(db, _access(auth), task_id, issue_id, body.text))


@router.post("/{issue_id}/resolve")
def resolve_issue(
    project_id: int, task_id: int, issue_id: int, db: Db, auth: Reviewer
) -> IssueView:
    """Mark an issue resolved (reviewers and above); 409 when it already is."""
    return _view(review.resolve_issue(db, _access(auth), task_id, issue_id))
