"""The edit journal: the current annotation set, undo and redo, and who changed what.

A ``Journal`` applies edits (``tweenlab.core.edits``) and keeps, per entry, the sets before and
after. Sets are immutable and an edit shares every track it does not touch, so an entry costs the
tracks it changed, not a copy of the video's annotations. Undo and redo swap the stored sets back
in, so they restore exactly what was there. Edits and entries have a JSON form
(``edit_to_json``, ``JournalEntry.to_json``) for the server to persist.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields
from datetime import UTC, datetime
from typing import Any

from tweenlab.core.annotations import AnnotationSet
from tweenlab.core.edits import EDIT_TYPES, Edit
from tweenlab.core.shapes import shape_from_json
from tweenlab.core.track import Keyframe, Track
from tweenlab.errors import AnnotationError, UsageError

__all__ = ["Journal", "JournalEntry", "edit_from_json", "edit_to_json"]

# The JSON types of the plain fields of edits (dataclass annotations are strings here).
_PLAIN: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "int | None": (int, type(None)),
    "bool": (bool,),
    "str": (str,),
}


def _keyframe_to_json(keyframe: Keyframe) -> dict[str, Any]:
    return {
        "shape": keyframe.shape.to_json(),
        "outside": keyframe.outside,
        "occluded": keyframe.occluded,
        "attributes": dict(keyframe.attributes),
    }


def _keyframe_from_json(data: Mapping[str, Any]) -> Keyframe:
    return Keyframe(
        shape_from_json(dict(data["shape"])),
        outside=bool(data.get("outside", False)),
        occluded=bool(data.get("occluded", False)),
        attributes=dict(data.get("attributes", {})),
    )


def _track_from_json(data: Mapping[str, Any]) -> Track:
    """Rebuild a track from ``Track.to_json`` output."""
    keyframes = {int(k["frame"]): _keyframe_from_json(k) for k in data["keyframes"]}
    return Track(
        int(data["id"]),
        str(data["label"]),
        keyframes,
        attributes=dict(data.get("attributes", {})),
        source=str(data.get("source", "manual")),
        score=None if data.get("score") is None else float(data["score"]),
    )


def edit_to_json(edit: Edit) -> dict[str, Any]:
    """A JSON-serialisable dict with a ``"type"`` key; ``edit_from_json`` reverses it.

    Example:
        >>> from tweenlab.core.edits import DeleteFrame
        >>> edit_to_json(DeleteFrame(3, 12))
        {'type': 'delete_frame', 'track_id': 3, 'frame': 12}
    """
    data: dict[str, Any] = {"type": edit.type_name}
    for item in fields(edit):  # type: ignore[arg-type]  # every edit is a dataclass
        value = getattr(edit, item.name)
        if isinstance(value, Track):
            value = value.to_json()
        elif isinstance(value, Keyframe):
            value = _keyframe_to_json(value)
        data[item.name] = value
    return data


def _field_value(edit: type[Edit], name: str, kind: Any, value: Any) -> Any:
    """``value`` of field ``name`` from its JSON form, checked."""
    if kind == "Track":
        return _track_from_json(value)
    if kind == "Keyframe":
        return _keyframe_from_json(value)
    allowed = _PLAIN[str(kind)]
    if not isinstance(value, allowed) or (bool not in allowed and isinstance(value, bool)):
        raise AnnotationError(
            f"{value!r} is not {kind}", field=f"edit {edit.type_name!r} field {name!r}"
        )
    return value


def edit_from_json(data: Mapping[str, Any]) -> Edit:
    """Rebuild an edit from ``edit_to_json`` output.

    Raises:
        AnnotationError: For an unknown type, a missing or unknown field or a bad value.

    Example:
        >>> edit_from_json({"type": "delete_track", "track_id": 3})
        DeleteTrack(track_id=3)
    """
    name = data.get("type")
    edit = EDIT_TYPES.get(str(name))
    if edit is None:
        raise AnnotationError(f"unknown edit {name!r} (known: {sorted(EDIT_TYPES)})", field="type")
    declared = {item.name: item for item in fields(edit)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(declared) - {"type"})
    if unknown:
        raise AnnotationError(f"unknown fields {unknown}", field=f"edit {name!r}")
    required = [key for key, item in declared.items() if item.default is MISSING]
    missing = [key for key in required if key not in data]
    if missing:
        raise AnnotationError(f"missing {missing}", field=f"edit {name!r}")
    try:
        values = {
            key: _field_value(edit, key, declared[key].type, value)
            for key, value in data.items()
            if key != "type"
        }
        return edit(**values)
    except KeyError as error:
        raise AnnotationError(f"missing {error.args[0]!r}", field=f"edit {name!r}") from None
    except (TypeError, ValueError) as error:
        raise AnnotationError(str(error), field=f"edit {name!r}") from None


@dataclass(frozen=True)
class JournalEntry:
    """One applied edit, for undo and for the audit log ("who changed this").

    Attributes:
        number: 1, 2, 3... in the order edits were applied; never reused in a journal.
        edit: The edit.
        description: ``edit.describe()`` when it was applied.
        timestamp: When it was applied (UTC).
        author: Who applied it, when known.

    Example:
        >>> from tweenlab.core.edits import DeleteTrack
        >>> when = datetime(2024, 5, 1, tzinfo=UTC)
        >>> entry = JournalEntry(1, DeleteTrack(3), "delete track 3", when, author="ana")
        >>> JournalEntry.from_json(entry.to_json()) == entry
        True
    """

    number: int
    edit: Edit
    description: str
    timestamp: datetime
    author: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form (``from_json`` reverses it); the timestamp in ISO 8601."""
        return {
            "number": self.number,
            "edit": edit_to_json(self.edit),
            "description": self.description,
            "timestamp": self.timestamp.isoformat(),
            "author": self.author,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JournalEntry:
        """Rebuild from ``to_json`` output."""
        return cls(
            int(data["number"]),
            edit_from_json(data["edit"]),
            str(data["description"]),
            datetime.fromisoformat(data["timestamp"]),
            data.get("author"),
        )


@dataclass(frozen=True)
class _Step:
    entry: JournalEntry
    before: AnnotationSet
    after: AnnotationSet


def _now() -> datetime:
    return datetime.now(UTC)


class Journal:
    """The annotations of one video as edits are applied, undone and redone.

    Args:
        annotations: The set to start from.
        limit: Entries kept for undo; the oldest are forgotten beyond it.
        clock: Where timestamps come from (tests pass a fixed one).

    Example:
        >>> from tweenlab.core import AnnotationSet, Box, Keyframe, Schema, Track, VideoRef
        >>> from tweenlab.core.edits import DeleteTrack
        >>> video = VideoRef("clip.mp4", frame_count=10, width=64, height=64)
        >>> track = Track(1, "car", {0: Keyframe(Box(0, 0, 4, 4))})
        >>> journal = Journal(AnnotationSet(video, Schema.of("car"), {1: track}))
        >>> len(journal.apply(DeleteTrack(1), author="ana").tracks)
        0
        >>> [(e.number, e.description, e.author) for e in journal.entries]
        [(1, 'delete track 1', 'ana')]
        >>> len(journal.undo().tracks), journal.can_redo
        (1, True)
    """

    def __init__(
        self,
        annotations: AnnotationSet,
        *,
        limit: int = 1000,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        if limit < 1:
            raise UsageError(f"a journal keeps at least 1 entry, got limit={limit}")
        self._current = annotations
        self._done: deque[_Step] = deque(maxlen=limit)
        self._undone: list[_Step] = []
        self._clock = clock
        self._next_number = 1

    @property
    def current(self) -> AnnotationSet:
        """The annotations as they stand."""
        return self._current

    @property
    def limit(self) -> int:
        """Entries kept for undo."""
        assert self._done.maxlen is not None
        return self._done.maxlen

    @property
    def entries(self) -> list[JournalEntry]:
        """The entries in force, oldest first (undone ones are not among them until redone)."""
        return [step.entry for step in self._done]

    @property
    def can_undo(self) -> bool:
        """Whether there is an entry to undo."""
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        """Whether there is an undone entry to redo."""
        return bool(self._undone)

    def apply(self, edit: Edit, *, author: str | None = None) -> AnnotationSet:
        """Apply ``edit``, record it, forget what could be redone; return the new set.

        An edit that raises leaves the journal as it was.
        """
        after = edit.apply(self._current)
        entry = JournalEntry(self._next_number, edit, edit.describe(), self._clock(), author)
        self._next_number += 1
        self._done.append(_Step(entry, self._current, after))
        self._undone.clear()
        self._current = after
        return after

    def undo(self) -> AnnotationSet:
        """Restore the set before the latest entry in force; return it."""
        if not self._done:
            raise AnnotationError("nothing to undo", field="journal")
        step = self._done.pop()
        self._undone.append(step)
        self._current = step.before
        return self._current

    def redo(self) -> AnnotationSet:
        """Re-apply the latest undone entry; return the set after it."""
        if not self._undone:
            raise AnnotationError("nothing to redo", field="journal")
        step = self._undone.pop()
        self._done.append(step)
        self._current = step.after
        return self._current
