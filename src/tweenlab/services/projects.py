"""Projects and their members: create, see, edit the label schema and guidelines, manage roles.

``project_access`` is the one question every project route asks: which role does this user hold
here? A project the user is not a member of does not exist for them (``NotFoundError``), so its
existence never leaks; a site admin holds the owner's rights everywhere. Member changes keep
two rules: nobody grants a role above their own or changes a member above them, and a project
always keeps an owner.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from tweenlab.core.roles import Role
from tweenlab.core.schema import Schema
from tweenlab.errors import AccessDeniedError, ConflictError, FieldError, NotFoundError, UsageError
from tweenlab.store import Base, Membership, Project, Task, TrackRow, User, Video, utc_now

_Row = TypeVar("_Row", bound=Base)

__all__ = [
    "Access",
    "GuidelineExample",
    "access_from",
    "add_member",
    "create_project",
    "guideline_examples",
    "list_members",
    "loaded",
    "project_access",
    "remove_member",
    "set_role",
    "update_project",
    "visible_projects",
]


@dataclass(frozen=True)
class Access:
    """What a user may do in one project.

    A request's authorisation reads the ids, the role and the label schema in its one query; the
    ORM objects ``user`` and ``project`` are loaded through ``db`` the first time something asks
    for them. A save or a frame needs neither, and loading them was about a tenth of a frame
    request's CPU.

    Attributes:
        user_id: Who asks.
        project_id: The project.
        role: Their role there (``OWNER`` for a site admin who is not a member).
        label_schema: The project's label schema, as the authorisation read it.
        db: The session ``user`` and ``project`` are loaded through.
    """

    user_id: int
    project_id: int
    role: Role
    label_schema: list[dict[str, Any]] = field(hash=False)
    db: Session = field(repr=False, compare=False)

    @cached_property
    def user(self) -> User:
        """Who asks (loaded at the first ask)."""
        return loaded(self.db, User, self.user_id)

    @cached_property
    def project(self) -> Project:
        """The project (loaded at the first ask)."""
        return loaded(self.db, Project, self.project_id)


def loaded(db: Session, model: type[_Row], key: int) -> _Row:
    """``db.get(model, key)``; ``NotFoundError`` when the row is gone (deleted meanwhile)."""
    row = db.get(model, key)
    if row is None:
        raise NotFoundError(f"no {model.__name__.lower()} {key}")
    return row


_EXAMPLE = re.compile(r"!\[(?P<caption>[^\]]*)\]\(frame:(?P<video>\d+)/(?P<frame>\d+)\)")


@dataclass(frozen=True)
class GuidelineExample:
    """An example frame the guidelines show: ``![caption](frame:VIDEO/FRAME)`` in the Markdown.

    Attributes:
        video_id: A video of the project.
        frame: Its frame (exactly, by index).
        caption: The image's text.
        line: The Markdown line it is on (from 1).
        available: Whether the project still has that frame (a video may have been deleted
            since the guidelines were written).
    """

    video_id: int
    frame: int
    caption: str
    line: int
    available: bool = True


def guideline_examples(
    db: Session, project: Project, markdown: str, *, check: bool = True
) -> list[GuidelineExample]:
    """The example frames of guidelines, each checked to be a frame of a video of the project.

    Raises:
        FieldError: ``guidelines``, naming the line of a frame that does not exist (with
            ``check``; otherwise such an example comes back marked not ``available``).
    """
    examples = [
        GuidelineExample(int(m["video"]), int(m["frame"]), m["caption"].strip(), line)
        for line, text in enumerate(markdown.splitlines(), start=1)
        for m in _EXAMPLE.finditer(text)
    ]
    wanted = {e.video_id for e in examples}
    counts: dict[int, int] = {}
    if wanted and project.id is not None:
        rows = db.execute(
            select(Video.id, Video.frame_count).where(
                Video.project_id == project.id, Video.id.in_(wanted)
            )
        )
        counts = {video: count for video, count in rows}
    if not check:
        return [
            GuidelineExample(
                e.video_id, e.frame, e.caption, e.line, e.frame < counts.get(e.video_id, 0)
            )
            for e in examples
        ]
    for example in examples:
        if example.video_id not in counts:
            raise FieldError(
                "guidelines",
                f"line {example.line}: the project has no video {example.video_id}",
            )
        if example.frame >= counts[example.video_id]:
            raise FieldError(
                "guidelines",
                f"line {example.line}: video {example.video_id} has "
                f"{counts[example.video_id]} frames, no frame {example.frame}",
            )
    return examples


def create_project(
    db: Session, user: User, name: str, *, schema: Schema | None = None, guidelines: str = ""
) -> Project:
    """Create a project; its creator becomes its owner."""
    name = name.strip()
    if not name:
        raise UsageError("name: a project needs a name")
    if _EXAMPLE.search(guidelines):
        raise FieldError("guidelines", "a new project has no videos to show frames of yet")
    project = Project(
        name=name,
        label_schema=(schema or Schema(())).to_json(),
        guidelines=guidelines,
        created_by=user.id,
    )
    db.add(project)
    db.flush()
    db.add(Membership(project_id=project.id, user_id=user.id, role=Role.OWNER.value))
    db.commit()
    return project


def visible_projects(db: Session, user: User) -> list[tuple[Project, Role]]:
    """The projects ``user`` belongs to with their role (every project for an admin)."""
    if user.is_admin:
        mine = dict(_roles_of(db, user))
        projects = db.scalars(select(Project).order_by(Project.id))
        return [(p, mine.get(p.id, Role.OWNER)) for p in projects]
    rows = db.execute(
        select(Project, Membership.role)
        .join(Membership, Membership.project_id == Project.id)
        .where(Membership.user_id == user.id)
        .order_by(Project.id)
    )
    return [(project, Role(role)) for project, role in rows]


def _roles_of(db: Session, user: User) -> list[tuple[int, Role]]:
    rows = db.execute(
        select(Membership.project_id, Membership.role).where(Membership.user_id == user.id)
    )
    return [(project_id, Role(role)) for project_id, role in rows]


_ACCESS = (  # built once: every project route asks it
    select(Project, Membership.role)
    .outerjoin(
        Membership,
        (Membership.project_id == Project.id) & (Membership.user_id == bindparam("user_id")),
    )
    .where(Project.id == bindparam("project_id"))
)


def project_access(db: Session, user: User, project_id: int) -> Access:
    """The user's role in a project; ``NotFoundError`` when it is missing or not theirs."""
    row = db.execute(_ACCESS, {"user_id": user.id, "project_id": project_id}).first()
    project, role = row or (None, None)
    access = access_from(
        db, user.id, user.is_admin, project_id, project.label_schema if project else None, role
    )
    access.__dict__.update(user=user, project=project)  # at hand: not loaded again
    return access


