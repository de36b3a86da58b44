"""``/api/health``: is the server up (no sign-in needed; touches no database)."""

from __future__ import annotations

import os

from pydantic import BaseModel

from tweenlab import __version__
from tweenlab.server.deps import api_router

__all__ = ["router"]

router = api_router(tags=["health"])


class Health(BaseModel):
    """The server answers."""

    status: str
    version: str
    process: int


@router.get("/health")
def health() -> Health:
    """Liveness: 200 while the server runs, and which of its processes answered."""
    return Health(status="ok", version=__version__, process=os.getpid())
