"""Engines and sessions from a URL: SQLite tuned for a busy server, or PostgreSQL.

SQLite gets WAL (readers never wait for the writer), foreign keys, a busy timeout, and
``BEGIN IMMEDIATE`` for every transaction: a transaction that reads and then writes would
otherwise fail at once with "database is locked" when another writer committed in between,
because SQLite cannot upgrade a stale read snapshot; taking the write lock up front makes
concurrent writers queue (for up to the busy timeout) instead. Read-only work can ask for a
deferred transaction with ``Database.session(readonly=True)``.

Writers queue before ``BEGIN IMMEDIATE`` and leave the queue when their transaction ends
(commit, rollback or close of the driver's connection). SQLite's own busy handler would make them
poll with sleeps of up to 100 ms, so under load a writer would sleep long after the lock came
free; the queue wakes the next one at once. It has two stages: the writers of one process (all
its engines on one file) wait on a Python lock, and its holder then takes an exclusive
``flock`` on ``<database>-lock`` beside the file, which the server processes of ``tweenlab serve
--workers N`` and every other process opening the file through here (the CLI, migrations) wait
on. So at most one thread per process sleeps in the kernel, and the kernel wakes it when the
holder unlocks. The lock file is opened for each write transaction and closed at its end, and
the kernel drops a ``flock`` when its last descriptor closes, so a killed process leaves nothing
held. Nothing waits while holding the queue but for SQLite itself (bounded by the busy timeout),
so the queue cannot deadlock across processes; a thread that opens a second write transaction on
the same file while holding one waits out the busy timeout on the Python lock and fails with
"database is locked", as it did with SQLite's handler. Job worker processes never write.
A write that upgrades a read-only transaction (``readonly=True``) does not queue: it meets the
busy timeout.

JSON columns are written and read with orjson (a tenth of the standard library's time; a save
writes a track three times: the row, and the journal's before and after); whatever orjson does
not take goes to the standard library, which answers or raises as it did before.

The write lock is the one thing writers queue for, so a write request holds it only for its
writes: ``checks_first(session)`` runs what a request checks before it writes (who is calling,
their role) in a deferred transaction of its own, ended before the writes begin theirs.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from tweenlab.errors import ConfigError

__all__ = ["Database", "checks_first", "database_error_reason", "make_engine", "shown_url"]

BUSY_TIMEOUT_MS = 15_000
_READONLY = "tweenlab_readonly"
_BACKENDS = {"sqlite": "sqlite:///PATH", "postgresql": "postgresql+psycopg://USER@HOST/DB"}
_USERINFO = re.compile(r"(://[^:/@?#]*):[^@/?#]*@")


def shown_url(url: str | URL) -> str:
    """``url`` as messages show it: the password as ``***`` and without its query (which may
    hold credentials too). Every message that names the database goes through here.

    Example:
        >>> shown_url("postgresql+psycopg://app:Sup3rS3cret@db/tweenlab?sslmode=require")
        'postgresql+psycopg://app:***@db/tweenlab'
    """
    text = url if isinstance(url, str) else url.render_as_string(hide_password=False)
    return _USERINFO.sub(r"\1:***@", text.split("?", 1)[0])


def database_error_reason(error: BaseException) -> str:
    """The driver's reason for a database error, on one line (``database "x" does not exist``,
    ``file is not a database``), never SQLAlchemy's dump of the statement and its parameters,
    which may hold a password hash."""
    cause = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    reason = lines[0] if lines else ""
    if cause is error and reason.startswith("("):  # SQLAlchemy's "(driver.Error) reason"
        reason = reason.split(") ", 1)[-1]
    return reason or type(cause).__name__


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``).

    Connects lazily; the folder of a SQLite file is created here.

    Example:
        >>> make_engine("sqlite:///:memory:").dialect.name
        'sqlite'
    """
    parsed = _parse(url)
    json_codec = {"json_serializer": _json_dumps, "json_deserializer": _json_loads}
    if parsed.get_backend_name() != "sqlite":
        try:
            return create_engine(parsed, pool_pre_ping=True, **json_codec)
        except (ImportError, NoSuchModuleError) as error:
            raise ConfigError(
                f"TWEENLAB_DATABASE_URL {shown_url(parsed)}: its driver is not installed "
                f"({error}); use {_BACKENDS['postgresql']}"
            ) from error
    if parsed.database and parsed.database != ":memory:":
        _make_folder(Path(parsed.database).parent)
    connection_class = _queued_connection(_writer_queue(parsed.database))
    engine = create_engine(
        parsed,
        connect_args={
            "timeout": BUSY_TIMEOUT_MS / 1000,
            "check_same_thread": False,
            "factory": connection_class,
        },
        **json_codec,
    )
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _parse(url: str) -> URL:
    """``url`` parsed, or a ``ConfigError`` (with the password hidden) saying what is wrong."""
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise ConfigError(f"TWEENLAB_DATABASE_URL: cannot parse {shown_url(url)!r}") from error
    except ValueError as error:  # SQLAlchemy reads the port with int()
        port = re.search(r"@[^/?#]*:([^/?#@]*)", url)
        shown = repr(port.group(1)) if port else "in it"
        raise ConfigError(
            f"TWEENLAB_DATABASE_URL {shown_url(url)}: the port {shown} is not a number"
        ) from error
    if parsed.get_backend_name() not in _BACKENDS:
        raise ConfigError(
            f"TWEENLAB_DATABASE_URL {shown_url(parsed)}: unsupported database "
            f"{parsed.get_backend_name()!r}: use {' or '.join(_BACKENDS.values())}"
        )
    return parsed


