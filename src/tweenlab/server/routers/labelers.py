"""``/api/labelers``: the registered labelers a pre-label form offers (any signed-in account).

Each with a one-line description, the options it cannot run without (``model``: a file name in
the server's models folder; ``url``: an endpoint) and whether it is the default. The list comes
from ``plugins.registry("labelers")``, so a third-party labeler shows up once it is installed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from pydantic import BaseModel

from tweenlab.server.deps import Auth, api_router, require
from tweenlab.services.autolabel import describe_labelers

__all__ = ["router"]

router = api_router(prefix="/labelers", tags=["labelers"])
SignedIn = Annotated[Auth, Depends(require())]


class LabelerView(BaseModel):
    """One registered labeler."""

    name: str
    description: str
    needs: list[str]
    default: bool
    error: str | None


@router.get("")
def list_labelers(auth: SignedIn) -> list[LabelerView]:
    """The registered labelers, by name (a factory that cannot load says why in ``error``)."""
    del auth
    return [
        LabelerView(
            name=info.name,
            description=info.description,
            needs=list(info.needs),
            default=info.default,
            error=info.error,
        )
        for info in describe_labelers()
    ]
