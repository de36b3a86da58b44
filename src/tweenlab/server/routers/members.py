"""``/api/projects/{project_id}/members``: who works on a project, in which role."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Response
from pydantic import BaseModel, Field

from tweenlab.core.roles import Role
from tweenlab.server.bodies import UserView
from tweenlab.server.deps import Auth, Db, api_router, require
from tweenlab.services import projects
from tweenlab.store import Membership

__all__ = ["router"]

router = api_router(prefix="/projects/{project_id}/members", tags=["members"])
Member = Annotated[Auth, Depends(require(Role.ANNOTATOR))]
Manager = Annotated[Auth, Depends(require(Role.MANAGER))]


class NewMember(BaseModel):
    """An existing account to add, and its role."""

    email: str = Field(min_length=3, max_length=320)
    role: Role


class RoleChange(BaseModel):
    """The new role."""

    role: Role


class MemberView(BaseModel):
    """A member: the account and its role in the project."""

    user: UserView
    role: Role


def _view(member: Membership) -> MemberView:
    return MemberView(user=UserView.model_validate(member.user), role=Role(member.role))


@router.get("")
def list_members(project_id: int, db: Db, auth: Member) -> list[MemberView]:
    """The project's members, highest role first (any member)."""
    return [_view(m) for m in projects.list_members(db, auth.project)]


@router.post("", status_code=201)
def add_member(project_id: int, body: NewMember, db: Db, auth: Manager) -> MemberView:
    """Add an account in a role no higher than the caller's (managers and owners)."""
    assert auth.access is not None
    return _view(projects.add_member(db, auth.access, body.email, body.role))


@router.patch("/{user_id}")
def change_role(
    project_id: int, user_id: int, body: RoleChange, db: Db, auth: Manager
) -> MemberView:
    """Change a member's role; the last owner cannot step down (409)."""
    assert auth.access is not None
    return _view(projects.set_role(db, auth.access, user_id, body.role))


@router.delete("/{user_id}", status_code=204)
def remove_member(project_id: int, user_id: int, db: Db, auth: Manager) -> Response:
    """Remove a member; the last owner cannot be removed (409)."""
    assert auth.access is not None
    projects.remove_member(db, auth.access, user_id)
    return Response(status_code=204)
