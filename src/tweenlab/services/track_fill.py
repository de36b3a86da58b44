""" "Fill in between" for a track of a task: the server's face of motion-guided in-betweening.

The track is read at the revision the client based its request on, its spans (all, or those
overlapping a range of frames) are filled by motion as in-between shapes, and the result is
written back as the next revision through the same compare-and-swap as any edit, so a change
made meanwhile by someone else is never overwritten (409). The read transaction ends before
the flow is computed: on SQLite an open write transaction would hold the database for it. For
a video in the storage, the flow a flow job published for the range is fetched first.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from tweenlab.core import AnnotationSet, Schema, Shape, VideoRef
from tweenlab.errors import FieldError
from tweenlab.media import DerivedFiles
from tweenlab.services import task_annotations
from tweenlab.services.flow import fetch_flow
from tweenlab.services.keyframes import analyse_video
from tweenlab.services.projects import Access
from tweenlab.services.propagate import TrackReport, fill_annotations, flow_cache
from tweenlab.services.tasks import visible_task
from tweenlab.services.track_rows import stale
from tweenlab.services.videos import get_video, video_source
from tweenlab.settings import Settings
from tweenlab.store import TrackRow

__all__ = ["FilledTrack", "fill_track"]


@dataclass(frozen=True)
class FilledTrack:
    """The track's new revision and what in-betweening said of it."""

    row: TrackRow
    report: TrackReport


def fill_track(
    db: Session,
    access: Access,
    settings: Settings,
    task_id: int,
    number: int,
    *,
    base: int,
    first: int | None = None,
    last: int | None = None,
) -> FilledTrack:
    """Fill track ``number`` of task ``task_id`` by motion (frames ``first .. last`` only, when
    given) and write it as the revision after ``base``.

    Raises:
        StaleRevisionError: The track is no longer at ``base``.
        FieldError: A range outside the task.
    """
    task = visible_task(db, access, task_id)
    row = task_annotations.read_track(db, access, task_id, number)
    if row.revision != base or row.deleted:
        raise stale(number, row, base)
    low = task.start if first is None else first
    high = task.stop - 1 if last is None else last
    if not task.start <= low <= high < task.stop:
        raise FieldError("first", f"frames {low}..{high} are not within the task's frames")
    video = get_video(db, access.project, task.video_id)
    source = video_source(settings, video)
    path = source.path
    schema = Schema.from_json(access.label_schema)
    track = task_annotations.parse_track(task, access.label_schema, number, row.data)
    ref = VideoRef(video.original_name, video.frame_count, video.width, video.height)
    db.commit()  # nothing held while the flow is computed
    derived = DerivedFiles(settings.derived_dir)
    cache = flow_cache(path, derived.index(path), derived, settings)
    if source.storage is not None:  # what a flow job published is not computed again
        fetch_flow(source, cache, low, high)
    cuts = analyse_video(path, settings).analysis.boundaries
    filled, reports = fill_annotations(
        AnnotationSet(ref, schema, {number: track}), cache, cuts=cuts, within=(low, high)
    )
    result = filled.tracks[number]  # spans overlapping the range filled whole: keep the range

    def kept(frame: int, shape: Shape) -> bool:
        return low <= frame <= high or track.inbetween.get(frame) is shape

    shapes = {f: s for f, s in result.inbetween.items() if kept(f, s)}
    updated = replace(result, inbetween=shapes).to_json()
    written = task_annotations.write_track(db, access, task_id, number, updated, base=base)
    return FilledTrack(written, reports[0])
