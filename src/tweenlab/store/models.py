"""The tables, as SQLAlchemy 2 typed models; their history lives in ``store/migrations``.

Accounts (users, API tokens, browser sessions, failed sign-ins), projects (label schema,
guidelines, members with roles), videos and jobs. Later tables (tasks, track rows with
revisions, the journal) are added here and by a new migration each, never by editing an applied
one.

Conventions every table follows: integer ``id`` primary keys; times are ``UtcDateTime`` (stored
in UTC, read back timezone-aware on SQLite too); enumerations are strings with a CHECK
constraint; constraint names come from ``NAMING`` so migrations name them the same on SQLite
and PostgreSQL; secrets (tokens, session ids) are stored only as SHA-256 hex digests.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from tweenlab.core.roles import Role

__all__ = [
    "JOB_STATES",
    "NAMING",
    "VIDEO_ORIGINS",
    "VIDEO_STATUSES",
    "ApiToken",
    "Base",
    "BrowserSession",
    "HeartbeatRow",
    "Job",
    "JournalRow",
    "LoginFailure",
    "Membership",
    "Project",
    "ReviewComment",
    "ReviewIssue",
    "Task",
    "TaskEventRow",
    "TrackRow",
    "User",
    "UtcDateTime",
    "Video",
    "utc_now",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
ROLES = ", ".join(f"'{role.value}'" for role in Role)
#: A job's states (``tweenlab.jobs.JobState``; the store may not import the jobs package).
JOB_STATES = ("queued", "running", "succeeded", "failed", "cancelled")
#: A video's states: stored and probed, being ingested, ready to serve, ingest failed.
VIDEO_STATUSES = ("uploaded", "ingesting", "ready", "failed")
#: Where a video's file lives: uploaded (under the upload folder) or registered (media root).
VIDEO_ORIGINS = ("upload", "register")


def _one_of(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC (what every time column holds)."""
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite drops the zone; this restores it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store times as timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Base of every model; its ``metadata`` is what migrations are compared against."""

    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    """An account. ``is_admin`` marks a site owner: creates accounts, sees every project."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class ApiToken(Base):
    """A bearer token for scripts; only its SHA-256 is stored, the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    user: Mapped[User] = relationship()


class BrowserSession(Base):
    """A signed-in browser: the cookie holds a random id, this row its SHA-256 and CSRF token."""

    __tablename__ = "sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)

    user: Mapped[User] = relationship()


class LoginFailure(Base):
    """One failed sign-in, counted per e-mail and address so the limit holds across processes."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_email_ip_at", "email", "ip", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class Project(Base):
    """A labelling project: its label schema (``Schema.to_json()``), guidelines (Markdown) and
    pay rates."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    label_schema: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    guidelines: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, onupdate=utc_now)
    #: The pay rate table (``services.pay``): currency, project default and per-person rates.
    pay_rates: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class Membership(Base):
    """A user's role in a project; one row per (project, user)."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("project_id", "user_id"),
        CheckConstraint(f"role IN ({ROLES})", name="role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)

    user: Mapped[User] = relationship()


class Job(Base):
    """A job row (the fields of ``tweenlab.jobs.JobRecord``), with the project it belongs to.

    Written by the server process that runs the job (``owner``, which beats ``heartbeat_at``);
    read by any. Another process asks it to stop through ``cancel_requested``.
    """

    __tablename__ = "jobs"
    __table_args__ = (CheckConstraint(f"state IN ({_one_of(JOB_STATES)})", name="state"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), index=True)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=True, index=True
    )
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Video(Base):
    """A video of a project: where its file is, what probing found, and its ingest state.

    ``stored_path`` is relative to its origin's root (the upload folder for uploads, under a
    name the server generated; the media root for registered files), or, for an upload kept in
    the storage (``TWEENLAB_STORAGE_URL``), its key there (``uploads/<generated name>``);
    ``original_name`` is the client's file name, for display only and never used as a path.
    """

    __tablename__ = "videos"
    __table_args__ = (
        CheckConstraint(f"status IN ({_one_of(VIDEO_STATUSES)})", name="status"),
        CheckConstraint(f"origin IN ({_one_of(VIDEO_ORIGINS)})", name="origin"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    origin: Mapped[str] = mapped_column(String(16))
    stored_path: Mapped[str] = mapped_column(String(1000))
    original_name: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    frame_count: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    fps: Mapped[str] = mapped_column(String(32))
    duration: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    ingest_job_id: Mapped[str | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True
    )
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


# -- tasks, annotations, review, activity (migration v0002t) ----------------------------------

TASK_KINDS = "'normal', 'ground_truth', 'training', 'consensus'"
TASK_STATES = "'new', 'in_progress', 'submitted', 'in_review', 'accepted', 'rejected', 'rework'"
TASK_ACTIONS = "'assign', 'start', 'submit', 'take_review', 'release', 'accept', 'reject', 'reopen'"
JOURNAL_OPS = "'create', 'update', 'delete'"


class Task(Base):
    """Frames ``start .. stop - 1`` of one video, given to an annotator (and a reviewer).

    ``revision`` counts the annotation writes to the task (one per journal row), so a client can
    tell with one number whether anything changed. ``video_id`` has no foreign key yet and
    ``frame_count`` copies the video's length: both are temporary until the videos table lands.
    """

    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint(f"kind IN ({TASK_KINDS})", name="kind"),
        CheckConstraint(f"state IN ({TASK_STATES})", name="state"),
        CheckConstraint("0 <= start AND start < stop AND stop <= frame_count", name="frames"),
        Index("ix_tasks_project_id_video_id", "project_id", "video_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    video_id: Mapped[int] = mapped_column(Integer)
    frame_count: Mapped[int] = mapped_column(Integer)
    start: Mapped[int] = mapped_column(Integer)
    stop: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16), default="normal")
    state: Mapped[str] = mapped_column(String(16), default="new")
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    reviewer_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    revision: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, onupdate=utc_now)


