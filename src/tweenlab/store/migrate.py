"""Schema migrations: Alembic, with its scripts inside the package and no ``alembic.ini``.

``upgrade(url)`` brings a database to the newest revision (``tweenlab db upgrade``);
``current_revision`` and ``is_migrated`` tell the server whether it may start. A new migration
is a new file in ``migrations/versions/`` (``revision``, ``down_revision``, ``upgrade()``,
``downgrade()``), written by ``alembic_config`` + ``alembic.command.revision(autogenerate=True)``
against a migrated database, then read and tidied by hand.
"""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from tweenlab.errors import NotMigratedError, StoreError
from tweenlab.store.database import database_error_reason, make_engine, shown_url

__all__ = [
    "UPGRADE_COMMAND",
    "alembic_config",
    "check_migrated",
    "current_revision",
    "head_revision",
    "is_migrated",
    "upgrade",
]

MIGRATIONS = Path(__file__).with_name("migrations")
UPGRADE_COMMAND = "tweenlab db upgrade"
# pg_advisory_xact_lock's key for "a tweenlab migration runs" (any constant; this one spells it)
_MIGRATION_LOCK = 0x7477_6E6C_6162


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for tweenlab's scripts, optionally bound to ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("file_template", "v%%(rev)s_%%(slug)s")
    config.attributes["connection"] = connection
    return config


@functools.cache
def head_revision() -> str:
    """The newest revision this code knows (read from the scripts once per process: loading
    them costs a server process about 8 MB, and they do not change under it)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "tweenlab ships at least one migration"
    return head


def upgrade(url: str, revision: str = "head") -> str:
    """Migrate the database at ``url`` to ``revision`` (the newest by default); returns it.

    Upgrades run one at a time: on PostgreSQL each takes an advisory lock for its transaction
    (server replicas or init containers that all run ``tweenlab db upgrade`` wait for the first,
    then find nothing to do); on SQLite the transaction holds the file's writer queue.

    Raises:
        NotMigratedError: The database is at a revision this code does not know (a newer one).
        StoreError: It cannot be reached or migrated; the message has the driver's reason.
    """
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
                )
            _check_known(connection, shown_url(url))
            command.upgrade(alembic_config(connection), revision)
        return current_revision(engine) or "base"
    except SQLAlchemyError as error:
        reason = database_error_reason(error)
        raise StoreError(f"cannot migrate {shown_url(url)}: {reason}") from error
    finally:
        engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_migrated(engine: Engine) -> bool:
    """True when the database is at exactly this code's newest revision."""
    return current_revision(engine) == head_revision()


def check_migrated(engine: Engine) -> None:
    """Raise ``NotMigratedError`` naming ``tweenlab db upgrade`` unless the schema is current."""
    where = shown_url(engine.url)
    try:
        current = current_revision(engine)
    except SQLAlchemyError as error:
        reason = database_error_reason(error)
        raise StoreError(f"cannot open the database {where}: {reason}") from error
    head = head_revision()
    if current == head:
        return
    if current is None:
        raise NotMigratedError(f"the database {where} is not set up: run `{UPGRADE_COMMAND}`")
    _check_known_revision(current, where)
    raise NotMigratedError(
        f"the database {where} is at revision {current}, not {head}: run `{UPGRADE_COMMAND}`"
    )


def _check_known(connection: Connection, where: str) -> None:
    """Refuse a database that a newer tweenlab migrated (Alembic cannot go from there)."""
    current = MigrationContext.configure(connection).get_current_revision()
    if current is not None:
        _check_known_revision(current, where)


def _check_known_revision(current: str, where: str) -> None:
    if current not in {
        s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()
    }:
        raise NotMigratedError(
            f"the database {where} is at revision {current}, newer than this tweenlab "
            f"({head_revision()})"
        )
