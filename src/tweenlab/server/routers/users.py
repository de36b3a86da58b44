"""``/api/users``: accounts, created and listed by a site admin."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from pydantic import BaseModel, Field

from tweenlab.server.bodies import UserView
from tweenlab.server.deps import Auth, Db, api_router, get_settings, require
from tweenlab.services import accounts
from tweenlab.settings import Settings

__all__ = ["router"]

router = api_router(prefix="/users", tags=["users"])
Admin = Annotated[Auth, Depends(require(admin=True))]


class NewUser(BaseModel):
    """A new account; ``is_admin`` makes a site owner."""

    email: str = Field(
        min_length=3, max_length=accounts.MAX_EMAIL_LENGTH, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    )
    name: str = Field(default="", max_length=accounts.MAX_NAME_LENGTH)
    password: str = Field(min_length=accounts.MIN_PASSWORD_LENGTH, max_length=1024)
    is_admin: bool = False


@router.post("", status_code=201)
def create_user(
    body: NewUser, db: Db, _auth: Admin, settings: Annotated[Settings, Depends(get_settings)]
) -> UserView:
    """Create an account (site admins only)."""
    user = accounts.create_user(
        db, settings, body.email, body.password, name=body.name, admin=body.is_admin
    )
    return UserView.model_validate(user)


@router.get("")
def list_users(db: Db, _auth: Admin) -> list[UserView]:
    """Every account (site admins only)."""
    return [UserView.model_validate(u) for u in accounts.list_users(db)]
