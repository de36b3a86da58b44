"""Running a labeler over a video: which frames, in batches, with progress.

``label_frames`` decodes the chosen frames once, in order, hands them to the labeler in batches
of its ``batch_size`` and returns one ``Detections`` per labelled frame. A ``sequential`` labeler
(motion proposals) sees every frame from the first chosen one to the last, so its background
model stays true, and only the chosen frames' results are kept. A labeler that raises, or that
answers with the wrong number of results, fails with a ``LabelerError`` naming the frame.
A chosen frame that cannot be decoded is left out (the reader names it once), and a frame's
detections are capped at ``MAX_DETECTIONS``, the best kept (a warning says how many were
dropped): a dense model's thousands of boxes would make tracking quadratic in them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from tweenlab.autolabel.base import RGB, Detections, Labeler
from tweenlab.errors import LabelerError, TweenlabError
from tweenlab.media import VideoReader

__all__ = ["MAX_DETECTIONS", "FrameDetections", "every_nth", "label_frames"]

log = logging.getLogger(__name__)

#: Detections kept per frame, the best first (as most detectors' ``max_det``): tracking
#: compares every track with every detection, so thousands of boxes a frame cost gigabytes.
MAX_DETECTIONS = 300

#: ``report(task, done, total)``, as every long service reports progress.
Progress = Callable[[str, int, int], None]


def _quiet(task: str, done: int, total: int) -> None:
    del task, done, total


@dataclass(frozen=True)
class FrameDetections:
    """A labeler's answers on a video: ``detections[i]`` were found on ``frames[i]``.

    Attributes:
        labeler: The labeler's name.
        classes: Its class names (``class_ids`` index them).
        frames: The labelled frames, ascending (a chosen frame that could not be decoded is
            not among them).
        detections: One ``Detections`` per frame.
    """

    labeler: str
    classes: tuple[str, ...]
    frames: npt.NDArray[np.int64]
    detections: tuple[Detections, ...]

    def __len__(self) -> int:
        return len(self.frames)

    def count(self) -> int:
        """Detections over all frames."""
        return sum(len(found) for found in self.detections)


def every_nth(
    frame_count: int, every: int, *, start: int = 0, stop: int | None = None
) -> list[int]:
    """Frames ``start, start + every, ...`` below ``stop``, and always the last one, so the
    span's end is labelled too.

    Example:
        >>> every_nth(10, 4)
        [0, 4, 8, 9]
    """
    if every < 1:
        raise ValueError(f"every must be at least 1, got {every}")
    end = frame_count if stop is None else min(stop, frame_count)
    frames = list(range(start, end, every))
    if frames and frames[-1] != end - 1:
        frames.append(end - 1)
    return frames


def label_frames(
    reader: VideoReader,
    labeler: Labeler,
    frames: Iterable[int],
    *,
    max_detections: int = MAX_DETECTIONS,
    report: Progress = _quiet,
) -> FrameDetections:
    """Run ``labeler`` on ``frames`` of ``reader``'s video.

    Args:
        reader: The video (frames come from it exactly, by index).
        labeler: Any ``Labeler``.
        frames: The frames to label (any order; each once). Those that cannot be decoded are
            left out of the result (the reader reports them).
        max_detections: The most detections kept on a frame, the highest-scoring; one
            warning names the frames over it and how many were dropped.
        report: Progress, ``report("label", done, total)`` after each batch.

    Raises:
        LabelerError: The labeler failed or answered wrongly; it names the frame.
    """
    if max_detections < 1:
        raise ValueError(f"max_detections must be at least 1, got {max_detections}")
    chosen = sorted(set(int(f) for f in frames))
    wanted = set(chosen)
    to_read: Iterable[int] = (
        range(chosen[0], chosen[-1] + 1) if labeler.sequential and chosen else chosen
    )
    size = max(1, labeler.batch_size)
    found: list[tuple[int, Detections]] = []
    batch: list[tuple[int, RGB]] = []
    dropped = _Dropped()
    report("label", 0, len(chosen))
    for decoded in reader.read_frames(to_read):
        batch.append((decoded.index, decoded.image))
        if len(batch) == size:
            found += _kept(labeler, batch, wanted, max_detections, dropped)
            batch = []
            report("label", len(found), len(chosen))
    if batch:
        found += _kept(labeler, batch, wanted, max_detections, dropped)
        report("label", len(found), len(chosen))
    _warn_capped(labeler, dropped.capped, max_detections)
    if dropped.empty:  # counted in video classes and events, they said objects were there
        log.warning(
            "labeler %r: %d boxes of no size (right edge not past the left, or bottom not below "
            "the top) dropped on %d frames, the first on frame %d",
            labeler.name,
            sum(dropped.empty.values()),
            len(dropped.empty),
            min(dropped.empty),
        )
    labelled = np.asarray([index for index, _ in found], dtype=np.int64)
    return FrameDetections(
        labeler.name, tuple(labeler.classes), labelled, tuple(d for _, d in found)
    )


@dataclass
class _Dropped:
    """What a run dropped, by frame: detections the labeler gave where over the cap, and boxes
    of no size."""

    capped: dict[int, int] = field(default_factory=dict)
    empty: dict[int, int] = field(default_factory=dict)


def _kept(
    labeler: Labeler,
    batch: Sequence[tuple[int, RGB]],
    wanted: set[int],
    limit: int,
    dropped: _Dropped,
) -> list[tuple[int, Detections]]:
    """The wanted frames of ``batch`` with their detections of some size, each frame's best
    ``limit`` (``dropped`` counts what was left out)."""
    kept = []
    for answer, (index, _) in zip(_detect(labeler, batch), batch, strict=True):
        if index not in wanted:
            continue
        sized = (answer.xyxy[:, 2] > answer.xyxy[:, 0]) & (answer.xyxy[:, 3] > answer.xyxy[:, 1])
        found = answer if sized.all() else answer[np.flatnonzero(sized)]
        if len(found) < len(answer):
            dropped.empty[index] = len(answer) - len(found)
        if len(found) > limit:
            dropped.capped[index] = len(found)
        best = np.sort(np.argsort(-found.scores, kind="stable")[:limit])
        kept.append((index, found if len(found) <= limit else found[best]))
    return kept


def _warn_capped(labeler: Labeler, given: dict[int, int], limit: int) -> None:
    """One line for the frames whose detections were capped: which, and how many dropped."""
    if not given:
        return
    shown = ", ".join(f"{frame} ({count - limit})" for frame, count in list(given.items())[:5])
    more = f" and {len(given) - 5} more" if len(given) > 5 else ""
    log.warning(
        "labeler %r: over %d detections on %d frames, the best %d of each kept; dropped on "
        "frame %s%s, %d in all (raise --min-score)",
        labeler.name,
        limit,
        len(given),
        limit,
        shown,
        more,
        sum(given.values()) - limit * len(given),
    )


def _detect(labeler: Labeler, batch: Sequence[tuple[int, RGB]]) -> list[Detections]:
    first = batch[0][0]
    try:
        answers = labeler.detect([image for _, image in batch])
    except LabelerError as error:
        if error.frame is not None:
            raise
        raise LabelerError(error.labeler, error.detail, path=error.path, frame=first) from error
    except TweenlabError:
        raise
    except Exception as error:  # a plugin's own failure: name it, keep the cause
        detail = f"failed: {type(error).__name__}: {error}"
        raise LabelerError(labeler.name, detail, frame=first) from error
    if len(answers) != len(batch) or not all(isinstance(a, Detections) for a in answers):
        detail = f"answered {len(answers)} results for {len(batch)} frames"
        raise LabelerError(labeler.name, detail, frame=first)
    for (index, _), found in zip(batch, answers, strict=True):
        _check_boxes(labeler, index, found)
    return list(answers)


def _check_boxes(labeler: Labeler, index: int, found: Detections) -> None:
    if not len(found):
        return
    if not np.isfinite(found.xyxy).all() or not np.isfinite(found.scores).all():
        raise LabelerError(labeler.name, "gave a box or score that is not a number", frame=index)
    bad = (found.class_ids < 0) | (found.class_ids >= len(labeler.classes))
    if bad.any():
        class_id = int(found.class_ids[bad][0])
        detail = f"gave class id {class_id}, but knows {len(labeler.classes)} classes"
        raise LabelerError(labeler.name, detail, frame=index)
