"""What routes depend on: the database session, the settings, and the one authorisation check.

Dependencies that do no I/O are ``async``: FastAPI runs them on the event loop instead of
handing each to a worker thread (a hand-off costs CPU and, under load, a wait for the GIL). The
database session is one of them: it connects at its first statement, in the route's thread.

Every route that needs a signed-in caller declares ``Depends(require(...))`` and nothing else
decides access. The dependency refuses missing or malformed credentials at once and hands the
route a ``Pending`` check, which the route's ``AuthorisedRoute`` (every router is made by
``api_router``) runs in the same worker thread as the route's body, just before it:

- ``require()``: any signed-in, active account.
- ``require(admin=True)``: a site admin (``tweenlab user create --role owner``).
- ``require("annotator" | "reviewer" | "manager" | "owner")``: a member of the project named by
  the route's ``{project_id}`` path parameter with at least that role. A project the caller is
  not a member of answers 404, exactly like one that does not exist; a member whose role is too
  low gets 403.

Credentials: ``Authorization: Bearer <token>`` (scripts; no CSRF check, browsers never send it by
themselves) or the session cookie, in which case every unsafe method (POST, PUT, PATCH, DELETE)
must carry the session's CSRF token in ``X-CSRF-Token`` (double submit: the token comes in the
sign-in response body, which another site's page cannot read).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from tweenlab.core.roles import Role
from tweenlab.errors import AccessDeniedError, AuthenticationError, NotFoundError
from tweenlab.server.errors import check_request
from tweenlab.services import accounts
from tweenlab.services.frames import FrameServer
from tweenlab.services.jobs import JobRunner
from tweenlab.services.projects import Access, access_from, loaded
from tweenlab.services.stored import StoredVideos
from tweenlab.settings import Settings
from tweenlab.store import BrowserSession, Database, Project, User, checks_first

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "Auth",
    "AuthorisedRoute",
    "Db",
    "Frames",
    "Jobs",
    "Pending",
    "Stored",
    "api_router",
    "frames_of",
    "get_db",
    "get_frames",
    "get_jobs",
    "get_settings",
    "get_stored",
    "require",
    "session_of",
    "settings_of",
    "stored_of",
]

SESSION_COOKIE = "tweenlab_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SESSION_KEY = "tweenlab.session"


async def get_settings(request: Request) -> Settings:
    """The settings ``create_app`` was given."""
    return settings_of(request)


def settings_of(request: Request) -> Settings:
    """``get_settings`` for a route that reads it from its request: a hot route does, since
    FastAPI's solving of each dependency costs a request more than the reading."""
    settings = request.app.state.settings
    assert isinstance(settings, Settings)
    return settings


async def get_db(request: Request) -> Session:
    """A session for this request, closed by its route (``AuthorisedRoute``) once the body is
    done, in the body's own worker thread: anything left over is rolled back there.

    A GET or HEAD gets a deferred transaction: on SQLite it reads a snapshot without queueing
    for the write lock, so frames and reads are served while others save. The session connects
    at its first statement, so one whose route never ran (a refused request body) holds nothing.
    (A plain dependency, not a ``yield``: FastAPI's exit stack for one cost about 7% of a
    request's CPU on the event loop.)
    """
    return session_of(request)


def session_of(request: Request) -> Session:
    """``get_db``'s session, made at the first ask and kept in the request's scope: ``require``
    takes it from there rather than as a dependency of its own (each dependency FastAPI solves
    costs a request about 2% of its CPU)."""
    session = request.scope.get(_SESSION_KEY)
    if session is None:
        database = request.app.state.db
        assert isinstance(database, Database)
        session = database.new_session(readonly=request.method in SAFE_METHODS)
        request.scope[_SESSION_KEY] = session
    assert isinstance(session, Session)
    return session


Db = Annotated[Session, Depends(get_db)]


async def get_jobs(request: Request) -> JobRunner:
    """The application's job runner (its executor starts with the first job)."""
    jobs = request.app.state.jobs
    assert isinstance(jobs, JobRunner)
    return jobs


async def get_frames(request: Request) -> FrameServer:
    """The application's frame server (open readers shared by every request)."""
    return frames_of(request)


