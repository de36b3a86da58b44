"""Edits of an annotation set that never destroy more than asked.

Each edit is a small frozen dataclass: ``apply(annotations)`` returns a new ``AnnotationSet``
that shares every track it does not touch, or raises ``AnnotationError`` (``UnknownTrackError``
for a missing track) and changes nothing; ``describe()`` says what it does, for the history panel
and the audit log. ``edit_to_json`` / ``edit_from_json`` let the server store them.

The model is CVAT's: a track is keyframes; ``outside``, ``occluded`` and frame attributes step
from the previous keyframe and geometry is interpolated between keyframes. So taking an object off
one frame is two keyframes (outside on the frame, the old state back on the next one), never the
loss of the whole track that users of CVAT and Label Studio complain about.

A keyframe that an edit adds on an interpolated frame holds the state shown there, so the frames
around it keep their state: exactly for their outside/occluded/attributes, and for geometry up to
rounding when the kind is interpolated linearly (boxes, points, cuboids); a kind interpolated
non-linearly (masks) can shift slightly between the new keyframe and its neighbours.

Example:
    >>> from tweenlab.core import AnnotationSet, Box, Keyframe, Schema, Track, VideoRef
    >>> track = Track(1, "car", {0: Keyframe(Box(0, 0, 10, 10)), 8: Keyframe(Box(8, 0, 10, 10))})
    >>> video = VideoRef("clip.mp4", frame_count=10, width=64, height=64)
    >>> edited = DeleteFrame(1, 4).apply(AnnotationSet(video, Schema.of("car"), {1: track}))
    >>> [(s.frame, s.outside) for s in edited.track(1).states(7)][3:6]
    [(3, False), (4, True), (5, False)]
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from tweenlab.core.annotations import AnnotationSet
from tweenlab.core.schema import AttributeValue, LabelSpec
from tweenlab.core.track import Attributes, Keyframe, Track, TrackState
from tweenlab.errors import AnnotationError

__all__ = [
    "EDIT_TYPES",
    "AddTrack",
    "ChangeLabel",
    "DeleteFrame",
    "DeleteFromHere",
    "DeleteTrack",
    "Edit",
    "MergeTracks",
    "RemoveKeyframe",
    "SetKeyframe",
    "SetOccluded",
    "SetOutside",
    "SplitTrack",
]


class Edit(ABC):
    """One change to an annotation set; pure, so it can be replayed, undone and stored.

    Attributes:
        type_name: The ``"type"`` of the edit in its JSON form.

    Example:
        >>> edit: Edit = DeleteFromHere(track_id=3, frame=40)
        >>> edit.type_name, edit.describe()
        ('delete_from_here', 'delete track 3 from frame 40 on')
    """

    type_name: ClassVar[str]

    @abstractmethod
    def apply(self, annotations: AnnotationSet) -> AnnotationSet:
        """The edited set; raises ``AnnotationError`` (changing nothing) when it cannot apply."""

    @abstractmethod
    def describe(self) -> str:
        """What the edit does, in words a person reads in the history."""


# -- helpers ---------------------------------------------------------------------------------


def _where(track_id: int) -> str:
    return f"track {track_id}"


def _check_frame(annotations: AnnotationSet, frame: int, track_id: int) -> None:
    last = annotations.video.frame_count - 1
    if not 0 <= frame <= last:
        raise AnnotationError(
            f"frame {frame} is outside the video (0..{last})", field=_where(track_id)
        )


def _keyframe(
    state: TrackState, *, outside: bool | None = None, occluded: bool | None = None
) -> Keyframe:
    """The state shown on a frame as a keyframe, optionally with a flag changed."""
    return Keyframe(
        state.shape,
        outside=state.outside if outside is None else outside,
        occluded=state.occluded if occluded is None else occluded,
        attributes=state.attributes,
    )


def _present(track: Track, frame: int) -> TrackState:
    """The state on ``frame``, which must show the object."""
    state = track.at(frame)
    if state is None or state.outside:
        raise AnnotationError(f"is not on frame {frame}; nothing to delete", field=_where(track.id))
    return state


def _frames_text(frames: Iterable[int], most: int = 8) -> str:
    """``[1, 2, 3, 7]`` as ``"1-3, 7"``; long lists end in ``"..."``."""
    runs: list[list[int]] = []
    for frame in sorted(frames):
        if runs and frame == runs[-1][1] + 1:
            runs[-1][1] = frame
        else:
            runs.append([frame, frame])
    parts = [f"{a}" if a == b else f"{a}-{b}" for a, b in runs]
    return ", ".join(parts[:most]) + (", ..." if len(parts) > most else "")


def _runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """The ``(first, last)`` frames of each run of True in ``mask``."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    changes = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b) - 1) for a, b in zip(changes[::2], changes[1::2], strict=True)]


