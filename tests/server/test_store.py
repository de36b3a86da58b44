"""The store: migrations from empty, models that match them, the refusal of an unmigrated
database, SQLite's settings and timezone-aware times, on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import StatementError

from tweenlab.errors import NotMigratedError
from tweenlab.store import (
    Base,
    Database,
    User,
    check_migrated,
    current_revision,
    head_revision,
    is_migrated,
    upgrade,
)

TABLES = {
    *("users", "api_tokens", "sessions", "login_failures", "projects", "memberships"),
    *("tasks", "task_events", "tracks", "journal", "review_issues", "review_comments"),
    "heartbeats",
}


def test_upgrade_from_empty_creates_every_table_at_the_head(database_url: str) -> None:
    with Database(database_url) as db:
        assert current_revision(db.engine) is None and not is_migrated(db.engine)
        assert upgrade(database_url) == head_revision()
        assert is_migrated(db.engine)
        assert set(inspect(db.engine).get_table_names()) >= TABLES
        assert upgrade(database_url) == head_revision()  # a second run changes nothing


def test_the_migrations_build_exactly_the_models(database_url: str) -> None:
    upgrade(database_url)
    with Database(database_url) as db, db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_an_unmigrated_database_is_refused_naming_the_command(database_url: str) -> None:
    with Database(database_url) as db:
        with pytest.raises(NotMigratedError, match="run `tweenlab db upgrade`"):
            check_migrated(db.engine)
        upgrade(database_url)
        check_migrated(db.engine)


def test_a_database_at_an_unknown_revision_is_refused(database_url: str) -> None:
    upgrade(database_url)
    with Database(database_url) as db:
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'ffff'"))
        with pytest.raises(NotMigratedError, match="newer than this tweenlab"):
            check_migrated(db.engine)


def test_times_come_back_aware_in_utc(database_url: str) -> None:
    upgrade(database_url)
    at = datetime(2024, 3, 1, 12, 30, tzinfo=UTC)
    with Database(database_url) as db:
        with db.session() as session:
            session.add(User(email="t@x.io", name="t", password_hash="-", created_at=at))
            session.commit()
        with db.session(readonly=True) as session:
            user = session.query(User).one()
            assert user.created_at == at and user.created_at.tzinfo is not None
            with pytest.raises(StatementError, match="naive datetime"):
                user.created_at = datetime(2024, 1, 1)
                session.flush()


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: Path) -> None:
    with Database(f"sqlite:///{tmp_path / 'x.db'}") as db, db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000


def test_concurrent_read_then_write_transactions_all_commit(database_url: str) -> None:
    """Each thread reads, then writes, in one transaction; none fails with "database is locked"
    (on SQLite, ``BEGIN IMMEDIATE`` makes writers queue instead of failing on a stale read)."""
    upgrade(database_url)
    threads, each = 6, 8

    def work(worker: int) -> None:
        for n in range(each):
            with db.session() as session:
                count = session.query(User).count()
                session.add(User(email=f"{worker}-{n}@x.io", name=str(count), password_hash="-"))
                session.commit()

    with Database(database_url) as db, ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(threads)))
        with db.session(readonly=True) as session:
            assert session.query(User).count() == threads * each


def test_sqlite_writers_queue_in_process_and_leave_on_every_ending(tmp_path: Path) -> None:
    """A write transaction that ends by commit, rollback, an exception or a plain close frees the
    writer queue at once: the next writer starts without waiting out the busy timeout."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    upgrade(url)
    with Database(url) as db:
        with db.session() as session:  # left without commit: closed, rolled back
            session.add(User(email="a@x.io", name="a", password_hash="-"))
            session.flush()
        with pytest.raises(RuntimeError), db.session() as session:
            session.add(User(email="b@x.io", name="b", password_hash="-"))
            session.flush()
            raise RuntimeError("boom")
        with db.session() as session:
            session.add(User(email="c@x.io", name="c", password_hash="-"))
            session.flush()
            session.rollback()
        with db.session(readonly=True) as reader:  # a reader never takes the queue
            assert reader.query(User).count() == 0
            with db.session() as session:
                session.add(User(email="d@x.io", name="d", password_hash="-"))
                session.commit()
        connection = db.engine.raw_connection()
        try:
            queue = connection.driver_connection.writer_queue  # type: ignore[union-attr]
        finally:
            connection.close()
        assert not queue.threads.locked()
        with db.session(readonly=True) as reader:
            assert [u.email for u in reader.query(User)] == ["d@x.io"]
