"""Jobs through the API: progress as server-sent events, cancel (who may), and recovery of the
jobs a killed server left unfinished when the next one starts."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.server.conftest import Account, Api
from tests.server.media_support import (
    media_api,
    media_settings,
    running_app,
    stamped,
    upload,
    wait_job,
)
from tweenlab.jobs import JobRecord
from tweenlab.services.jobs import JobRunner
from tweenlab.settings import Settings
from tweenlab.store import Database, Job, Video, utc_now

__all__ = ["media_api", "stamped"]  # fixtures used here

FNS = "tests.jobs.jobfns"


def submit(api: Api, target: str, params: dict[str, Any]) -> JobRecord:
    runner = api.client.app.state.jobs  # type: ignore[attr-defined]
    assert isinstance(runner, JobRunner)
    return runner.submit("test", f"{FNS}:{target}", params)


def events(api: Api, who: Account, job_id: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    with api.client.stream("GET", f"/api/jobs/{job_id}/events", headers=who.headers) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        kind = ""
        for line in answer.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                found.append((kind, json.loads(line.removeprefix("data: "))))
    return found


def test_events_stream_progress_then_one_final_event(media_api: Api) -> None:
    owner = media_api.account("owner@x.io")
    project = media_api.project(owner)
    # 3 s of work, so a stream opened late on a loaded machine still sees it progress
    job = submit(media_api, "slow", {"steps": 150, "project_id": project["id"]})
    seen = events(media_api, owner, job.id)
    kinds = [kind for kind, _ in seen]
    assert kinds[-1] == "final" and set(kinds[:-1]) == {"progress"} and len(kinds) >= 3
    assert seen[-1][1]["state"] == "succeeded" and seen[-1][1]["done"] == 150
    dones = [data["done"] for _, data in seen]
    assert dones == sorted(dones) and dones[0] < 150


def test_a_finished_jobs_stream_is_one_final_event(media_api: Api, stamped: Path) -> None:
    owner = media_api.account("owner@x.io")
    project = media_api.project(owner)
    video = upload(media_api, owner, project["id"], stamped.read_bytes()).json()
    wait_job(media_api, owner, video["ingest_job_id"])
    seen = events(media_api, owner, video["ingest_job_id"])
    assert [kind for kind, _ in seen] == ["final"]


def test_cancel_by_the_creator_or_a_manager_only(media_api: Api) -> None:
    owner = media_api.account("owner@x.io")
    annotator = media_api.account("annotator@x.io")
    stranger = media_api.account("stranger@x.io")
    project = media_api.project(owner)
    media_api.add(owner, project["id"], annotator, "annotator")
    job = submit(media_api, "slow", {"steps": 2000, "project_id": project["id"]})
    url = f"/api/jobs/{job.id}/cancel"
    assert media_api.client.post(url, headers=stranger.headers).status_code == 404
    assert media_api.client.post(url, headers=annotator.headers).status_code == 403
    assert media_api.client.get(f"/api/jobs/{job.id}", headers=annotator.headers).status_code == 200
    answer = media_api.client.post(url, headers=owner.headers)
    assert answer.status_code == 200, answer.text
    final = wait_job(media_api, owner, job.id, timeout=30)
    assert final["state"] == "cancelled" and final["finished_at"] is not None
    again = media_api.client.post(url, headers=owner.headers)  # a final job stays as it is
    assert again.status_code == 200 and again.json()["state"] == "cancelled"
    assert media_api.client.get("/api/jobs/nope", headers=owner.headers).status_code == 404


def test_deleting_a_video_cancels_its_ingest(media_api: Api, stamped: Path) -> None:
    owner = media_api.account("owner@x.io")
    project = media_api.project(owner)
    video = upload(media_api, owner, project["id"], stamped.read_bytes()).json()
    url = f"/api/projects/{project['id']}/videos/{video['id']}"
    assert media_api.client.delete(url, headers=owner.headers).status_code == 204
    job = wait_job(media_api, owner, video["ingest_job_id"])
    assert job["state"] in {"cancelled", "succeeded"}, job["error"]  # it may be done already


def _leftover(database: Database, *, target: str, params: dict[str, Any], attempts: int) -> str:
    """A job row as a killed server leaves it: running, started, never finished."""
    job_id = uuid.uuid4().hex
    with database.session() as db:
        db.add(
            Job(
                id=job_id,
                kind="test",
                target=target,
                params=params,
                state="running",
                attempts=attempts,
                project_id=params.get("project_id"),
                started_at=utc_now(),
            )
        )
        db.commit()
    return job_id


def test_jobs_left_running_by_a_killed_server_are_resumed_or_failed(
    migrated: Settings, tmp_path: Path, stamped: Path
) -> None:
    settings = media_settings(migrated, tmp_path)
    with Database(settings.database) as database:
        resumed = _leftover(database, target=f"{FNS}:count", params={"n": 5}, attempts=1)
        spent = _leftover(database, target=f"{FNS}:count", params={"n": 5}, attempts=3)
    for api in running_app(settings):
        runner = api.client.app.state.jobs  # type: ignore[attr-defined]
        assert runner.started, "start-up recovers leftovers, starting the executor"
        done = runner.wait(resumed, timeout=60)
        assert done.state == "succeeded" and done.attempts == 2
        assert done.result == {"sum": 15, "pid": done.result["pid"]}
        failed = runner.store.get(spent)
        assert failed.state == "failed" and "interrupted 3 times" in (failed.error or "")


def test_an_interrupted_ingest_is_resumed_and_its_video_becomes_ready(
    migrated: Settings, tmp_path: Path, stamped: Path
) -> None:
    settings = media_settings(migrated, tmp_path)
    for api in running_app(settings):
        owner = api.account("owner@x.io")
        project = api.project(owner)
        video = upload(api, owner, project["id"], stamped.read_bytes()).json()
        wait_job(api, owner, video["ingest_job_id"])
    with Database(settings.database) as database, database.session() as db:  # "killed" mid-way
        row = db.get(Job, video["ingest_job_id"])
        assert row is not None
        row.state, row.finished_at, row.done, row.result = "running", None, 3, None
        db.scalars(select(Video)).one().status = "ingesting"
        db.commit()
    for api in running_app(settings):
        assert api.client.app.state.jobs.started  # type: ignore[attr-defined]
        job = wait_job(api, owner, video["ingest_job_id"])
        assert job["state"] == "succeeded" and job["attempts"] == 2
        again = api.client.get(
            f"/api/projects/{project['id']}/videos/{video['id']}", headers=owner.headers
        )
        assert again.json()["status"] == "ready"


def test_a_server_without_leftovers_starts_no_executor(media_api: Api) -> None:
    assert not media_api.client.app.state.jobs.started  # type: ignore[attr-defined]
