"""``/api/auth``: sign in (a session cookie and a CSRF token), sign out, who am I."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Depends, Request, Response
from pydantic import BaseModel, Field

from tweenlab.server.bodies import UserView
from tweenlab.server.deps import SESSION_COOKIE, Auth, Db, api_router, get_settings, require
from tweenlab.services import accounts
from tweenlab.settings import Settings

__all__ = ["router"]

router = api_router(prefix="/auth", tags=["auth"])


class Credentials(BaseModel):
    """E-mail and password."""

    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class SignedIn(BaseModel):
    """The account, and the CSRF token to send in ``X-CSRF-Token`` with unsafe requests."""

    user: UserView
    csrf_token: str
    expires_at: datetime


class Me(BaseModel):
    """The caller, how they authenticated, and (for a browser session) its CSRF token, so a
    reloaded page can go on writing; another site's page cannot read this answer."""

    user: UserView
    via: Literal["session", "token"]
    csrf_token: str | None = None


@router.post("/login")
def login(
    body: Credentials,
    request: Request,
    response: Response,
    db: Db,
    settings: Annotated[Settings, Depends(get_settings)],
) -> SignedIn:
    """Sign in; sets an HttpOnly, SameSite=Lax session cookie. 429 after repeated failures."""
    ip = request.client.host if request.client else "unknown"
    done = accounts.sign_in(db, settings, body.email, body.password, ip=ip)
    response.set_cookie(
        SESSION_COOKIE,
        done.session_id,
        max_age=settings.session_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )
    return SignedIn(
        user=UserView.model_validate(done.user),
        csrf_token=done.csrf_token,
        expires_at=done.expires_at,
    )


@router.post("/logout", status_code=204)
def logout(request: Request, db: Db, auth: Annotated[Auth, Depends(require())]) -> Response:
    """End the browser session and clear its cookie."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if auth.session is not None and cookie:
        accounts.sign_out(db, cookie)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


@router.get("/me")
def me(auth: Annotated[Auth, Depends(require())]) -> Me:
    """The signed-in account."""
    user = UserView.model_validate(auth.user)
    if auth.session is None:
        return Me(user=user, via="token")
    return Me(user=user, via="session", csrf_token=auth.session.csrf_token)
