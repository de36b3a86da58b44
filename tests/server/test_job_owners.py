"""Several server processes on one database: each job row names the process that runs it; a
process resumes only orphans (no owner, an owner that is gone), claiming each so that no job
runs twice; a cancel sent to another process reaches the owner through the row."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest

from tweenlab.jobs import JobState
from tweenlab.services import jobs as job_service
from tweenlab.services.jobs import DatabaseJobStore, JobRunner, owner_gone
from tweenlab.settings import Settings
from tweenlab.store import Database, Job, utc_now

FNS = "tests.jobs.jobfns"


def _row(database: Database, **fields: Any) -> str:
    job_id = uuid.uuid4().hex
    values = {"kind": "test", "target": f"{FNS}:count", "params": {"n": 3}, "state": "running"}
    with database.session() as db:
        db.add(Job(id=job_id, attempts=1, started_at=utc_now(), **{**values, **fields}))
        db.commit()
    return job_id


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout)


def test_who_counts_as_gone() -> None:
    now = utc_now()
    host = job_service._HOST
    assert owner_gone(None, None, now)
    assert owner_gone(f"{host}:{_dead_pid()}:abc", now, now)  # that process has ended
    assert not owner_gone(f"{host}:1:abc", None, now)  # pid 1 lives (not ours to signal)
    elsewhere = "other-host.example:4242:abc"
    assert not owner_gone(elsewhere, now - timedelta(seconds=5), now)
    assert owner_gone(elsewhere, now - timedelta(seconds=job_service.STALE_AFTER_S + 1), now)
    assert owner_gone(elsewhere, None, now)


def test_only_orphans_are_claimed_and_each_by_one_process(migrated: Settings) -> None:
    with Database(migrated.database) as database:
        first, second = DatabaseJobStore(database), DatabaseJobStore(database)
        try:
            mine = _row(database, owner=first.owner, heartbeat_at=utc_now())
            orphan = _row(database, owner=None)
            stale = _row(
                database,
                owner="other-host.example:7:x",
                heartbeat_at=utc_now() - timedelta(hours=1),
            )
            busy = _row(database, owner="other-host.example:8:y", heartbeat_at=utc_now())
            claimed = {job.id for job in second.unfinished()}
            assert claimed == {orphan, stale}  # not the live owners' jobs
            assert {job.id for job in first.unfinished()} == {mine}  # its own; the rest taken
            with database.session(readonly=True) as db:
                owners = {row.id: row.owner for row in db.query(Job)}
            assert owners[orphan] == owners[stale] == second.owner
            assert owners[busy] == "other-host.example:8:y"
            first.close()  # that server stopped: its job is an orphan now
            assert {job.id for job in second.unfinished()} == {orphan, stale, mine}
        finally:
            first.close()
            second.close()


def test_a_cancel_sent_to_another_process_reaches_the_owner(
    migrated: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(job_service, "WATCH_S", 0.1)
    settings = migrated.model_copy(update={"job_workers": 1})
    with Database(settings.database) as database:
        running = JobRunner(DatabaseJobStore(database), settings)
        other = JobRunner(DatabaseJobStore(database), settings)
        try:
            job = running.submit("test", f"{FNS}:slow", {"steps": 3000})
            deadline = time.monotonic() + 30
            while running.store.get(job.id).state is not JobState.RUNNING:  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "the job never started"
                time.sleep(0.05)
            asked = other.cancel(job.id)
            assert asked.state is JobState.RUNNING  # asked, not yet stopped
            done = running.wait(job.id, timeout=30)
            assert done.state is JobState.CANCELLED, done
            with pytest.raises(Exception, match="no job"):
                other.cancel(job.id)  # final now
        finally:
            running.shutdown()
            other.shutdown()


def test_a_cancel_of_a_job_running_on_another_host_asks_its_owner(migrated: Settings) -> None:
    with Database(migrated.database) as database:
        runner = JobRunner(DatabaseJobStore(database), migrated)
        try:
            live = _row(database, owner="other-host.example:8:y", heartbeat_at=utc_now())
            asked = runner.cancel(live)
            assert asked.state is JobState.RUNNING  # still running there, until its owner stops it
            silent = _row(
                database,
                owner="other-host.example:9:z",
                heartbeat_at=utc_now() - timedelta(seconds=job_service.STALE_AFTER_S + 1),
            )
            assert runner.cancel(silent).state is JobState.CANCELLED  # that host is gone
            with database.session(readonly=True) as db:
                rows = {row.id: row for row in db.query(Job)}
            assert rows[live].state == "running" and rows[live].cancel_requested
            assert rows[silent].state == "cancelled" and rows[silent].finished_at is not None
        finally:
            runner.shutdown()
