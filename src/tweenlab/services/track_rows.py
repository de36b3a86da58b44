"""The writes behind a task's annotations: a track row's compare and swap, its journal row and
the task's revision, as few statements as a save can take.

A save is the server's busiest write, so its statements are built once here and run through
SQLAlchemy Core (no unit of work): the locked task and the track come in one query on SQLite
(two on PostgreSQL, see ``locked_with_track``), the compare and swap (``UPDATE ... WHERE
revision = :base``), the journal row and the task's revision are one statement each, and what
they wrote is set on the ORM objects the caller holds, as if read back, so nothing is read
again after the commit. On SQLite that matters
twice: a read after the commit would begin another transaction, and a write session's
transaction takes the database's write lock.

Everything here runs inside the caller's transaction; the caller commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from tweenlab.errors import StaleRevisionError
from tweenlab.services.projects import Access
from tweenlab.services.tasks import check_visible, locked_task
from tweenlab.store import JournalRow, Task, TrackRow, utc_now

__all__ = ["change_track", "insert_track", "journal_change", "locked_with_track", "stale", "swap"]

_TASKS: Table = Task.__table__  # type: ignore[assignment]  # a declarative model's Table
_TRACKS: Table = TrackRow.__table__  # type: ignore[assignment]
_TASK_WITH_TRACK = (  # SQLite only: see locked_with_track
    select(Task, TrackRow)
    .outerjoin(TrackRow, (TrackRow.task_id == Task.id) & (TrackRow.number == bindparam("number")))
    .where(Task.id == bindparam("task_id"))
    .execution_options(populate_existing=True)
)
_TRACK = (
    select(TrackRow)
    .where(TrackRow.task_id == bindparam("task"), TrackRow.number == bindparam("number"))
    .execution_options(populate_existing=True)
)
_SWAP = (
    update(_TRACKS)
    .where(_TRACKS.c.id == bindparam("row_id"), _TRACKS.c.revision == bindparam("base"))
    .values(
        revision=bindparam("to_revision"),
        deleted=bindparam("to_deleted"),
        updated_by=bindparam("by"),
        updated_at=bindparam("at"),
        data=bindparam("to_data"),
        label=bindparam("to_label"),
        kind=bindparam("to_kind"),
    )
)
_INSERT_TRACK = insert(_TRACKS)
_INSERT_JOURNAL = insert(JournalRow.__table__)  # type: ignore[arg-type]
_BUMP_TASK = (
    update(_TASKS)
    .where(_TASKS.c.id == bindparam("task"))
    .values(revision=_TASKS.c.revision + 1, updated_at=bindparam("at"))
)


def locked_with_track(
    db: Session, access: Access, task_id: int, number: int
) -> tuple[Task, TrackRow | None]:
    """The task, locked for this transaction and read afresh (``tasks.locked_task``), and its
    track ``number`` (a tombstone too; None when it never existed).

    On SQLite one query: the write lock is taken at ``BEGIN IMMEDIATE``, before anything is
    read. On PostgreSQL the track is read by a statement of its own once the task's row lock is
    granted: a statement's snapshot is taken when it starts, so a track joined into the locking
    statement would be as it was before the wait for the lock (and a track created meanwhile
    would be missed).
    """
    if db.get_bind().dialect.name != "sqlite":
        task = locked_task(db, access, task_id)
        return task, db.scalar(_TRACK, {"task": task.id, "number": number})
    found = db.execute(_TASK_WITH_TRACK, {"task_id": task_id, "number": number}).first()
    task = check_visible(access, found[0] if found is not None else None, task_id)
    return task, found[1] if found is not None else None


def stale(number: int, row: TrackRow | None, base: int) -> StaleRevisionError:
    """The 409 of a write based on ``base`` when track ``number`` is at ``row``'s revision."""
    current = row.revision if row is not None else 0
    live = row is not None and not row.deleted
    return StaleRevisionError(
        f"track {number} is at revision {current}, not {base}: reload it and apply the change"
        " again",
        current={"current_revision": current, "track": row.data if live and row else None},
    )


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None, "an INSERT of one row"
    return int(key[0])


def _kind(data: dict[str, Any]) -> str:
    return str(data["keyframes"][0]["shape"]["kind"])


def swap(
    db: Session,
    access: Access,
    task: Task,
    row: TrackRow,
    base: int,
    *,
    data: dict[str, Any] | None,
) -> None:
    """Compare and swap: ``row`` to ``data`` (``None``: deleted) if it is still at ``base``;
    otherwise roll back (the write lock goes at once) and raise ``StaleRevisionError``."""
    values = {
        "revision": base + 1,
        "deleted": data is None,
        "updated_by": access.user_id,
        "updated_at": utc_now(),
        "data": row.data if data is None else data,
        "label": row.label if data is None else data["label"],
        "kind": row.kind if data is None else _kind(data),
    }
    params = {
        "row_id": row.id,
        "base": base,
        "by": values["updated_by"],
        "at": values["updated_at"],
    }
    for name in ("revision", "deleted", "data", "label", "kind"):
        params[f"to_{name}"] = values[name]
    result = db.connection().execute(_SWAP, params)
    if result.rowcount != 1:
        error = stale(row.number, db.scalar(_TRACK, {"task": task.id, "number": row.number}), base)
        db.rollback()
        raise error
    for name, value in values.items():
        set_committed_value(row, name, value)


def journal_change(
    db: Session,
    access: Access,
    task: Task,
    row: TrackRow,
    *,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    undoes: int | None = None,
) -> int:
    """Journal ``row``'s change to its current revision and count it in the task's revision;
    the journal row's id."""
    op = "create" if before is None else "delete" if after is None else "update"
    now = utc_now()
    entry = {
        "task_id": task.id,
        "track_id": row.id,
        "number": row.number,
        "revision": row.revision,
        "actor_id": access.user_id,
        "at": now,
        "op": op,
        "before": before,
        "after": after,
        "undoes": undoes,
    }
    connection = db.connection()  # Core: these need none of the ORM's bookkeeping
    made = _new_id(connection.execute(_INSERT_JOURNAL, entry))
    connection.execute(_BUMP_TASK, {"task": task.id, "at": now})
    set_committed_value(task, "revision", task.revision + 1)
    set_committed_value(task, "updated_at", now)
    return made


def insert_track(
    db: Session, access: Access, task: Task, number: int, data: dict[str, Any]
) -> TrackRow:
    """Add track ``number`` (checked native JSON ``data``) at revision 1, journaled, inside the
    caller's transaction (the task locked by the caller)."""
    values = {
        "task_id": task.id,
        "number": number,
        "label": data["label"],
        "kind": _kind(data),
        "data": data,
        "revision": 1,
        "deleted": False,
        "updated_by": access.user_id,
        "updated_at": utc_now(),
    }
    row = TrackRow(id=_new_id(db.connection().execute(_INSERT_TRACK, values)), **values)
    make_transient_to_detached(row)  # as if loaded: the session holds it, nothing to flush
    db.add(row)
    journal_change(db, access, task, row, before=None, after=data)
    return row


def change_track(
    db: Session, access: Access, task: Task, row: TrackRow, data: dict[str, Any] | None
) -> None:
    """Replace ``row``'s track by ``data`` (``None``: delete it) as its next revision,
    journaled, inside the caller's transaction; ``StaleRevisionError`` if it moved on."""
    before = None if row.deleted else row.data
    swap(db, access, task, row, row.revision, data=data)
    journal_change(db, access, task, row, before=before, after=data)