def frames_of(request: Request) -> FrameServer:
    """``get_frames`` for a route that reads it from its request (see ``settings_of``)."""
    frames = request.app.state.frames
    assert isinstance(frames, FrameServer)
    return frames


async def get_stored(request: Request) -> StoredVideos:
    """The application's way to videos in the storage (one client, what was fetched known)."""
    return stored_of(request)


def stored_of(request: Request) -> StoredVideos:
    """``get_stored`` for a route that reads it from its request (see ``settings_of``)."""
    stored = request.app.state.stored
    assert isinstance(stored, StoredVideos)
    return stored


Jobs = Annotated[JobRunner, Depends(get_jobs)]
Frames = Annotated[FrameServer, Depends(get_frames)]
Stored = Annotated[StoredVideos, Depends(get_stored)]


@dataclass(frozen=True)
class Auth:
    """Who is calling and, on project routes, their access to the project in the path.

    Attributes:
        user_id: The signed-in account.
        session: The browser session, or None when a bearer token was used.
        access: The project of the path and the caller's role there (project routes only).
        db: The request's session, through which ``user`` is loaded when a route asks for it
            (on a project route the authorisation reads the account's id, not its object).
    """

    user_id: int
    session: BrowserSession | None
    access: Access | None = None
    db: Session | None = field(default=None, repr=False, compare=False)

    @cached_property
    def user(self) -> User:
        """The signed-in account (loaded at the first ask on a project route)."""
        if self.access is not None:
            return self.access.user
        assert self.db is not None
        return loaded(self.db, User, self.user_id)

    @property
    def project(self) -> Project:
        """The project of the path (only on routes that ``require`` a role)."""
        assert self.access is not None, "this route does not require a project role"
        return self.access.project

    @property
    def project_id(self) -> int:
        """The id of the project of the path (only on routes that ``require`` a role)."""
        assert self.access is not None, "this route does not require a project role"
        return self.access.project_id

    @property
    def role(self) -> Role:
        """The caller's role in the project of the path."""
        assert self.access is not None, "this route does not require a project role"
        return self.access.role


def require(
    role_at_least: Role | str | None = None, *, admin: bool = False
) -> Callable[[Request], Awaitable[Pending]]:
    """The dependency that authorises a route (see the module docstring)."""
    needed = Role(role_at_least) if role_at_least is not None else None

    async def authorise(request: Request) -> Pending:
        token = _bearer_token(request)  # none, or a malformed header: 401 before anything else
        return Pending(request, session_of(request), token, needed, admin)

    return authorise


class Pending:
    """A route's authorisation, checked by ``AuthorisedRoute`` in the route's own thread.

    The check reads the database, so it runs in a worker thread; the route's body runs in one
    too. Checked in the same thread, just before the body, a request is handed to a thread once
    rather than twice (a hand-off cost about 7% of a request's CPU on the event loop). The route
    gets the ``Auth``, never this: ``AuthorisedRoute`` swaps it in, and a test checks that every
    route of the app is one.
    """

    def __init__(
        self, request: Request, db: Session, token: str | None, needed: Role | None, admin: bool
    ) -> None:
        self.request, self.db, self.token = request, db, token
        self.needed, self.admin = needed, admin
        self.auth: Auth | None = None

    def check(self) -> Auth:
        """The caller and their access, or the error that refuses them (checked once)."""
        if self.auth is None:
            self.auth = self._check()
        return self.auth

    def _check(self) -> Auth:
        request, db, needed = self.request, self.db, self.needed
        raw = request.path_params.get("project_id") if needed is not None else None
        project_id = _integer(raw)
        with checks_first(db):  # a write request's checks do not hold SQLite's write lock
            caller = _authenticate(request, db, self.token, project_id)
        if self.admin and not caller.is_admin:
            raise AccessDeniedError("only a site admin may do this")
        if needed is None or project_id is None:
            auth = Auth(caller.user_id, caller.session, db=db)
            if caller.user is not None:
                auth.__dict__["user"] = caller.user  # loaded by the query: not again
            if needed is None:
                return auth
            assert raw is not None, "require(role) is for routes under /projects/{project_id}"
            raise NotFoundError(f"no project {raw!r}")
        access = access_from(
            db, caller.user_id, caller.is_admin, project_id, caller.label_schema, caller.role
        )
        if not access.role.at_least(needed):
            raise AccessDeniedError(f"needs the role {needed} or above; you are {access.role}")
        return Auth(caller.user_id, caller.session, access, db)