def _make_folder(folder: Path) -> None:
    """The SQLite file's folder (usually ``TWEENLAB_DATA_DIR``), or a ``ConfigError`` saying why
    it cannot be made (a file in its place, no permission)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError as error:
        raise ConfigError(
            f"the database's folder {folder} (TWEENLAB_DATA_DIR): {error.filename} is a file, "
            "not a folder"
        ) from error
    except NotADirectoryError as error:
        raise ConfigError(
            f"the database's folder {folder} (TWEENLAB_DATA_DIR) cannot be made: a folder above "
            "it is a file"
        ) from error
    except OSError as error:
        raise ConfigError(
            f"the database's folder {folder} (TWEENLAB_DATA_DIR) cannot be made: "
            f"{error.strerror or error}"
        ) from error


def _json_dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # an integer past 64 bits, a type orjson does not know
        return json.dumps(value)


def _json_loads(text: str | bytes) -> Any:
    """``json.loads``, by orjson where it can (what it refuses, the standard library reads as it
    always did, or refuses with its own ``JSONDecodeError``)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # NaN or Infinity, which the standard library writes
        return json.loads(text)


class _WriterQueue:
    """The writers of one SQLite file: a Python lock for this process's threads, then ``flock``
    on the lock file (``None``: an in-memory database, which no other process sees)."""

    def __init__(self, lock_file: Path | None) -> None:
        self.lock_file = lock_file
        self.threads = threading.Lock()
        self._descriptor: int | None = None

    def enter(self) -> None:
        """Wait for the turn of this thread (the busy timeout at most in this process)."""
        if not self.threads.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
            raise sqlite3.OperationalError("database is locked (by a writer of this process)")
        if self.lock_file is None:
            return
        try:
            descriptor = os.open(self.lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX)  # the kernel wakes us when it is free
            except BaseException:
                os.close(descriptor)
                raise
            self._descriptor = descriptor
        except BaseException:
            self.threads.release()
            raise

    def leave(self) -> None:
        """Let the next writer in, of this process or another."""
        descriptor, self._descriptor = self._descriptor, None
        try:
            if descriptor is not None:
                fcntl.flock(descriptor, fcntl.LOCK_UN)  # a forked child's copy must not keep it
                os.close(descriptor)
        finally:
            self.threads.release()

    def forget_in_child(self) -> None:
        """In a child forked while a writer held the lock: drop the child's copy of the lock
        file's descriptor, so that the lock goes when the parent leaves or dies."""
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None


_QUEUES: dict[Path, _WriterQueue] = {}
_QUEUES_LOCK = threading.Lock()


def _writer_queue(database: str | None) -> _WriterQueue:
    """The queue of the file ``database`` in this process, shared by its engines (a fresh one
    for an in-memory database)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return _WriterQueue(None)
    path = Path(database).resolve()
    with _QUEUES_LOCK:
        queue = _QUEUES.get(path)
        if queue is None:
            if not _QUEUES:
                os.register_at_fork(after_in_child=_forget_in_child)
            queue = _QUEUES[path] = _WriterQueue(path.with_name(f"{path.name}-lock"))
        return queue


def _forget_in_child() -> None:
    for queue in _QUEUES.values():
        queue.forget_in_child()


class _QueuedConnection(sqlite3.Connection):
    """A driver connection whose write transactions hold its file's writer queue."""

    writer_queue: _WriterQueue
    holds_writer_queue = False

    def begin_immediate(self) -> None:
        self.writer_queue.enter()
        self.holds_writer_queue = True
        try:
            self.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._leave_queue()
            raise

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._leave_queue()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._leave_queue()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._leave_queue()

    def _leave_queue(self) -> None:
        if self.holds_writer_queue:
            self.holds_writer_queue = False
            self.writer_queue.leave()


def _queued_connection(queue: _WriterQueue) -> type[_QueuedConnection]:
    return type("QueuedConnection", (_QueuedConnection,), {"writer_queue": queue})


def _sqlite_connect(connection: sqlite3.Connection, _record: Any) -> None:
    connection.isolation_level = None  # the driver's implicit BEGIN off: ``_sqlite_begin`` owns it
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable across crashes of the process in WAL
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    readonly = connection.get_execution_options().get(_READONLY, False)
    driver = connection.connection.driver_connection
    if readonly or not isinstance(driver, _QueuedConnection):
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")
    else:
        driver.begin_immediate()


@contextmanager
def checks_first(session: Session) -> Iterator[None]:
    """The reads inside run in a transaction of their own that ends (committed) when they do, so
    the session's writes begin afresh after them: on SQLite a write session takes the write lock
    at its first statement, and the checks need no lock. Elsewhere, in a read-only session, or
    in a session already in a transaction, the reads simply run in the session's transaction.
    """
    bind = session.get_bind()
    if (
        session.in_transaction()
        or bind.dialect.name != "sqlite"
        or bind.get_execution_options().get(_READONLY, False)
    ):
        yield
        return
    session.connection(execution_options={_READONLY: True})
    yield
    session.commit()


class Database:
    """One engine and its session factories; a context manager that disposes the engine.

    Args:
        url: The SQLAlchemy URL.

    Example:
        >>> with Database("sqlite:///:memory:") as db, db.session() as session:
        ...     session.scalar(text("select 1"))  # doctest: +SKIP
        1
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readonly = sessionmaker(
            self.engine.execution_options(**{_READONLY: True}), expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def new_session(self, *, readonly: bool = False) -> Session:
        """A session for the caller to close (``session()`` is the same as a context manager).

        It connects at its first statement; ``readonly``: its transactions are deferred.
        """
        return (self._readonly if readonly else self._sessions)()

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[Session]:
        """A session, closed (and anything uncommitted rolled back) on leaving."""
        with self.new_session(readonly=readonly) as session:
            yield session

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()
