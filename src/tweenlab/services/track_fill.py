""" "Fill in between" for a track of a task: the server's face of motion-guided in-betweening.

The track is read at the revision the client based its request on, its spans (all, or those
overlapping a range of frames) are filled by motion as in-between shapes, and the result is
written back as the next revision through the same compare-and-swap as any edit, so a change
made meanwhile by someone else is never overwritten (409). The read transaction ends before
the flow is computed: on SQLite an open write transaction would hold the database for it. For
a video in the storage, the flow a flow job published for the range is fetched first.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.orm import Session

from tweenlab.core import AnnotationSet, Schema, Track, VideoRef
from tweenlab.errors import FieldError, TweenlabError
from tweenlab.media import DerivedFiles
from tweenlab.services import task_annotations
from tweenlab.services.flow import fetch_flow
from tweenlab.services.keyframes import analyse_video, stored_analysis
from tweenlab.services.projects import Access
from tweenlab.services.propagate import TrackReport, fill_annotations, flow_cache
from tweenlab.services.tasks import visible_task
from tweenlab.services.track_rows import stale
from tweenlab.services.videos import get_video, is_stored_key, video_source
from tweenlab.settings import Settings
from tweenlab.store import TrackRow, Video

__all__ = ["FilledTrack", "fill_track", "save_track"]

logger = logging.getLogger(__name__)


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
    method: Literal["flow", "tracker"] = "flow",
) -> FilledTrack:
    """Fill track ``number`` of task ``task_id`` by motion (frames ``first .. last`` only, when
    given; box spans by the tracker with ``method="tracker"``) and write it as the revision
    after ``base``.

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
    if low > high:
        raise FieldError("first", f"frame {low} is after last ({high})")
    if not task.start <= low <= high < task.stop:
        raise FieldError(
            "first",
            f"frames {low}..{high} are not within the task's frames "
            f"({task.start}..{task.stop - 1})",
        )
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
        AnnotationSet(ref, schema, {number: track}),
        cache,
        cuts=cuts,
        within=(low, high),
        method=method,
    )
    updated = _within(track, filled.tracks[number], low, high).to_json()
    written = task_annotations.write_track(db, access, task_id, number, updated, base=base)
    return FilledTrack(written, reports[0])


def save_track(
    db: Session,
    access: Access,
    settings: Settings,
    task_id: int,
    number: int,
    *,
    data: Any,
    base: int,
) -> TrackRow:
    """Write a track as an edit (``task_annotations.write_track``); where the edit dropped
    in-between shapes (a keyframe of their span changed, or one was added before the first or
    after the last), they are computed again for the new keyframes in the same revision, when
    the flow of those frames is already cached and the video's cuts known (an earlier fill
    computed them). A filled track stays filled while a person edits it, and a save never waits
    for a video to be decoded.

    Raises:
        StaleRevisionError: The track is no longer at ``base``.
        FieldError: The track is malformed, or has a keyframe outside the task's frames.
    """
    refilled = _refilled(db, access, settings, task_id, number, data=data, base=base)
    if refilled is None:
        return task_annotations.write_track(db, access, task_id, number, data, base=base)
    return task_annotations.write_track(
        db, access, task_id, number, refilled, base=base, computed=True
    )


def _refilled(
    db: Session,
    access: Access,
    settings: Settings,
    task_id: int,
    number: int,
    *,
    data: Any,
    base: int,
) -> dict[str, Any] | None:
    """``data`` with the in-between shapes its edit dropped computed again, or ``None`` when
    none were dropped, the flow or the video is not at hand here, or anything else says to
    write it as it is (``write_track`` then gives its errors)."""
    task = visible_task(db, access, task_id)
    task_annotations.check_may_edit(access, task)
    row = task_annotations.current_track(db, task, number)
    if row is None or row.deleted or row.revision != base:
        return None
    stored = row.data if isinstance(row.data, dict) else {}
    if not stored.get("inbetween") and "leaves" not in stored:  # never filled: nothing to redo
        return None
    try:
        previous = task_annotations.parse_track(task, access.label_schema, number, row.data)
        edited = task_annotations.parse_track(
            task, access.label_schema, number, task_annotations.in_spans(data)
        ).keeping_inbetween_of(previous)
    except TweenlabError:
        return None
    still = previous.with_keyframes(edited.keyframes)  # what the keyframe changes left valid
    dropped = set(previous.inbetween) - set(still.inbetween)  # not what the body left out
    if previous.leaves is not None and still.leaves is None:
        dropped.add(previous.leaves)
    if not dropped:
        return None
    low, high = _spans_around(edited, min(dropped), max(dropped))
    low, high = max(low, task.start), min(high, task.stop - 1)
    schema = Schema.from_json(access.label_schema)
    try:
        video = get_video(db, access.project, task.video_id)
        ref = VideoRef(video.original_name, video.frame_count, video.width, video.height)
        path = _local_video(settings, video)  # never fetched from a storage for a save
        db.commit()  # nothing held while the shapes are computed
        analysis = stored_analysis(path, settings) if path is not None else None
        if path is None or analysis is None:
            return None
        derived = DerivedFiles(settings.derived_dir)
        cache = flow_cache(path, derived.index(path), derived, settings)
        if not cache.cached(low, high):
            return None
        filled, _ = fill_annotations(
            AnnotationSet(ref, schema, {number: edited}),
            cache,
            cuts=analysis.boundaries,
            within=(low, high),
        )
    except Exception as error:  # a save never fails for want of a refill
        logger.warning("track %s of task %s saved unfilled: %s", number, task_id, error)
        return None
    return _within(edited, filled.tracks[number], low, high).to_json()


def _local_video(settings: Settings, video: Video) -> Path | None:
    """``video``'s file when it is one on this machine's disk (not a storage key), else None."""
    if video.origin == "upload" and is_stored_key(video.stored_path):
        return None
    with contextlib.suppress(TweenlabError):
        path = video_source(settings, video).path
        return path if path.is_file() else None
    return None


def _within(track: Track, filled: Track, low: int, high: int) -> Track:
    """``track`` with the in-between shapes (and confidence) ``filled`` computed on frames
    ``low .. high``, its own elsewhere (a span overlapping the range is filled whole, but only
    the range is asked for), and ``filled``'s ``leaves``."""
    shapes = {f: s for f, s in track.inbetween.items() if not low <= f <= high}
    scores = {f: c for f, c in track.confidence.items() if f in shapes}
    shapes.update((f, s) for f, s in filled.inbetween.items() if low <= f <= high)
    scores.update((f, c) for f, c in filled.confidence.items() if low <= f <= high)
    leaves = filled.leaves
    if leaves is not None:  # nothing carried on from where it leaves
        shapes = {f: s for f, s in shapes.items() if f < leaves}
    return replace(track, inbetween=shapes, confidence=scores, leaves=leaves)


def _spans_around(track: Track, first: int, last: int) -> tuple[int, int]:
    """The frames from the keyframe at or before ``first`` to the one at or after ``last`` (the
    frames themselves past the track's ends): the whole spans an edit touched."""
    frames = track.frames
    before = bisect.bisect_right(frames, first) - 1
    after = bisect.bisect_left(frames, last)
    return (
        frames[before] if before >= 0 else first,
        frames[after] if after < len(frames) else last,
    )