def access_from(  # noqa: PLR0917
    db: Session,
    user_id: int,
    is_admin: bool,
    project_id: int,
    label_schema: list[dict[str, Any]] | None,
    role: str | None,
) -> Access:
    """``project_access`` from what a query found: the project's label schema (None: there is
    no such project) and the user's membership role there (None: not a member; a site admin is
    the owner)."""
    if label_schema is None or (role is None and not is_admin):
        raise NotFoundError(f"no project {project_id}")
    return Access(
        user_id, project_id, Role(role) if role is not None else Role.OWNER, label_schema, db
    )


def update_project(
    db: Session,
    project: Project,
    *,
    name: str | None = None,
    schema: Schema | None = None,
    guidelines: str | None = None,
) -> Project:
    """Change the name, label schema or guidelines (``None`` leaves a field as it is)."""
    if name is not None:
        if not name.strip():
            raise UsageError("name: a project needs a name")
        project.name = name.strip()
    if schema is not None:
        _refuse_dropping_used_labels(db, project, schema)
        project.label_schema = schema.to_json()
    if guidelines is not None:
        guideline_examples(db, project, guidelines)
        project.guidelines = guidelines
    project.updated_at = utc_now()
    db.commit()
    return project


def _refuse_dropping_used_labels(db: Session, project: Project, schema: Schema) -> None:
    """``ConflictError`` on ``schema`` where it drops a label stored tracks of the project
    still have: saving, reading the states of and exporting them all failed afterwards
    ("unknown label")."""
    kept = {label.name for label in schema.labels}
    dropped = {str(label["name"]) for label in project.label_schema} - kept
    if not dropped:
        return
    used = db.execute(
        select(TrackRow.label, func.count())
        .join(Task, Task.id == TrackRow.task_id)
        .where(Task.project_id == project.id, TrackRow.label.in_(dropped), ~TrackRow.deleted)
        .group_by(TrackRow.label)
        .order_by(TrackRow.label)
    ).all()
    if used:
        listed = ", ".join(f"{label!r} ({count} tracks)" for label, count in used)
        raise ConflictError(
            f"schema: drops labels tracks still have: {listed}; relabel or delete them first",
            field="schema",
        )