class TaskEventRow(Base):
    """One action taken on a task (``workflow.TaskEvent``): who, when, from which state to which."""

    __tablename__ = "task_events"
    __table_args__ = (
        CheckConstraint(f"action IN ({TASK_ACTIONS})", name="action"),
        CheckConstraint(f"from_state IN ({TASK_STATES})", name="from_state"),
        CheckConstraint(f"to_state IN ({TASK_STATES})", name="to_state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    action: Mapped[str] = mapped_column(String(16))
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")

    actor: Mapped[User | None] = relationship()


class TrackRow(Base):
    """One track of a task: its native JSON (``Track.to_json``) and its revision.

    A write names the revision it was based on and succeeds only if the row is still at it
    (compare and swap); a deleted track stays as a tombstone so its revision keeps counting.
    """

    __tablename__ = "tracks"
    __table_args__ = (UniqueConstraint("task_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class JournalRow(Base):
    """One change of a track: who, when, the revision it made, the track before and after.

    ``before`` is null for a track that did not exist (or was deleted), ``after`` for one that
    no longer does. ``undoes`` names the change an undo reverted.
    """

    __tablename__ = "journal"
    __table_args__ = (
        CheckConstraint(f"op IN ({JOURNAL_OPS})", name="op"),
        Index("ix_journal_task_id_actor_id", "task_id", "actor_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    revision: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    op: Mapped[str] = mapped_column(String(8))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    undoes: Mapped[int | None] = mapped_column(
        ForeignKey("journal.id", ondelete="SET NULL"), nullable=True, unique=True
    )

    actor: Mapped[User | None] = relationship()


class ReviewIssue(Base):
    """A reviewer's remark pinned to a frame and a region (``{"x", "y", "w", "h"}``)."""

    __tablename__ = "review_issues"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    frame: Mapped[int] = mapped_column(Integer)
    region: Mapped[dict[str, Any]] = mapped_column(JSON)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    resolved_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )

    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    comments: Mapped[list[ReviewComment]] = relationship(order_by="ReviewComment.id")


class ReviewComment(Base):
    """A reply in the thread of a review issue."""

    __tablename__ = "review_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issue_id: Mapped[int] = mapped_column(
        ForeignKey("review_issues.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)

    author: Mapped[User | None] = relationship()


class HeartbeatRow(Base):
    """The editor's "still working" for ``user_id`` on ``task_id`` (``workflow.Heartbeat``)."""

    __tablename__ = "heartbeats"
    __table_args__ = (Index("ix_heartbeats_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
