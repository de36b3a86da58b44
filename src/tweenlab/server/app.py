"""``create_app(settings)``: the FastAPI application; nothing happens at import.

Start-up opens the database and refuses one whose schema is not this code's, naming
``tweenlab db upgrade``; then it recovers the jobs a killed server left unfinished (their
executor starts only then, or with the first job) and opens the frame server and the way to
videos in the storage (``StoredVideos``: its client opens with the first stored video).
Shutdown stops the executor (waiting for running jobs), closes the frame readers and the engine.

Routers come from ``routers.ROUTERS``, each under ``/api`` with one tag (the router's name); an
operation's id is ``<tag>_<function>``, so generated clients keep their method names while
routes move. Every path no route answers is the browser app: the static files of ``web/``
(plain ES modules, no build step) at ``/``, so one server serves the API and the editor.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from anyio import to_thread
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from tweenlab import __version__
from tweenlab.server.errors import ERROR_RESPONSES, install_error_handlers
from tweenlab.server.routers import ROUTERS
from tweenlab.services.frames import FrameServer
from tweenlab.services.jobs import DatabaseJobStore, JobHook, JobRunner
from tweenlab.services.predictions import finish_autolabel
from tweenlab.services.stored import StoredVideos
from tweenlab.services.videos import finish_ingest
from tweenlab.settings import Settings, load_settings
from tweenlab.store import Database, check_migrated

__all__ = ["WEB", "app_from_environment", "create_app", "operation_id"]

WEB = Path(__file__).with_name("web")
#: What runs, per job kind, in the transaction that changes a job's state.
JOB_HOOKS: dict[str, JobHook] = {"ingest": finish_ingest, "autolabel": finish_autolabel}


def operation_id(route: APIRoute) -> str:
    """``<router tag>_<function name>``, e.g. ``projects_create_project``."""
    assert route.tags, f"route {route.path} has no tag: give its router tags=[name]"
    return f"{route.tags[0]}_{route.name}"


def create_app(settings: Settings) -> FastAPI:
    """The tweenlab REST API over the database ``settings.database`` names."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(settings.database)
        jobs = JobRunner(DatabaseJobStore(database, JOB_HOOKS), settings)
        frames = FrameServer(settings)
        try:
            check_migrated(database.engine)
            app.state.db, app.state.jobs, app.state.frames = database, jobs, frames
            app.state.stored = StoredVideos(settings)
            jobs.start()
            # Routes and dependencies that block run in anyio's thread pool (40 threads by
            # default); a few threads serve as many requests with less turn-taking.
            to_thread.current_default_thread_limiter().total_tokens = settings.server_threads
            yield
        finally:
            jobs.shutdown()
            frames.close()
            database.dispose()

    app = FastAPI(
        title="tweenlab",
        version=__version__,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router, prefix="/api", responses=ERROR_RESPONSES)
    # the browser app answers what no route does (so routes added later still come first)
    app.router.default = StaticFiles(directory=WEB, html=True)
    return app


def app_from_environment() -> FastAPI:
    """``create_app`` with settings from ``TWEENLAB_*`` (uvicorn's factory for ``serve``)."""
    return create_app(load_settings())
