"""Tracks: one object through time, as keyframes; every other frame is interpolated.

``outside``, ``occluded`` and frame attributes are step functions from the previous keyframe, as
in CVAT; geometry is interpolated between consecutive keyframes (also toward an ``outside``
keyframe, as CVAT does). After the last keyframe a track that is not outside holds its last shape
to the end of the video; before its first keyframe it does not exist (unless in-betweening
carried it back: below).

A track may also carry in-between shapes (``inbetween``): shapes that motion-guided
in-betweening (``tweenlab.propagation``) computed for frames between two keyframes. They take the
place of straight interpolation on their frames, are not keyframes (a person's keyframes are
never changed by them), and are dropped from a span as soon as a keyframe of that span changes,
to be computed again. Each may carry its confidence (``confidence``, 0..1, as in-betweening
scored it): it goes with its shape, so where the shape is dropped the confidence is too.

In-betweening also extends a track past its ends while the motion is followed: in-between shapes
before the first keyframe (the object is shown from the first of them) and after the last one
(when that is not outside), and ``leaves``, the frame from which it found the object out of the
picture (it left, was lost, or a scene cut came). After the last keyframe a frame without an
in-between shape holds the nearest one before it, and from ``leaves`` on the object is outside.
These are dropped like a span's as soon as the first (or last) keyframe changes or one is added
before (after) it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from tweenlab.core.interpolation import interpolate, interpolate_boxes
from tweenlab.core.schema import AttributeValue
from tweenlab.core.shapes import Shape, ShapeKind
from tweenlab.errors import AnnotationError

__all__ = ["Keyframe", "Track", "TrackState"]

Attributes = Mapping[str, AttributeValue]
_EMPTY: Attributes = MappingProxyType({})


def _frozen(values: Mapping[str, AttributeValue] | None) -> Attributes:
    return MappingProxyType(dict(values or {}))


@dataclass(frozen=True)
class Keyframe:
    """A shape a person (or a model) placed on one frame.

    Attributes:
        shape: The geometry.
        outside: The object is not in the frame from here until the next keyframe.
        occluded: The object is hidden behind something from here until the next keyframe.
        attributes: Per-frame attributes, holding until the next keyframe.
    """

    shape: Shape
    outside: bool = False
    occluded: bool = False
    attributes: Attributes = field(default_factory=lambda: _EMPTY)

    def __post_init__(self) -> None:
        object.__setattr__(self, "attributes", _frozen(self.attributes))


@dataclass(frozen=True)
class TrackState:
    """What a track is on one frame: ``track.at(frame)``.

    Attributes:
        frame: The frame.
        shape: The geometry (interpolated unless ``keyframe``).
        outside: Not in the frame.
        occluded: Hidden.
        attributes: Per-frame attributes in force.
        keyframe: Whether ``frame`` is one of the track's keyframes.
    """

    frame: int
    shape: Shape
    outside: bool
    occluded: bool
    attributes: Attributes
    keyframe: bool

    @property
    def visible(self) -> bool:
        """In the frame (not outside)."""
        return not self.outside


@dataclass(frozen=True)
class Track:
    """One object through the frames of a video.

    Attributes:
        id: Unique within its annotation set.
        label: The label's name.
        keyframes: Frame -> keyframe, at least one.
        attributes: Track attributes (constant over the track).
        source: ``manual``, ``auto`` (a model's, until accepted) or ``imported``.
        inbetween: Frame -> shape computed by motion (not a keyframe): between two keyframes,
            or past the first or last one where in-betweening carried the object.
        score: A model's confidence in the whole track (``0..1``), for ``auto`` tracks.
        confidence: Frame -> how sure in-betweening was of its shape there (``0..1``; the
            lowest of a span is where its next keyframe is needed). Only frames with an
            in-between shape keep one.
        leaves: The frame, after the last keyframe, from which in-betweening found the object
            out of the picture (computed, not a keyframe); ``None`` when it did not.

    Example:
        >>> keys = {0: Keyframe(Box(0, 0, 10, 10)), 10: Keyframe(Box(10, 0, 10, 10))}
        >>> track = Track(1, "car", keys)
        >>> state = track.at(5)
        >>> state.shape.x, state.keyframe
        (5.0, False)
    """

    id: int
    label: str
    keyframes: Mapping[int, Keyframe]
    attributes: Attributes = field(default_factory=lambda: _EMPTY)
    source: str = "manual"
    inbetween: Mapping[int, Shape] = field(default_factory=lambda: MappingProxyType({}))
    score: float | None = None
    confidence: Mapping[int, float] = field(default_factory=lambda: MappingProxyType({}))
    leaves: int | None = None

    def __post_init__(self) -> None:
        if not self.keyframes:
            raise AnnotationError("a track needs at least one keyframe", field=f"track {self.id}")
        if self.score is not None and not 0.0 <= self.score <= 1.0:
            raise AnnotationError(
                f"score {self.score} is not in 0..1", field=f"track {self.id}.score"
            )
        ordered = dict(sorted((int(f), k) for f, k in self.keyframes.items()))
        if min(ordered) < 0:
            raise AnnotationError("frames must not be negative", field=f"track {self.id}")
        kinds = {k.shape.kind for k in ordered.values()}
        if len(kinds) > 1:
            names = sorted(k.value for k in kinds)
            raise AnnotationError(f"mixes shape kinds {names}", field=f"track {self.id}")
        object.__setattr__(self, "keyframes", MappingProxyType(ordered))
        object.__setattr__(self, "attributes", _frozen(self.attributes))
        object.__setattr__(self, "_frames", tuple(ordered))
        if self.leaves is not None and (
            self.leaves <= self.last_frame or ordered[self.last_frame].outside
        ):
            raise AnnotationError(
                f"frame {self.leaves} is not after the last keyframe of the object in the picture",
                field=f"track {self.id}.leaves",
            )
        object.__setattr__(self, "inbetween", MappingProxyType(self._checked_inbetween()))
        object.__setattr__(self, "_guided", tuple(self.inbetween))
        object.__setattr__(self, "confidence", MappingProxyType(self._checked_confidence()))

    def _checked_inbetween(self) -> dict[int, Shape]:
        """``inbetween`` sorted, each of the track's kind on a frame that is not a keyframe and
        not after an outside keyframe: before the first keyframe, inside a span, or after the
        last keyframe and before ``leaves``."""
        frames, kind = self.frames, self.kind
        checked: dict[int, Shape] = {}
        for frame, shape in sorted((int(f), s) for f, s in self.inbetween.items()):
            position = bisect.bisect_right(frames, frame) - 1
            reason = None
            if frame < 0:
                reason = "is negative"
            elif position >= 0 and frames[position] == frame:
                reason = "is a keyframe"
            elif position >= 0 and self.keyframes[frames[position]].outside:
                reason = f"is after keyframe {frames[position]}, where the object is outside"
            elif self.leaves is not None and frame >= self.leaves:
                reason = f"is not before frame {self.leaves}, where the object leaves"
            if reason is not None:
                raise AnnotationError(
                    f"frame {frame} {reason}: no in-between shape there",
                    field=f"track {self.id}.inbetween",
                )
            if shape.kind is not kind:
                raise AnnotationError(
                    f"frame {frame} holds a {shape.kind.value} in a {kind.value} track",
                    field=f"track {self.id}.inbetween",
                )
            checked[frame] = shape
        return checked

    def _checked_confidence(self) -> dict[int, float]:
        """``confidence`` of the frames that have an in-between shape (the rest went with their
        shapes), each in 0..1."""
        checked: dict[int, float] = {}
        for frame, value in sorted((int(f), float(v)) for f, v in self.confidence.items()):
            if frame not in self.inbetween:
                continue
            if not 0.0 <= value <= 1.0:
                raise AnnotationError(
                    f"frame {frame}: {value} is not in 0..1", field=f"track {self.id}.confidence"
                )
            checked[frame] = value
        return checked

    @property
    def kind(self) -> ShapeKind:
        """The kind of every shape in the track."""
        return next(iter(self.keyframes.values())).shape.kind

    @property
    def frames(self) -> tuple[int, ...]:
        """Keyframe frames, ascending."""
        return self._frames  # type: ignore[attr-defined, no-any-return]

    @property
    def first_frame(self) -> int:
        """The first keyframe."""
        return self.frames[0]

    @property
    def start(self) -> int:
        """The first frame the track is shown on: its first in-between shape before the first
        keyframe, else the first keyframe."""
        guided: tuple[int, ...] = self._guided  # type: ignore[attr-defined]
        return min(guided[0], self.frames[0]) if guided else self.frames[0]

    @property
    def last_frame(self) -> int:
        """The last keyframe."""
        return self.frames[-1]

    def at(self, frame: int) -> TrackState | None:
        """The track on ``frame``; ``None`` before it starts (its first keyframe, or its first
        in-between shape before that)."""
        frames = self.frames
        position = bisect.bisect_right(frames, frame) - 1
        if position < 0:
            if frame not in self.inbetween:
                return None
            first = self.keyframes[frames[0]]
            shape = self.inbetween[frame]
            return TrackState(frame, shape, False, first.occluded, first.attributes, False)
        start = frames[position]
        before = self.keyframes[start]
        outside = before.outside
        if start == frame or before.outside:
            shape = before.shape
        elif frame in self.inbetween:
            shape = self.inbetween[frame]
        elif position + 1 == len(frames):
            shape = self._held(frame)
            outside = self.leaves is not None and frame >= self.leaves
        else:
            end = frames[position + 1]
            shape = interpolate(
                before.shape, self.keyframes[end].shape, (frame - start) / (end - start)
            )
        return TrackState(frame, shape, outside, before.occluded, before.attributes, start == frame)

    def _held(self, frame: int) -> Shape:
        """After the last keyframe: the nearest in-between shape before ``frame``, else the last
        keyframe's shape."""
        guided: tuple[int, ...] = self._guided  # type: ignore[attr-defined]
        position = bisect.bisect_left(guided, frame) - 1
        if position >= 0 and guided[position] > self.last_frame:
            return self.inbetween[guided[position]]
        return self.keyframes[self.last_frame].shape

    def states(self, stop: int) -> Iterator[TrackState]:
        """Every frame's state from the track's start up to ``stop`` (exclusive); frames
        before the first keyframe without an in-between shape are skipped."""
        for frame in range(self.start, stop):
            state = self.at(frame)
            if state is not None:
                yield state

    def visible_frames(self, stop: int) -> list[int]:
        """Frames before ``stop`` on which the track is in the picture."""
        frames = np.arange(self.start, max(stop, self.start))
        return frames[self.visible_at(frames)].tolist()  # type: ignore[no-any-return]

    def box_array(
        self, frames: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
        """Boxes ``(F, 5)`` [x, y, w, h, rotation] at ``frames``, vectorised, and visibility.

        Only for box tracks; frames before the track starts (its first keyframe or carried
        shape), without a carried shape there, or outside are not visible.
        """
        if self.kind is not ShapeKind.BOX:
            raise AnnotationError(
                f"is a {self.kind.value} track, not boxes", field=f"track {self.id}"
            )
        keys = np.fromiter(self.frames, dtype=np.int64, count=len(self.frames))
        values = np.array([k.shape.array for k in self.keyframes.values()])  # type: ignore[attr-defined]
        boxes = interpolate_boxes(keys, values, frames)
        if self.inbetween:
            guided = np.fromiter(self.inbetween, dtype=np.int64, count=len(self.inbetween))
            shapes = list(self.inbetween.values())
            where = np.searchsorted(guided, frames, side="right") - 1
            hit = where >= 0
            hit &= (guided[np.maximum(where, 0)] == frames) | (  # held after the last keyframe
                (frames > self.last_frame) & (guided[np.maximum(where, 0)] > self.last_frame)
            )
            for row in np.flatnonzero(hit).tolist():
                boxes[row] = shapes[int(where[row])].array  # type: ignore[attr-defined]
        return boxes, self.visible_at(frames)

    def visible_at(self, frames: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Whether the track is in the picture on each of ``frames`` (vectorised)."""
        keys = np.fromiter(self.frames, dtype=np.int64, count=len(self.frames))
        outside = np.fromiter((k.outside for k in self.keyframes.values()), dtype=np.bool_)
        position = np.searchsorted(keys, frames, side="right") - 1
        shown = (position >= 0) & ~outside[np.maximum(position, 0)]
        if self.leaves is not None:
            shown &= frames < self.leaves
        head = [f for f in self.inbetween if f < self.first_frame]
        if head:
            shown |= np.isin(frames, head)
        return shown

    # -- building new tracks (tracks are immutable) --------------------------------------

    def with_keyframe(self, frame: int, keyframe: Keyframe) -> Track:
        """A copy with ``keyframe`` set on ``frame`` (added or replaced); the in-between shapes
        of the span it falls in are dropped."""
        return self.with_keyframes({**self.keyframes, frame: keyframe})

    def without_keyframes(self, frames: set[int]) -> Track | None:
        """A copy without the keyframes on ``frames``; ``None`` when none would be left. The
        in-between shapes of the spans on either side of a removed keyframe are dropped."""
        kept = {f: k for f, k in self.keyframes.items() if f not in frames}
        return self.with_keyframes(kept) if kept else None

    def settled(self) -> Track:
        """This track with its extension made explicit, showing what it showed: a keyframe on
        the first frame carried before the first keyframe (the first keyframe's flags), and an
        outside keyframe on ``leaves`` (or, without one, a keyframe on the last carried frame,
        whose shape is held after it). Edits at a track's ends, merges, retiming and thinning
        work on it, so the frames they do not touch keep their state."""
        keyframes = dict(self.keyframes)
        first, last = self.keyframes[self.first_frame], self.keyframes[self.last_frame]
        if self.start < self.first_frame:
            keyframes[self.start] = replace(first, shape=self.inbetween[self.start])
        if self.leaves is not None:
            keyframes[self.leaves] = Keyframe(self._held(self.leaves), outside=True)
        elif self.inbetween and max(self.inbetween) > self.last_frame:  # held from its last shape
            end = max(self.inbetween)
            keyframes[end] = replace(last, shape=self.inbetween[end])
        if len(keyframes) == len(self.keyframes):
            return self
        shapes = {f: s for f, s in self.inbetween.items() if f not in keyframes}
        return replace(self, keyframes=keyframes, inbetween=shapes, leaves=None)

    def with_keyframes(self, keyframes: Mapping[int, Keyframe]) -> Track:
        """A copy with these keyframes, keeping the in-between shapes (and ``leaves``) only
        where the keyframes bounding them are unchanged."""
        shapes, leaves = _unchanged(self.inbetween, self.leaves, self.keyframes, keyframes)
        return replace(self, keyframes=keyframes, inbetween=shapes, leaves=leaves)

    def with_inbetween(
        self,
        shapes: Mapping[int, Shape],
        confidence: Mapping[int, float] | None = None,
        *,
        leaves: int | None = None,
    ) -> Track:
        """A copy whose in-between shapes are ``shapes`` added to (or replacing) the current,
        with their ``confidence`` (a replaced shape without one loses its old one), and
        ``leaves`` when given."""
        kept = {f: c for f, c in self.confidence.items() if f not in shapes}
        return replace(
            self,
            inbetween={**self.inbetween, **shapes},
            confidence={**kept, **(confidence or {})},
            leaves=self.leaves if leaves is None else leaves,
        )

    def keeping_inbetween_of(self, previous: Track) -> Track:
        """This track (a whole new version of ``previous``) with only the in-between shapes of
        spans whose two keyframes are unchanged since ``previous``: an editor that sends the
        whole track need not know which shapes an edit made stale."""
        shapes, leaves = _unchanged(self.inbetween, self.leaves, self.keyframes, previous.keyframes)
        return replace(self, inbetween=shapes, leaves=leaves)

    def to_json(self) -> dict[str, Any]:
        """JSON form (see ``tweenlab.formats.native`` for the file schema)."""
        return {
            "id": self.id,
            "label": self.label,
            "source": self.source,
            "attributes": dict(self.attributes),
            "keyframes": [
                {
                    "frame": frame,
                    "shape": k.shape.to_json(),
                    "outside": k.outside,
                    "occluded": k.occluded,
                    "attributes": dict(k.attributes),
                }
                for frame, k in self.keyframes.items()
            ],
            **(
                {
                    "inbetween": [
                        {
                            "frame": frame,
                            "shape": shape.to_json(),
                            **(
                                {"confidence": self.confidence[frame]}
                                if frame in self.confidence
                                else {}
                            ),
                        }
                        for frame, shape in self.inbetween.items()
                    ]
                }
                if self.inbetween
                else {}
            ),
            **({"score": self.score} if self.score is not None else {}),
            **({"leaves": self.leaves} if self.leaves is not None else {}),
        }


def _span(frames: list[int], frame: int) -> tuple[int | None, int | None]:
    """The keyframes either side of ``frame`` (``None`` past an end)."""
    position = bisect.bisect_right(frames, frame)
    return (frames[position - 1] if position else None), (
        frames[position] if position < len(frames) else None
    )


def _unchanged(
    shapes: Mapping[int, Shape],
    leaves: int | None,
    ours: Mapping[int, Keyframe],
    theirs: Mapping[int, Keyframe],
) -> tuple[dict[int, Shape], int | None]:
    """The in-between ``shapes`` (and ``leaves``), laid out over keyframes ``ours``, whose span
    has the same keyframes either side in ``theirs``: an edit that changed neither end of a
    span leaves its shapes valid."""
    mine, other = sorted(ours), sorted(theirs)

    def same(frame: int) -> bool:
        ends = _span(mine, frame)
        return (
            frame not in theirs
            and ends == _span(other, frame)
            and all(ours[k] == theirs[k] for k in ends if k is not None)
        )

    kept = {f: s for f, s in shapes.items() if same(f)}
    return kept, leaves if leaves is not None and same(leaves) else None
