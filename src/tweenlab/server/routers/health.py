"""``/api/health``: is the server up (no sign-in needed; touches no database)."""

from __future__ import annotations

import os

from fastapi import APIRouter
from pydantic import BaseModel

from tweenlab import __version__

__all__ = ["router"]

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """The server answers."""

    status: str
    version: str
    process: int


@router.get("/health")
def health() -> Health:
    """Liveness: 200 while the server runs, and which of its processes answered."""
    return Health(status="ok", version=__version__, process=os.getpid())
