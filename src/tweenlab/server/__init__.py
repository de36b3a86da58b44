"""The REST server: FastAPI routers over the services, one per resource.

``create_app(settings)`` builds the application (``tweenlab serve`` runs it on uvicorn through
``app_from_environment``). Routes parse, authorise through ``deps.require`` and call a service;
errors become responses in ``errors``.
"""

from tweenlab.server.app import app_from_environment, create_app

__all__ = ["app_from_environment", "create_app"]
