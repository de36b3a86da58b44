"""``tweenlab serve --demo``: a project to click through, made from the demo's sample clip.

It makes (once; a second start finds it and changes nothing) an account ``demo@example.com``
(a site admin, password ``tweenlab-demo``: the demo is for one machine, never for a network),
a project ``demo`` whose labels are the sample's, the sample clip stored as its video (ingested
here, before the server starts, so it is ready at once), the video split into two tasks at its
cut, and the sample's objects labelled every 10th frame as the tracks of those tasks.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from sqlalchemy import select

from tweenlab.media import render_sample_clip
from tweenlab.services import task_annotations
from tweenlab.services.accounts import create_user
from tweenlab.services.annotations import sample_annotations
from tweenlab.services.database import open_session, upgrade_database
from tweenlab.services.keyframes import analyse_video
from tweenlab.services.media import ingest
from tweenlab.services.projects import create_project, project_access
from tweenlab.services.tasks import Split, split_tasks
from tweenlab.services.videos import video_row
from tweenlab.settings import Settings
from tweenlab.store import Project, User, Video

__all__ = ["DEMO_EMAIL", "DEMO_PASSWORD", "DemoProject", "load_demo_project"]

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "tweenlab-demo"  # documented: a local demo account


@dataclass(frozen=True)
class DemoProject:
    """Where the demo is: the account to sign in with, the project and its video."""

    email: str
    password: str
    project_id: int
    video_id: int
    tasks: int


def load_demo_project(settings: Settings) -> DemoProject:
    """Migrate the database and make the demo project unless it is there already."""
    upgrade_database(settings)
    with open_session(settings) as db:
        user = db.scalar(select(User).where(User.email == DEMO_EMAIL))
        if user is None:
            user = create_user(db, settings, DEMO_EMAIL, DEMO_PASSWORD, name="Demo", admin=True)
        project = db.scalar(
            select(Project).where(Project.name == "demo", Project.created_by == user.id)
        )
        if project is not None:
            video = db.scalar(select(Video).where(Video.project_id == project.id))
            assert video is not None
            return DemoProject(DEMO_EMAIL, DEMO_PASSWORD, project.id, video.id, 0)
        settings.upload_dir.mkdir(parents=True, exist_ok=True)
        work = settings.data_dir / "demo-sample"
        work.mkdir(parents=True, exist_ok=True)
        sample = render_sample_clip(work / "sample.mp4")
        stored = settings.upload_dir / "demo-sample.mp4"
        shutil.copyfile(sample.path, stored)
        done = ingest(stored, settings)
        analyse_video(stored, settings)
        annotations = sample_annotations(sample, done.info, every=10)
        project = create_project(db, user, "demo", schema=annotations.schema)
        info = done.info
        video = video_row(
            project,
            user,
            info,
            origin="upload",
            stored=stored.name,
            name="sample.mp4",
            status="ready",
        )
        db.add(video)
        db.commit()
        access = project_access(db, user, project.id)
        cut = sample.cut_frame
        ranges = [(0, cut), (cut, info.frame_count)]
        tasks = split_tasks(db, access, Split(video.id, info.frame_count, clips=ranges))
        for task in tasks:
            number = 0
            for track in annotations.tracks.values():
                keys = {f: k for f, k in track.keyframes.items() if task.start <= f < task.stop}
                if not keys:
                    continue
                number += 1
                part = track.to_json()
                part["keyframes"] = [k for k in part["keyframes"] if k["frame"] in keys]
                task_annotations.write_track(db, access, task.id, number, part, base=0)
        return DemoProject(DEMO_EMAIL, DEMO_PASSWORD, project.id, video.id, len(tasks))
