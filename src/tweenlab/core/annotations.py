"""The annotations of one video: tracks, frame tags, temporal events and clip/video classes.

An ``AnnotationSet`` is immutable and checked against its schema and video when built; edits
(``tweenlab.core.edits``) make new sets that share every unchanged track.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from tweenlab.core.limits import MAX_FRAMES, MAX_SIDE
from tweenlab.core.schema import AttributeValue, Schema
from tweenlab.core.track import Attributes, Track
from tweenlab.errors import AnnotationError, UnknownTrackError

__all__ = ["AnnotationSet", "ClipClass", "Event", "FrameTag", "VideoRef"]


def _frozen(values: Mapping[str, AttributeValue] | None) -> Attributes:
    return MappingProxyType(dict(values or {}))


@dataclass(frozen=True)
class VideoRef:
    """The video an annotation set belongs to.

    Attributes:
        name: The file name (or the path as given).
        frame_count: Frames in the video; every frame index must be below it.
        width: Frame width in pixels (as displayed).
        height: Frame height in pixels (as displayed).
        fps: Nominal frame rate.
    """

    name: str
    frame_count: int
    width: int
    height: int
    fps: Fraction | int = Fraction(25)

    def __post_init__(self) -> None:
        if self.frame_count < 1 or self.width < 1 or self.height < 1:
            raise AnnotationError(
                f"needs a positive frame count and size, got {self.frame_count} frames of "
                f"{self.width}x{self.height}",
                field="video",
            )
        if self.frame_count > MAX_FRAMES or max(self.width, self.height) > MAX_SIDE:
            raise AnnotationError(
                f"{self.frame_count} frames of {self.width}x{self.height}: at most {MAX_FRAMES} "
                f"frames of {MAX_SIDE} px a side",
                field="video",
            )
        if Fraction(self.fps) <= 0:
            raise AnnotationError(f"fps: must be a positive rate, got {self.fps}", field="video")
        object.__setattr__(self, "fps", Fraction(self.fps))

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "name": self.name,
            "frame_count": self.frame_count,
            "width": self.width,
            "height": self.height,
            "fps": f"{self.fps.numerator}/{self.fps.denominator}",
        }


@dataclass(frozen=True)
class FrameTag:
    """A label on a whole frame (``blurry``, ``night``)."""

    frame: int
    label: str
    attributes: Attributes = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "attributes", _frozen(self.attributes))


@dataclass(frozen=True)
class Event:
    """A temporal event, an action or activity, over frames ``start..end`` (inclusive)."""

    start: int
    end: int
    label: str
    attributes: Attributes = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise AnnotationError(
                f"ends ({self.end}) before it starts ({self.start})", field=f"event {self.label!r}"
            )
        object.__setattr__(self, "attributes", _frozen(self.attributes))


@dataclass(frozen=True)
class ClipClass:
    """A class for the whole video (``start is None``) or a clip of it (``start..end``)."""

    label: str
    start: int | None = None
    end: int | None = None
    attributes: Attributes = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if (self.start is None) != (self.end is None):
            raise AnnotationError(
                "give both start and end, or neither", field=f"class {self.label!r}"
            )
        if self.start is not None and self.end is not None and self.end < self.start:
            raise AnnotationError("ends before it starts", field=f"class {self.label!r}")
        object.__setattr__(self, "attributes", _frozen(self.attributes))


@dataclass(frozen=True)
class AnnotationSet:
    """Everything annotated on one video.

    Example:
        >>> from tweenlab.core.shapes import Box
        >>> from tweenlab.core.track import Keyframe
        >>> video = VideoRef("clip.mp4", frame_count=100, width=640, height=360)
        >>> track = Track(1, "car", {0: Keyframe(Box(0, 0, 10, 10))})
        >>> annotations = AnnotationSet(video, Schema.of("car"), {1: track})
        >>> annotations.track(1).label
        'car'
    """

    video: VideoRef
    schema: Schema
    tracks: Mapping[int, Track] = field(default_factory=dict)
    tags: tuple[FrameTag, ...] = ()
    events: tuple[Event, ...] = ()
    classes: tuple[ClipClass, ...] = ()

    def __post_init__(self) -> None:
        tracks = dict(sorted(self.tracks.items()))
        for key, track in tracks.items():
            if key != track.id:
                raise AnnotationError(f"is stored under id {key}", field=f"track {track.id}")
            self._check_track(track)
        for tag in self.tags:
            self._check_frame(tag.frame, f"tag {tag.label!r}")
            self.schema.label(tag.label)
        for event in self.events:
            self._check_frame(event.end, f"event {event.label!r}")
            self.schema.label(event.label)
        for clip in self.classes:
            if clip.end is not None:
                self._check_frame(clip.end, f"class {clip.label!r}")
            self.schema.label(clip.label)
        object.__setattr__(self, "tracks", MappingProxyType(tracks))
        object.__setattr__(self, "tags", tuple(self.tags))
        object.__setattr__(self, "events", tuple(self.events))
        object.__setattr__(self, "classes", tuple(self.classes))

    def _check_frame(self, frame: int, what: str) -> None:
        if not 0 <= frame < self.video.frame_count:
            raise AnnotationError(
                f"frame {frame} is outside the video (0..{self.video.frame_count - 1})", field=what
            )

    def _check_track(self, track: Track) -> None:
        where = f"track {track.id}"
        self.schema.check_kind(track.label, track.kind)
        self._check_frame(track.last_frame, where)
        if track.inbetween:
            self._check_frame(min(track.inbetween), f"{where}.inbetween")
            self._check_frame(max(track.inbetween), f"{where}.inbetween")
        if track.leaves is not None:
            self._check_frame(track.leaves, f"{where}.leaves")
        label = self.schema.label(track.label)
        label.check_attributes(track.attributes, per_frame=False)
        for frame, keyframe in track.keyframes.items():
            try:
                label.check_attributes(keyframe.attributes, per_frame=True)
                if label.skeleton is not None:
                    label.skeleton.check(keyframe.shape)
            except AnnotationError as error:
                raise AnnotationError(
                    error.detail, field=f"{where} frame {frame} {error.field}"
                ) from None

    def track(self, track_id: int) -> Track:
        """The track with id ``track_id``."""
        try:
            return self.tracks[track_id]
        except KeyError:
            raise UnknownTrackError(f"no track {track_id}", field="track") from None

    def next_track_id(self) -> int:
        """An id no track has yet."""
        return max(self.tracks, default=0) + 1

    def with_tracks(self, tracks: Iterable[Track], *, removed: Iterable[int] = ()) -> AnnotationSet:
        """A copy with ``tracks`` added or replaced and the ids in ``removed`` dropped."""
        gone = set(removed)
        updated = {k: v for k, v in self.tracks.items() if k not in gone}
        updated.update({track.id: track for track in tracks})
        return replace(self, tracks=updated)

    def shape_count(self) -> int:
        """Keyframes over all tracks."""
        return sum(len(track.keyframes) for track in self.tracks.values())
