"""Alembic's environment: runs migrations on the connection ``tweenlab.store.migrate`` hands in.

There is no ``alembic.ini``: ``migrate.alembic_config`` builds the configuration in code and puts
an open connection in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from tweenlab.store.models import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through tweenlab.store.migrate (tweenlab db upgrade)")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
