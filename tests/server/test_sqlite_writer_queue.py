"""SQLite writers of several processes queue on one lock file (``<database>-lock``, ``flock``).

Real processes write through ``tweenlab.store`` into one file: read-then-write increments of one
counter with SQLite's busy timeout set to 0 lose no update and never meet "database is locked"
(any two writers that reached SQLite at once would); a writer of another process waits while the
lock file is held, though SQLite itself is free; a process killed inside a write transaction
leaves the lock free.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tweenlab.store import Database

PROCESSES, THREADS, INCREMENTS = 3, 3, 60

# A child: ``THREADS`` threads each add 1 to the counter ``INCREMENTS`` times (read, then write,
# in one transaction), with SQLite's busy handler off; it prints the errors it met.
_INCREMENT = """
import sys, threading
from sqlalchemy import event, text
from tweenlab.store import Database
url, threads, increments = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
errors = []
with Database(url) as db:
    @event.listens_for(db.engine, "connect")
    def no_busy_handler(connection, _record):
        connection.execute("PRAGMA busy_timeout=0")
    def work():
        for _ in range(increments):
            try:
                with db.session() as session:
                    n = session.execute(text("SELECT n FROM counter")).scalar_one()
                    session.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
                    session.commit()
            except Exception as error:
                errors.append(repr(error))
    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
print(len(errors), errors[:3])
"""

# A child that writes once, then waits (inside its transaction with ``hold``) until killed.
_WRITE = """
import sys, time
from sqlalchemy import text
from tweenlab.store import Database
with Database(sys.argv[1]) as db, db.session() as session:
    session.execute(text("UPDATE counter SET n = n + 1"))
    print("written", flush=True)
    while sys.argv[2] == "hold":
        time.sleep(1)
    session.commit()
"""


def _python(script: str, *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-c", script, *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True, start_new_session=True)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    """A SQLite file with ``counter(n)`` at 0, kept open (as a server would) throughout."""
    with Database(f"sqlite:///{tmp_path / 'shared.db'}") as db:
        with db.session() as session:
            session.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
            session.execute(text("INSERT INTO counter VALUES (0)"))
            session.commit()
        yield db


def _counter(db: Database) -> int:
    with db.session(readonly=True) as session:
        return int(session.execute(text("SELECT n FROM counter")).scalar_one())


def _lock_file(db: Database) -> Path:
    assert db.engine.url.database is not None
    return Path(f"{db.engine.url.database}-lock")


def test_writers_of_several_processes_queue_and_lose_no_update(database: Database) -> None:
    children = [
        _python(_INCREMENT, database.url, str(THREADS), str(INCREMENTS)) for _ in range(PROCESSES)
    ]
    reports = [child.communicate(timeout=120)[0].strip() for child in children]
    assert [child.returncode for child in children] == [0] * PROCESSES
    assert reports == ["0 []"] * PROCESSES  # not one "database is locked"
    assert _counter(database) == PROCESSES * THREADS * INCREMENTS


def test_a_writer_of_another_process_waits_for_the_lock_file(database: Database) -> None:
    descriptor = os.open(_lock_file(database), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        child = _python(_WRITE, database.url, "commit")
        time.sleep(1.0)  # far longer than the child needs to start and write (SQLite is free)
        assert child.poll() is None and _counter(database) == 0
    finally:
        os.close(descriptor)  # the lock goes with the last descriptor
    assert child.communicate(timeout=60)[0] == "written\n" and child.returncode == 0
    assert _counter(database) == 1


def test_a_process_killed_inside_a_write_leaves_the_lock_free(database: Database) -> None:
    child = _python(_WRITE, database.url, "hold")
    try:
        assert child.stdout is not None and child.stdout.readline() == "written\n"
        descriptor = os.open(_lock_file(database), os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):  # held by the child, mid-transaction
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.killpg(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free once it is gone
        finally:
            os.close(descriptor)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
    started = time.monotonic()
    with database.session() as session:  # this process writes at once, without waiting
        session.execute(text("UPDATE counter SET n = n + 10"))
        session.commit()
    assert time.monotonic() - started < 5
    assert _counter(database) == 10  # the killed writer's change was rolled back
