"""``tweenlab cluster status`` with the local executor: its workers, and the job queue counted in
the database when there is one (the Ray cluster's case is in tests/jobs/test_ray_executor.py)."""

from __future__ import annotations

import json

import pytest

from tweenlab.cli._ui import run_with_boundary
from tweenlab.cli.main import cli
from tweenlab.jobs import JobState
from tweenlab.jobs.model import new_job
from tweenlab.services.database import upgrade_database
from tweenlab.services.jobs import DatabaseJobStore
from tweenlab.settings import Settings
from tweenlab.store import Database


def status(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert run_with_boundary(cli, ["cluster", "status", *args]) == 0
    return capsys.readouterr().out


def test_without_a_database_it_shows_the_local_workers(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TWEENLAB_JOB_WORKERS", "3")
    shown = json.loads(status(capsys, "--json"))
    assert shown == {"executor": "local", "workers": 3, "ray": None, "jobs": None, "database": None}
    text = status(capsys)
    assert "executor: local" in text and "workers: 3 processes" in text
    assert "jobs: no database" in text
    assert not (settings.data_dir / "tweenlab.db").exists()  # status creates no database


def test_with_a_database_it_counts_queued_and_running_jobs(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    upgrade_database(settings)
    with Database(settings.database) as database:
        store = DatabaseJobStore(database)
        for state in (JobState.QUEUED, JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED):
            job = new_job("count", "tests.jobs.jobfns:count", {"n": 1})
            store.add(job)
            store.update(job.id, state=state)
        store.close()
    shown = json.loads(status(capsys, "--json"))
    assert shown["jobs"] == {"queued": 2, "running": 1}
    assert shown["database"].startswith("sqlite:///")
    assert "jobs: 2 queued, 1 running" in status(capsys)