def list_members(db: Session, project: Project) -> list[Membership]:
    """The members of a project, highest role first, then by e-mail."""
    rows = db.scalars(
        select(Membership)
        .join(User, User.id == Membership.user_id)
        .where(Membership.project_id == project.id)
        .order_by(User.email)
    )
    return sorted(rows, key=lambda m: -Role(m.role).rank)


def add_member(db: Session, access: Access, email: str, role: Role) -> Membership:
    """Give the account with ``email`` a role in the project (not above the caller's own)."""
    _may_grant(access, role)
    user = db.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFoundError(f"no account {email.strip().lower()}")
    if _membership(db, access.project, user.id) is not None:
        raise ConflictError(f"{user.email} is already a member", field="email")
    member = Membership(project_id=access.project_id, user_id=user.id, role=role.value)
    db.add(member)
    db.commit()
    return member


def set_role(db: Session, access: Access, user_id: int, role: Role) -> Membership:
    """Change a member's role; the last owner cannot step down."""
    member = _member_to_change(db, access, user_id)
    _may_grant(access, role)
    if member.role == Role.OWNER and role != Role.OWNER:
        _keep_an_owner(db, access.project)
    member.role = role.value
    db.commit()
    return member


def remove_member(db: Session, access: Access, user_id: int) -> None:
    """Take a member out of the project; the last owner cannot be removed."""
    member = _member_to_change(db, access, user_id)
    if member.role == Role.OWNER:
        _keep_an_owner(db, access.project)
    db.delete(member)
    db.commit()


def _membership(db: Session, project: Project, user_id: int) -> Membership | None:
    query = select(Membership).where(
        Membership.project_id == project.id, Membership.user_id == user_id
    )
    return db.scalar(query)


def _member_to_change(db: Session, access: Access, user_id: int) -> Membership:
    member = _membership(db, access.project, user_id)
    if member is None:
        raise NotFoundError(f"user {user_id} is not a member of project {access.project_id}")
    if not access.role.at_least(member.role):
        raise AccessDeniedError(f"a {access.role} cannot change a {member.role}")
    return member


def _may_grant(access: Access, role: Role) -> None:
    if not access.role.at_least(role):
        raise AccessDeniedError(f"a {access.role} cannot grant the role {role}")


def _keep_an_owner(db: Session, project: Project) -> None:
    # Lock the project row first (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises), so
    # two owners stepping down at once cannot both see the other still there.
    db.execute(select(Project.id).where(Project.id == project.id).with_for_update())
    owners = db.scalar(
        select(func.count()).where(
            Membership.project_id == project.id, Membership.role == Role.OWNER.value
        )
    )
    if (owners or 0) <= 1:
        raise ConflictError("a project keeps at least one owner", field="role")