def _visibility(track: Track, frame_count: int) -> npt.NDArray[np.bool_]:
    visible = np.zeros(frame_count, dtype=np.bool_)
    visible[track.visible_frames(frame_count)] = True
    return visible


# -- adding and setting ----------------------------------------------------------------------


@dataclass(frozen=True)
class AddTrack(Edit):
    """Add a track under its own id, which must be free.

    Example:
        >>> from tweenlab.core import Box, Keyframe, Track
        >>> AddTrack(Track(7, "car", {0: Keyframe(Box(0, 0, 4, 4))})).describe()
        "add track 7 ('car')"
    """

    type_name: ClassVar[str] = "add_track"
    track: Track

    def apply(self, annotations: AnnotationSet) -> AnnotationSet:
        if self.track.id in annotations.tracks:
            raise AnnotationError(
                f"the id is taken (next free id: {annotations.next_track_id()})",
                field=_where(self.track.id),
            )
        return annotations.with_tracks([self.track])

    def describe(self) -> str:
        return f"add track {self.track.id} ({self.track.label!r})"


@dataclass(frozen=True)
class SetKeyframe(Edit):
    """Add or replace the keyframe on ``frame``; editing a shape on any frame makes it a keyframe.

    Example:
        >>> from tweenlab.core import Box, Keyframe
        >>> SetKeyframe(3, 12, Keyframe(Box(0, 0, 4, 4))).describe()
        'set a keyframe of track 3 on frame 12'
    """

    type_name: ClassVar[str] = "set_keyframe"
    track_id: int
    frame: int
    keyframe: Keyframe

    def apply(self, annotations: AnnotationSet) -> AnnotationSet:
        track = _at_end(annotations.track(self.track_id), self.frame)
        _check_frame(annotations, self.frame, self.track_id)
        kind = self.keyframe.shape.kind
        if kind is not track.kind:
            raise AnnotationError(
                f"holds {track.kind.value} shapes, not {kind.value}", field=_where(self.track_id)
            )
        return annotations.with_tracks([track.with_keyframe(self.frame, self.keyframe)])

    def describe(self) -> str:
        return f"set a keyframe of track {self.track_id} on frame {self.frame}"


def _at_end(track: Track, frame: int) -> Track:
    """``track`` settled (``Track.settled``) for an edit on ``frame`` at or past one of its end
    keyframes, where a carried extension may hang on it: the frames the edit does not touch
    keep their state."""
    if frame <= track.first_frame or frame >= track.last_frame:
        return track.settled()
    return track


def _with_flag(
    annotations: AnnotationSet,
    track_id: int,
    frame: int,
    *,
    outside: bool | None = None,
    occluded: bool | None = None,
) -> AnnotationSet:
    """Pin the state shown on ``frame`` as a keyframe with a flag changed."""
    track = _at_end(annotations.track(track_id), frame)
    _check_frame(annotations, frame, track_id)
    state = track.at(frame)
    if state is None:
        raise AnnotationError(
            f"starts on frame {track.first_frame}; it has no shape on frame {frame}",
            field=_where(track_id),
        )
    pinned = _keyframe(state, outside=outside, occluded=occluded)
    return annotations.with_tracks([track.with_keyframe(frame, pinned)])


@dataclass(frozen=True)
class SetOutside(Edit):
    """Mark the object outside (or back inside) from ``frame`` until the track's next keyframe.

    The state shown on ``frame`` becomes a keyframe with the flag changed, keeping its shape, so
    switching it back restores the frame.

    Example:
        >>> SetOutside(3, 12, True).describe()
        'mark track 3 outside from frame 12'
    """

    type_name: ClassVar[str] = "set_outside"
    track_id: int
    frame: int
    outside: bool

    def apply(self, annotations: AnnotationSet) -> AnnotationSet:
        return _with_flag(annotations, self.track_id, self.frame, outside=self.outside)

    def describe(self) -> str:
        where = "outside" if self.outside else "inside"
        return f"mark track {self.track_id} {where} from frame {self.frame}"


