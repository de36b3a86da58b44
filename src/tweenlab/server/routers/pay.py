"""Pay (``/api/projects/{project_id}/pay/...``): the project's rate table (``rates``: read by
members, set by managers and owners) and a person's statement for a period (``statement``:
managers and owners, or the person themself), as JSON or CSV. Amounts are decimal strings."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Response
from pydantic import BaseModel, Field

from tweenlab.core.roles import Role
from tweenlab.server.deps import Auth, Db, api_router, require
from tweenlab.services import pay
from tweenlab.services.projects import Access
from tweenlab.store import utc_now
from tweenlab.workflow import Basis

__all__ = ["router"]

router = api_router(prefix="/projects/{project_id}/pay", tags=["pay"])
Member = Annotated[Auth, Depends(require(Role.ANNOTATOR))]
Manager = Annotated[Auth, Depends(require(Role.MANAGER))]
Amount = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^\d+(\.\d+)?$")]


class RateBody(BaseModel):
    """An amount (a decimal string such as ``"12.50"``) per accepted task or per active hour."""

    basis: Basis
    amount: Amount


class RatesBody(BaseModel):
    """The project's rate table: currency, default rate, rates per person (user id -> rate)."""

    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    default: RateBody | None = None
    people: dict[int, RateBody] = Field(default_factory=dict, max_length=100_000)


def _access(auth: Auth) -> Access:
    assert auth.access is not None
    return auth.access


@router.get("/rates")
def get_rates(project_id: int, auth: Member) -> dict[str, Any]:
    """The project's rate table."""
    return pay.get_rates(_access(auth))


@router.put("/rates")
def set_rates(project_id: int, body: RatesBody, db: Db, auth: Manager) -> dict[str, Any]:
    """Replace the project's rate table (managers and owners)."""
    stored = body.model_dump(mode="json")
    stored["people"] = {str(uid): rate for uid, rate in stored["people"].items()}
    return pay.set_rates(db, _access(auth), stored)


@router.get("/statement", response_model=None)
def statement(
    project_id: int,
    *,
    db: Db,
    auth: Member,
    person: Annotated[int | None, Query(ge=1)] = None,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    stop: Annotated[datetime | None, Query(alias="to")] = None,
    format: Literal["json", "csv"] = "json",
) -> dict[str, Any] | Response:
    """What ``person`` (by default the caller) is paid for tasks first accepted from ``from`` to
    ``to`` (the last 30 days by default): JSON, or CSV (``text/csv``) with one row per task."""
    access = _access(auth)
    stop = stop or utc_now()
    start = start or stop - timedelta(days=30)
    result = pay.person_statement(db, access, person or access.user_id, start, stop)
    if format == "csv":
        name = f"pay-{result.person}-{start.date()}-{stop.date()}.csv"
        return Response(
            result.to_csv(),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return result.to_json()
