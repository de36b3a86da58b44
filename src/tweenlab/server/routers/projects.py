"""``/api/projects``: create, list (only your own; a site admin sees all), read, edit."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends
from pydantic import BaseModel, Field

from tweenlab.core.roles import Role
from tweenlab.server.bodies import LabelSchema, to_schema
from tweenlab.server.deps import Auth, Db, api_router, require
from tweenlab.services import projects
from tweenlab.store import Project

__all__ = ["router"]

router = api_router(prefix="/projects", tags=["projects"])


class NewProject(BaseModel):
    """A project: a name, its labels (``schema``) and annotation guidelines (Markdown)."""

    name: str = Field(min_length=1, max_length=200)
    label_schema: LabelSchema = Field(default_factory=list, alias="schema")
    guidelines: str = Field(default="", max_length=1_000_000)


class ProjectChange(BaseModel):
    """Fields to change; those left out stay as they are."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    label_schema: LabelSchema | None = Field(default=None, alias="schema")
    guidelines: str | None = Field(default=None, max_length=1_000_000)


class ProjectView(BaseModel):
    """A project and the caller's role in it."""

    id: int
    name: str
    label_schema: list[dict[str, Any]] = Field(serialization_alias="schema")
    guidelines: str
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    role: Role


def _view(project: Project, role: Role) -> ProjectView:
    return ProjectView(
        id=project.id,
        name=project.name,
        label_schema=project.label_schema,
        guidelines=project.guidelines,
        created_by=project.created_by,
        created_at=project.created_at,
        updated_at=project.updated_at,
        role=role,
    )


@router.post("", status_code=201, response_model_by_alias=True)
def create_project(
    body: NewProject, db: Db, auth: Annotated[Auth, Depends(require())]
) -> ProjectView:
    """Create a project; the caller becomes its owner."""
    schema = to_schema(body.label_schema)
    project = projects.create_project(
        db, auth.user, body.name, schema=schema, guidelines=body.guidelines
    )
    return _view(project, Role.OWNER)


@router.get("", response_model_by_alias=True)
def list_projects(db: Db, auth: Annotated[Auth, Depends(require())]) -> list[ProjectView]:
    """The projects the caller belongs to (every project for a site admin)."""
    return [_view(p, role) for p, role in projects.visible_projects(db, auth.user)]


@router.get("/{project_id}", response_model_by_alias=True)
def get_project(
    project_id: int, auth: Annotated[Auth, Depends(require(Role.ANNOTATOR))]
) -> ProjectView:
    """One project (any member)."""
    return _view(auth.project, auth.role)


class ExampleView(BaseModel):
    """An example frame of the guidelines and the address of its image."""

    video_id: int
    frame: int
    caption: str
    line: int
    available: bool
    image: str


class GuidelinesView(BaseModel):
    """The guidelines (Markdown) and the example frames they show, in order."""

    markdown: str
    examples: list[ExampleView]


@router.get("/{project_id}/guidelines")
def get_guidelines(
    project_id: int, db: Db, auth: Annotated[Auth, Depends(require(Role.ANNOTATOR))]
) -> GuidelinesView:
    """The project's guidelines (any member): Markdown in which ``![caption](frame:V/N)`` shows
    frame N of the project's video V; each such example comes with its image's address."""
    markdown = auth.project.guidelines
    found = projects.guideline_examples(db, auth.project, markdown, check=False)
    base = f"/api/projects/{project_id}/videos"
    return GuidelinesView(
        markdown=markdown,
        examples=[
            ExampleView(**asdict(e), image=f"{base}/{e.video_id}/frames/{e.frame}?max_side=640")
            for e in found
        ],
    )


@router.patch("/{project_id}", response_model_by_alias=True)
def update_project(
    project_id: int,
    body: ProjectChange,
    db: Db,
    auth: Annotated[Auth, Depends(require(Role.MANAGER))],
) -> ProjectView:
    """Change the name, label schema or guidelines (managers and owners). Guidelines may show
    example frames as ``![caption](frame:VIDEO/FRAME)``; one that names no frame of the
    project's videos answers 422 naming its line."""
    schema = to_schema(body.label_schema) if body.label_schema is not None else None
    project = projects.update_project(
        db, auth.project, name=body.name, schema=schema, guidelines=body.guidelines
    )
    return _view(project, auth.role)