@dataclass(frozen=True)
class SetOccluded(Edit):
    """Mark the object occluded (or not) from ``frame`` until the track's next keyframe.

    Example:
        >>> SetOccluded(3, 12, False).describe()
        'mark track 3 not occluded from frame 12'
    """

    type_name: ClassVar[str] = "set_occluded"
    track_id: int
    frame: int
    occluded: bool

    def apply(self, annotations: AnnotationSet) -> AnnotationSet:
        return _with_flag(annotations, self.track_id, self.frame, occluded=self.occluded)

    def describe(self) -> str:
        where = "occluded" if self.occluded else "not occluded"
        return f"mark track {self.track_id} {where} from frame {self.frame}"


# -- deleting --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeleteFrame(Edit):
    """Delete the object on ``frame`` only: every other frame keeps its state.

    The frame gets an outside keyframe holding the shape shown there (a keyframe on ``frame``
    keeps its shape, occluded flag and attributes, and only becomes outside, so marking it inside
    again undoes the deletion), and ``frame + 1`` gets a keyframe restoring what was shown there,
    unless it is a keyframe already or past the end of the video. Refused where the object is
    not shown. To make an interpolated shape of a keyframe, use ``RemoveKeyframe``.

    Example:
        >>> DeleteFrame(3, 12).describe()
        'delete track 3 on frame 12 only'
    """

    type_name: ClassVar[str] = "delete_frame"
    track_id: int
    frame: int

    def apply(self, annotations: AnnotationSet) -> AnnotationSet:
        track = _at_end(annotations.track(self.track_id), self.frame)
        _check_frame(annotations, self.frame, self.track_id)
        state = _present(track, self.frame)
        changes = {self.frame: _keyframe(state, outside=True)}
        after = self.frame + 1
        if after < annotations.video.frame_count and after not in track.keyframes:
            following = track.at(after)
            assert following is not None  # shown on frame, so it exists after it
            changes[after] = _keyframe(following)
        return annotations.with_tracks([track.with_keyframes({**track.keyframes, **changes})])

    def describe(self) -> str:
        return f"delete track {self.track_id} on frame {self.frame} only"


@dataclass(frozen=True)
class RemoveKeyframe(Edit):
    """Drop the keyframe on ``frame``, so the shape there is interpolated again.

    The last keyframe of a track cannot go: that is ``DeleteTrack``.

    Example:
        >>> RemoveKeyframe(3, 12).describe()
        'remove the keyframe of track 3 on frame 12'
    """

    type_name: ClassVar[str] = "remove_keyframe"
    track_id: int
    frame: int

    def apply(self, annotations: AnnotationSet) -> AnnotationSet:
        track = _at_end(annotations.track(self.track_id), self.frame)
        if self.frame not in track.keyframes:
            raise AnnotationError(
                f"has no keyframe on frame {self.frame} (keyframes: {_frames_text(track.frames)})",
                field=_where(self.track_id),
            )
        rest = track.without_keyframes({self.frame})
        if rest is None:
            raise AnnotationError(
                f"frame {self.frame} holds its only keyframe; delete the track instead",
                field=_where(self.track_id),
            )
        return annotations.with_tracks([rest])

    def describe(self) -> str:
        return f"remove the keyframe of track {self.track_id} on frame {self.frame}"