class AuthorisedRoute(APIRoute):
    """A route whose ``Pending`` authorisations are checked before its body runs.

    A ``def`` route's check and body run in one worker thread, handed off once by an ``async``
    wrapper: FastAPI then also validates the response on the event loop, where it would hand a
    ``def`` route's response to a thread a second time (a model instance of the right type is
    returned as it is, at little cost). An ``async`` route's checks are one hand-off before it.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _checking(endpoint), **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, after ``check_request`` (what its validation lets through)."""
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            await check_request(request)
            return await handler(request)

        return checked


def _checking(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` with its ``Pending`` arguments replaced by their ``Auth``, and the request's
    database sessions closed when it is done; FastAPI reads the parameters of ``endpoint`` itself
    (``functools.wraps`` sets ``__wrapped__``)."""
    if inspect.iscoroutinefunction(endpoint):

        @functools.wraps(endpoint)
        async def checked_async(*args: Any, **kwargs: Any) -> Any:
            sessions = _sessions(kwargs)
            try:
                if any(isinstance(v, Pending) for v in kwargs.values()):
                    await run_in_threadpool(_check_all, kwargs)
                return await endpoint(*args, **kwargs)
            finally:
                for session in sessions:
                    if session.in_transaction():  # its rollback is I/O: in a worker thread
                        with anyio.CancelScope(shield=True):
                            await run_in_threadpool(session.close)
                    else:
                        session.close()

        return checked_async

    def checked(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        sessions = _sessions(kwargs)
        try:
            _check_all(kwargs)
            return endpoint(*args, **kwargs)
        finally:
            for session in sessions:
                session.close()

    @functools.wraps(endpoint)
    async def offloaded(*args: Any, **kwargs: Any) -> Any:
        # Cancelled (the client went away), the thread still runs to its end and closes the
        # sessions itself: nothing is released while it uses them.
        return await run_in_threadpool(checked, args, kwargs)

    return offloaded


def _sessions(kwargs: dict[str, Any]) -> list[Session]:
    """The database sessions of a route's arguments (its own, and its checks')."""
    found: dict[int, Session] = {}
    for value in kwargs.values():
        session = value.db if isinstance(value, Pending) else value
        if isinstance(session, Session):
            found[id(session)] = session
    return list(found.values())


def _check_all(kwargs: dict[str, Any]) -> None:
    for name, value in kwargs.items():
        if isinstance(value, Pending):
            kwargs[name] = value.check()


def api_router(**kwargs: Any) -> APIRouter:
    """An ``APIRouter`` of ``AuthorisedRoute``s: every router of the app is made by this."""
    return APIRouter(route_class=AuthorisedRoute, **kwargs)


def _bearer_token(request: Request) -> str | None:
    """The API token of ``Authorization: Bearer``, or None for a session cookie; a request with
    neither, or a malformed header, is refused."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise AuthenticationError("Authorization must be 'Bearer <API token>'")
        return secret.strip()
    if not request.cookies.get(SESSION_COOKIE):
        raise AuthenticationError("not signed in")
    return None


def _authenticate(
    request: Request, db: Session, token: str | None, project_id: int | None
) -> accounts.Caller:
    """Who is calling (and what they are in ``project_id``): one query. ``token`` is what
    ``_bearer_token`` found; without one, the session cookie (present, it checked) is used."""
    if token is not None:
        return accounts.caller_for_token(db, token, project_id=project_id)
    cookie = request.cookies[SESSION_COOKIE]
    caller = accounts.caller_for_session(db, cookie, project_id=project_id)
    assert caller.session is not None
    if request.method not in SAFE_METHODS and not accounts.csrf_matches(
        caller.session, request.headers.get(CSRF_HEADER)
    ):
        raise AccessDeniedError(f"the {CSRF_HEADER} header is missing or wrong")
    return caller


def _integer(raw: str | None) -> int | None:
    """The project id of the path (None when there is none or it is not an integer)."""
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None
