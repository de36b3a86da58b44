"""The database as the entry points see it: migrate it, check it, open a session on it.

Importing this module (or ``tweenlab.services``) loads no SQLAlchemy: the store is imported
when a function here first runs, so ``tweenlab --help`` stays light.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from tweenlab.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["check_database", "open_session", "upgrade_database"]


def upgrade_database(settings: Settings) -> str:
    """Migrate ``settings.database`` to this code's newest revision; returns the revision."""
    from tweenlab import store  # noqa: PLC0415  (keeps SQLAlchemy out of every other command)

    return store.upgrade(settings.database)


@contextmanager
def open_session(settings: Settings) -> Iterator[Session]:
    """A session on ``settings.database``, once its schema is checked to be current."""
    from tweenlab import store  # noqa: PLC0415  (keeps SQLAlchemy out of every other command)

    with store.Database(settings.database) as database:
        store.check_migrated(database.engine)
        with database.session() as session:
            yield session


def check_database(settings: Settings) -> None:
    """Raise ``NotMigratedError`` (naming ``tweenlab db upgrade``) unless the schema is current.

    It also sets up the ORM's mappers (which SQLAlchemy does at the first query otherwise), so
    that server processes forked after it share them rather than each building its own copy.
    """
    from sqlalchemy.orm import configure_mappers  # noqa: PLC0415

    with open_session(settings):
        configure_mappers()
