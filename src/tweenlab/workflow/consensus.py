"""Consensus: each annotator of one clip scored against the ground truth or, without one,
against every other annotator of the clip (``quality.compare`` each time), so that a manager
sees who disagrees.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from statistics import fmean
from typing import Any

from tweenlab.core import AnnotationSet
from tweenlab.errors import UsageError
from tweenlab.workflow.quality import Agreement, compare

__all__ = ["AnnotatorScore", "consensus"]


@dataclass(frozen=True)
class AnnotatorScore:
    """One annotator's agreement, with the ground truth or with the other annotators.

    Attributes:
        annotator: Who.
        against: The other annotators compared with, in order; empty when scored against the
            ground truth.
        agreements: One ``Agreement`` per comparison (this annotator as the candidate).
        mean_iou: Mean of the agreements' ``mean_iou`` (those that have one; ``None`` if none).
        idf1: Mean IDF1.
        hota: Mean HOTA.
        missing: Mean missing objects per comparison.
        extra: Mean extra objects per comparison.
    """

    annotator: str
    against: tuple[str, ...]
    agreements: tuple[Agreement, ...]
    mean_iou: float | None
    idf1: float
    hota: float
    missing: float
    extra: float

    @classmethod
    def of(
        cls, annotator: str, against: tuple[str, ...], agreements: tuple[Agreement, ...]
    ) -> AnnotatorScore:
        """The score averaged over ``agreements``."""
        ious = [a.mean_iou for a in agreements if a.mean_iou is not None]
        return cls(
            annotator=annotator,
            against=against,
            agreements=agreements,
            mean_iou=fmean(ious) if ious else None,
            idf1=fmean(a.idf1 for a in agreements),
            hota=fmean(a.hota for a in agreements),
            missing=fmean(a.missing for a in agreements),
            extra=fmean(a.extra for a in agreements),
        )

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            **asdict(self),
            "against": list(self.against),
            "agreements": [agreement.to_json() for agreement in self.agreements],
        }


def consensus(
    candidates: Mapping[str, AnnotationSet],
    *,
    reference: AnnotationSet | None = None,
    iou_threshold: float = 0.5,
    frames: Iterable[int] | None = None,
) -> dict[str, AnnotatorScore]:
    """Score every annotator of one clip: against ``reference`` when given (a ground-truth
    task), else against each other annotator (the mean over the others).

    Args:
        candidates: Annotator -> their annotation of the clip.
        reference: The ground truth, if any.
        iou_threshold: As in ``compare``.
        frames: As in ``compare``.

    Example:
        >>> from tweenlab.core import Box, Keyframe, Schema, Track, VideoRef
        >>> video = VideoRef("clip.mp4", frame_count=10, width=64, height=64)
        >>> def boxes(x):
        ...     track = Track(1, "car", {0: Keyframe(Box(x, 0, 10, 10))})
        ...     return AnnotationSet(video, Schema.of("car"), {1: track})
        >>> scores = consensus({"ann": boxes(0), "bob": boxes(1), "cy": boxes(30)})
        >>> [(name, score.idf1) for name, score in scores.items()]
        [('ann', 0.5), ('bob', 0.5), ('cy', 0.0)]
    """
    frame_list = None if frames is None else list(frames)
    if reference is not None:
        return {
            name: AnnotatorScore.of(
                name,
                (),
                (compare(reference, annotation, iou_threshold=iou_threshold, frames=frame_list),),
            )
            for name, annotation in candidates.items()
        }
    if len(candidates) < 2:
        raise UsageError("consensus needs a reference or at least two annotators")
    scores = {}
    for name, annotation in candidates.items():
        others = tuple(other for other in candidates if other != name)
        agreements = tuple(
            compare(candidates[other], annotation, iou_threshold=iou_threshold, frames=frame_list)
            for other in others
        )
        scores[name] = AnnotatorScore.of(name, others, agreements)
    return scores
