"""Review: issues pinned to a frame and a region of a task, threads of comments, resolving.

Reviewers (by role) and above open and resolve issues; everyone who sees the task reads them and
comments (the annotator answers). Rejecting a task (``tasks.act``) sends it back with its open
issues, which the task's view counts (``open_issues``).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tweenlab.core.roles import Role
from tweenlab.errors import AccessDeniedError, ConflictError, FieldError, NotFoundError
from tweenlab.services.projects import Access
from tweenlab.services.tasks import visible_task
from tweenlab.store import ReviewComment, ReviewIssue, utc_now

__all__ = ["add_comment", "list_issues", "open_issue", "resolve_issue"]


def _check_reviews(access: Access) -> None:
    if not access.role.at_least(Role.REVIEWER):
        raise AccessDeniedError(f"a {access.role} does not review: reviewers and above do")


def open_issue(
    db: Session,
    access: Access,
    task_id: int,
    *,
    frame: int,
    region: dict[str, float],
    text: str,
) -> ReviewIssue:
    """Pin an issue to ``frame`` (within the task) and ``region`` (``x``, ``y``, ``w``, ``h``)."""
    task = visible_task(db, access, task_id)
    _check_reviews(access)
    if not task.start <= frame < task.stop:
        raise FieldError(
            "frame", f"frame {frame} is outside the task (frames {task.start}..{task.stop - 1})"
        )
    if not text.strip():
        raise FieldError("text", "say what is wrong")
    issue = ReviewIssue(
        task_id=task.id, frame=frame, region=region, author_id=access.user_id, text=text
    )
    db.add(issue)
    db.commit()
    return _issue(db, task.id, issue.id)


def list_issues(
    db: Session, access: Access, task_id: int, *, open_only: bool = False
) -> list[ReviewIssue]:
    """The task's issues with their comments, oldest first."""
    task = visible_task(db, access, task_id)
    query = (
        select(ReviewIssue)
        .where(ReviewIssue.task_id == task.id)
        .options(selectinload(ReviewIssue.comments))
        .order_by(ReviewIssue.id)
    )
    if open_only:
        query = query.where(ReviewIssue.resolved.is_(False))
    return list(db.scalars(query))


def _issue(db: Session, task_id: int, issue_id: int) -> ReviewIssue:
    issue = db.scalar(
        select(ReviewIssue)
        .where(ReviewIssue.id == issue_id, ReviewIssue.task_id == task_id)
        .options(selectinload(ReviewIssue.comments))
        .execution_options(populate_existing=True)
    )
    if issue is None:
        raise NotFoundError(f"task {task_id} has no issue {issue_id}")
    return issue


def add_comment(db: Session, access: Access, task_id: int, issue_id: int, text: str) -> ReviewIssue:
    """Add a comment to an issue's thread (anyone who sees the task); returns the issue."""
    task = visible_task(db, access, task_id)
    issue = _issue(db, task.id, issue_id)
    if not text.strip():
        raise FieldError("text", "a comment needs some text")
    db.add(ReviewComment(issue_id=issue.id, author_id=access.user_id, text=text))
    db.commit()
    return _issue(db, task.id, issue.id)


def resolve_issue(db: Session, access: Access, task_id: int, issue_id: int) -> ReviewIssue:
    """Mark an issue resolved (reviewers and above); 409 when it already is."""
    task = visible_task(db, access, task_id)
    _check_reviews(access)
    issue = _issue(db, task.id, issue_id)
    if issue.resolved:
        raise ConflictError(f"issue {issue_id} is already resolved")
    issue.resolved, issue.resolved_at, issue.resolved_by = True, utc_now(), access.user_id
    db.commit()
    return _issue(db, task.id, issue.id)