@dataclass(frozen=True)
class DeleteFromHere(Edit):
    """The object ends on ``frame``: keyframes from ``frame`` on go, and it is outside there.

    The outside keyframe holds the shape shown on ``frame``, so frames before it keep theirs.
    Refused on or before the track's first keyframe (that deletes all of it: ``DeleteTrack``) and
    where the object is already gone from ``frame`` on.

    Example:
        >>> DeleteFromHere(3, 12).describe()
        'delete track 3 from frame 12 on'
    """

    type_name: ClassVar[str] = "delete_from_here"
    track_id: int
    frame: int

    def apply(self, annotations: AnnotationSet) -> AnnotationSet:
        track = _at_end(annotations.track(self.track_id), self.frame)
        _check_frame(annotations, self.frame, self.track_id)
        state = track.at(self.frame)
        if state is None or self.frame <= track.first_frame:
            raise AnnotationError(
                f"starts on frame {track.first_frame}, so deleting from frame {self.frame} on "
                "would delete all of it; delete the track instead",
                field=_where(self.track_id),
            )
        kept = {f: k for f, k in track.keyframes.items() if f < self.frame}
        if not kept[max(kept)].outside:
            kept[self.frame] = _keyframe(state, outside=True)
        elif len(kept) == len(track.keyframes):
            raise AnnotationError(
                f"is already gone from frame {self.frame} on", field=_where(self.track_id)
            )
        return annotations.with_tracks([track.with_keyframes(kept)])

    def describe(self) -> str:
        return f"delete track {self.track_id} from frame {self.frame} on"


@dataclass(frozen=True)
class DeleteTrack(Edit):
    """Delete a whole track.

    Example:
        >>> DeleteTrack(3).describe()
        'delete track 3'
    """

    type_name: ClassVar[str] = "delete_track"
    track_id: int

    def apply(self, annotations: AnnotationSet) -> AnnotationSet:
        annotations.track(self.track_id)
        return annotations.with_tracks([], removed=[self.track_id])

    def describe(self) -> str:
        return f"delete track {self.track_id}"


# -- splitting, merging, relabelling -------------------------------------------------------


@dataclass(frozen=True)
class SplitTrack(Edit):
    """Cut a track in two at ``frame``: from there on the object is a new track.

    The first track keeps the keyframes before ``frame`` and becomes outside on it; the new one
    (id ``new_id``, or the next free id) starts on ``frame`` with the state shown there and takes
    the later keyframes. Where the object is outside on ``frame``, the new track starts at the
    next keyframe. ``MergeTracks`` puts the two back together.

    Example:
        >>> SplitTrack(3, 12).describe()
        'split track 3 at frame 12'
    """

    type_name: ClassVar[str] = "split_track"
    track_id: int
    frame: int
    new_id: int | None = None

    def apply(self, annotations: AnnotationSet) -> AnnotationSet:
        track = _at_end(annotations.track(self.track_id), self.frame)
        _check_frame(annotations, self.frame, self.track_id)
        new_id = annotations.next_track_id() if self.new_id is None else self.new_id
        if new_id in annotations.tracks:
            raise AnnotationError("the id is taken", field=_where(new_id))
        state = track.at(self.frame)
        if state is None or self.frame <= track.first_frame:
            raise AnnotationError(
                f"starts on frame {track.first_frame}; split it on a later frame",
                field=_where(self.track_id),
            )
        head = {f: k for f, k in track.keyframes.items() if f < self.frame}
        tail = {f: k for f, k in track.keyframes.items() if f > self.frame}
        if not state.outside:
            tail[self.frame] = _keyframe(state)
        if not tail:
            raise AnnotationError(
                f"is gone from frame {self.frame} on; nothing to split off",
                field=_where(self.track_id),
            )
        if state.keyframe or not state.outside:
            head[self.frame] = _keyframe(state, outside=True)
        first = track.with_keyframes(head)
        second = replace(track.with_keyframes(tail), id=new_id)
        return annotations.with_tracks([first, second])

    def describe(self) -> str:
        into = "" if self.new_id is None else f" into track {self.new_id}"
        return f"split track {self.track_id} at frame {self.frame}{into}"


def _merged_keyframes(first: Track, other: Track, frame_count: int) -> dict[int, Keyframe]:
    """``first``'s keyframes plus ``other``'s runs of visible frames, each frame as it was."""
    mine, theirs = _visibility(first, frame_count), _visibility(other, frame_count)
    clash = np.flatnonzero(mine & theirs)
    if clash.size:
        raise AnnotationError(
            f"both tracks are shown on frames {_frames_text(clash.tolist())}",
            field=f"merge of track {other.id} into track {first.id}",
        )
    keys = {f: k for f, k in first.keyframes.items() if not theirs[f]}
    for start, end in _runs(theirs):
        keys.update({f: k for f, k in other.keyframes.items() if start <= f <= end})
        after = end + 1
        if after < frame_count and mine[after]:
            _pin_end(keys, other, end, first.keyframes[after])
        elif after < frame_count:
            keys[after] = other.keyframes[after]
    for _, end in _runs(mine):
        if end + 1 < frame_count and theirs[end + 1]:
            _pin_end(keys, first, end, other.keyframes[end + 1])
    return keys


