"""Request and response bodies more than one router uses: accounts and the label schema.

Bodies are pydantic models (the HTTP boundary is the one place tweenlab uses pydantic for data);
views are built from store rows with ``model_validate(row)``. A label schema arrives typed field
by field, so a wrong type names its field, and is then checked by ``core.Schema`` itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from tweenlab.core.schema import AttributeKind, AttributeValue, Schema
from tweenlab.core.shapes import ShapeKind
from tweenlab.errors import AnnotationError

__all__ = ["AttributeBody", "LabelBody", "LabelSchema", "SkeletonBody", "UserView", "to_schema"]


class UserView(BaseModel):
    """An account as others see it (never its password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    is_admin: bool
    active: bool
    created_at: datetime


class AttributeBody(BaseModel):
    """One attribute of a label (``core.AttributeSpec``)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: AttributeKind
    values: list[str] = Field(default_factory=list, max_length=1000)
    default: AttributeValue | None = None
    per_frame: bool = False
    minimum: float = 0.0
    maximum: float = 100.0
    step: float = 1.0


class SkeletonBody(BaseModel):
    """A skeleton label's points (``core.SkeletonSpec``): their names in the order they are
    placed, and edges as pairs of point indices."""

    model_config = ConfigDict(extra="forbid")

    nodes: list[str] = Field(min_length=1, max_length=200)
    edges: list[tuple[int, int]] = Field(default_factory=list, max_length=1000)


class LabelBody(BaseModel):
    """One label (``core.LabelSpec``): name, ``#rrggbb`` colour, shape kinds, attributes, and
    for a skeleton label its points and edges."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    color: str = ""
    kinds: list[ShapeKind] = Field(default_factory=list)
    attributes: list[AttributeBody] = Field(default_factory=list, max_length=200)
    skeleton: SkeletonBody | None = None


def _checked(labels: list[LabelBody]) -> list[LabelBody]:
    to_schema(labels)
    return labels


def to_schema(labels: list[LabelBody]) -> Schema:
    """The ``core.Schema`` of validated label bodies (``ValueError`` if the schema rejects it)."""
    try:
        return Schema.from_json(label.model_dump() for label in labels)
    except AnnotationError as error:
        raise ValueError(str(error)) from None


LabelSchema = Annotated[list[LabelBody], Field(max_length=10_000), AfterValidator(_checked)]
