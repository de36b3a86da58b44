"""One router per resource; ``ROUTERS`` is the list ``create_app`` mounts under ``/api``.

To add a resource: write ``routers/<name>.py`` with ``router = deps.api_router(tags=["<name>"])``
(its routes are ``deps.AuthorisedRoute``s), authorise each route with
``Depends(deps.require(...))`` and add the router here.
"""

from fastapi import APIRouter

from tweenlab.server.routers import (
    activity,
    annotations,
    auth,
    exports,
    frames,
    guidance,
    health,
    jobs,
    labelers,
    members,
    pay,
    predictions,
    projects,
    quality,
    review,
    tasks,
    tokens,
    users,
    videos,
)

__all__ = ["ROUTERS"]

#: FastAPI tries the routes in this order, so the busiest come first (an editor reads frames
#: and saves tracks many times a second); no two routers' routes answer the same request
#: (tests/server/test_projects.py), so the order decides nothing else.
ROUTERS: tuple[APIRouter, ...] = (
    frames.router,
    annotations.router,
    health.router,
    auth.router,
    tokens.router,
    users.router,
    projects.router,
    members.router,
    videos.router,
    jobs.router,
    tasks.router,
    guidance.router,
    labelers.router,
    predictions.router,
    review.router,
    activity.router,
    quality.router,
    pay.router,
    exports.router,
)