def _pin_end(keys: dict[int, Keyframe], track: Track, end: int, successor: Keyframe) -> None:
    """Keep ``track``'s shapes up to ``end`` when the keyframe after it becomes ``successor``.

    ``track`` ends with an outside keyframe on ``end + 1`` that its shapes are interpolated
    toward; when the merged track has another shape there, pin the one shown on ``end``.
    """
    if end in track.keyframes or track.keyframes[end + 1].shape == successor.shape:
        return
    state = track.at(end)
    assert state is not None
    keys[end] = _keyframe(state)


@dataclass(frozen=True)
class MergeTracks(Edit):
    """Join ``other_id`` into ``track_id``: the other track fills the frames where the first
    is outside or absent, and is removed.

    Both must have the same label and shape kind; frames on which both are shown are a conflict,
    refused with those frames named. Every frame keeps the state it had in its own track.

    Example:
        >>> MergeTracks(3, 5).describe()
        'merge track 5 into track 3'
    """

    type_name: ClassVar[str] = "merge_tracks"
    track_id: int
    other_id: int

    def apply(self, annotations: AnnotationSet) -> AnnotationSet:
        first = annotations.track(self.track_id).settled()
        other = annotations.track(self.other_id).settled()
        where = f"merge of track {self.other_id} into track {self.track_id}"
        if first.id == other.id:
            raise AnnotationError("a track cannot merge with itself", field=where)
        if (first.label, first.kind) != (other.label, other.kind):
            raise AnnotationError(
                f"needs the same label and shape kind, got {first.label!r} "
                f"{first.kind.value} and {other.label!r} {other.kind.value}",
                field=where,
            )
        keys = _merged_keyframes(first, other, annotations.video.frame_count)
        merged = first.with_keyframes(keys)
        return annotations.with_tracks([merged], removed=[other.id])

    def describe(self) -> str:
        return f"merge track {self.other_id} into track {self.track_id}"


def _carried(label: LabelSpec, values: Attributes, *, per_frame: bool) -> dict[str, AttributeValue]:
    """``values`` that ``label`` has (in its scope) and accepts; defaults for the rest."""
    carried: dict[str, AttributeValue] = {}
    for spec in label.attributes:
        if spec.per_frame != per_frame:
            continue
        assert spec.default is not None
        carried[spec.name] = spec.default
        # a value the new label does not allow falls back to its default
        with suppress(AnnotationError):
            if spec.name in values:
                carried[spec.name] = spec.check(values[spec.name])
    return carried


@dataclass(frozen=True)
class ChangeLabel(Edit):
    """Give a track another label of the schema, which must allow the track's shape kind.

    Attributes whose names the new label also has (in the same scope, per track or per frame)
    keep their values where the new label accepts them; all others take the new label's defaults.

    Example:
        >>> ChangeLabel(3, "truck").describe()
        "relabel track 3 as 'truck'"
    """

    type_name: ClassVar[str] = "change_label"
    track_id: int
    label: str

    def apply(self, annotations: AnnotationSet) -> AnnotationSet:
        track = annotations.track(self.track_id)
        spec = annotations.schema.label(self.label)
        annotations.schema.check_kind(self.label, track.kind)
        keys = {
            frame: replace(key, attributes=_carried(spec, key.attributes, per_frame=True))
            for frame, key in track.keyframes.items()
        }
        attributes = _carried(spec, track.attributes, per_frame=False)
        relabelled = replace(track, label=self.label, keyframes=keys, attributes=attributes)
        return annotations.with_tracks([relabelled])

    def describe(self) -> str:
        return f"relabel track {self.track_id} as {self.label!r}"


EDIT_TYPES: dict[str, type[Edit]] = {
    edit.type_name: edit
    for edit in (
        AddTrack,
        SetKeyframe,
        SetOutside,
        SetOccluded,
        DeleteFrame,
        RemoveKeyframe,
        DeleteFromHere,
        DeleteTrack,
        SplitTrack,
        MergeTracks,
        ChangeLabel,
    )
}
"""Every edit class by its ``type_name``."""
