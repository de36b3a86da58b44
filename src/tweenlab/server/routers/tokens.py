"""``/api/tokens``: the caller's API tokens for scripts (the secret is shown once)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from tweenlab.server.deps import Auth, Db, api_router, require
from tweenlab.services import accounts

__all__ = ["router"]

router = api_router(prefix="/tokens", tags=["tokens"])
Caller = Annotated[Auth, Depends(require())]


class NewToken(BaseModel):
    """A name to recognise the token by."""

    name: str = Field(min_length=1, max_length=200)


class TokenView(BaseModel):
    """A token without its secret."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class CreatedToken(TokenView):
    """A new token; ``token`` is its secret, shown this once (send it as ``Bearer <token>``)."""

    token: str


@router.post("", status_code=201)
def create_token(body: NewToken, db: Db, auth: Caller) -> CreatedToken:
    """Create an API token of the caller."""
    token, secret = accounts.create_token(db, auth.user, body.name)
    return CreatedToken.model_validate(
        {**TokenView.model_validate(token).model_dump(), "token": secret}
    )


@router.get("")
def list_tokens(db: Db, auth: Caller) -> list[TokenView]:
    """The caller's tokens, revoked ones included, newest first."""
    return [TokenView.model_validate(t) for t in accounts.list_tokens(db, auth.user)]


@router.delete("/{token_id}", status_code=204)
def revoke_token(token_id: int, db: Db, auth: Caller) -> Response:
    """Revoke one of the caller's tokens; it stops working at once."""
    accounts.revoke_token(db, auth.user, token_id)
    return Response(status_code=204)
