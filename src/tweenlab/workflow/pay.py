"""Pay: what each person earns for accepted work in a period, as a statement (JSON and CSV).

A task is paid when it is accepted, in the period that holds its first acceptance
(``states.paid_at``): work that is rejected is not paid until it is accepted, and then all of it
is paid at once (the rework too, for hourly rates). The rate is per accepted task (a clip) or per
hour of active time on the task (``activity.time_per_task``); a person's rate overrides the
project's.

Money is ``Decimal``, never float (a float rate is refused), hours are rounded to
the hundredth (36 s) and each amount to the cent, so the amounts of a statement's lines add up
exactly to its total, in a spreadsheet as here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from tweenlab.errors import UsageError

__all__ = [
    "Basis",
    "PaidTask",
    "Period",
    "Rate",
    "RateTable",
    "Statement",
    "StatementLine",
    "statement",
]

Id = int | str
_CENT = Decimal("0.01")
CSV_COLUMNS = ("task", "project", "accepted_at", "basis", "hours", "rate", "amount")


class Basis(StrEnum):
    """What a rate pays for."""

    TASK = "task"
    HOUR = "hour"


def _money(value: Decimal | str | int, what: str) -> Decimal:
    """``value`` as a Decimal, refusing floats (0.1 is not a tenth in binary)."""
    if isinstance(value, (float, bool)):
        raise UsageError(f"{what}: give money as a string or Decimal, not {value!r}")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise UsageError(f"{what}: {value!r} is not an amount") from None
    if not amount.is_finite() or amount < 0:
        raise UsageError(f"{what}: {value!r} is not an amount of money")
    return amount


@dataclass(frozen=True)
class Rate:
    """An amount per accepted task or per hour.

    Example:
        >>> Rate(Basis.HOUR, Decimal("18.50")).amount
        Decimal('18.50')
    """

    basis: Basis
    amount: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "basis", Basis(self.basis))
        object.__setattr__(self, "amount", _money(self.amount, "rate"))


@dataclass(frozen=True)
class RateTable:
    """The rates in force: per project, per person (all projects), per person in a project.

    ``rate_for`` takes the most specific: person in project, then person, then project.

    Attributes:
        currency: ISO 4217 code of every amount (one currency per table).
        projects: Project id -> rate.
        people: Person -> rate in every project.
        people_in_projects: (person, project id) -> rate.
    """

    currency: str
    projects: Mapping[Id, Rate] = field(default_factory=dict)
    people: Mapping[Id, Rate] = field(default_factory=dict)
    people_in_projects: Mapping[tuple[Id, Id], Rate] = field(default_factory=dict)

    def rate_for(self, person: Id, project: Id) -> Rate:
        """The rate ``person`` is paid in ``project``.

        Raises:
            UsageError: When neither the person nor the project has one.
        """
        rate = self.people_in_projects.get((person, project))
        rate = rate or self.people.get(person) or self.projects.get(project)
        if rate is None:
            raise UsageError(f"no pay rate for {person} in project {project}")
        return rate


@dataclass(frozen=True)
class Period:
    """The half-open time span ``start .. stop`` a statement covers (timezone-aware)."""

    start: datetime
    stop: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.stop.tzinfo is None:
            raise UsageError("a pay period needs times with a timezone")
        if self.stop <= self.start:
            raise UsageError(f"pay period ends ({self.stop}) before it starts ({self.start})")

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, datetime) and self.start <= moment < self.stop


@dataclass(frozen=True)
class PaidTask:
    """A task as pay sees it.

    Attributes:
        task: The task's id.
        project: Its project's id.
        person: The annotator it is paid to.
        accepted_at: Its first acceptance (``states.paid_at``), ``None`` while never accepted.
        active_seconds: The person's active time on it (``activity.time_per_task``).
    """

    task: Id
    project: Id
    person: Id
    accepted_at: datetime | None
    active_seconds: float = 0.0


@dataclass(frozen=True)
class StatementLine:
    """One paid task on a statement; ``amount`` is ``rate`` once, or ``rate * hours``."""

    task: Id
    project: Id
    accepted_at: datetime
    basis: Basis
    hours: Decimal
    rate: Decimal
    amount: Decimal

    def to_row(self) -> dict[str, str]:
        """Text of each field, as in the CSV and JSON (money as strings, to the cent)."""
        return {
            "task": str(self.task),
            "project": str(self.project),
            "accepted_at": self.accepted_at.isoformat(),
            "basis": self.basis.value,
            "hours": str(self.hours),
            "rate": str(self.rate),
            "amount": str(self.amount),
        }


@dataclass(frozen=True)
class Statement:
    """What one person is paid for one period, task by task."""

    person: Id
    period: Period
    currency: str
    lines: tuple[StatementLine, ...]

    @property
    def total(self) -> Decimal:
        """The sum of the lines' amounts."""
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    def to_json(self) -> dict[str, Any]:
        """JSON form; money as strings (``"12.50"``) so no reader turns it into a float."""
        return {
            "person": self.person,
            "period": {
                "start": self.period.start.isoformat(),
                "stop": self.period.stop.isoformat(),
            },
            "currency": self.currency,
            "lines": [line.to_row() for line in self.lines],
            "total": str(self.total),
        }

    def to_csv(self) -> str:
        """CSV with a header row and one row per paid task (no total row: sum ``amount``)."""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(line.to_row() for line in self.lines)
        return out.getvalue()


def statement(person: Id, period: Period, tasks: Iterable[PaidTask], rates: RateTable) -> Statement:
    """The statement of ``person`` for ``period``: each of their tasks first accepted in it.

    Tasks of other people, never accepted, or accepted outside the period are left out, so the
    caller may pass every task of a project.

    Raises:
        UsageError: When a paid task has no rate.

    Example:
        >>> from datetime import UTC
        >>> may = Period(datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC))
        >>> done = PaidTask(7, "p1", "ana", datetime(2024, 5, 3, tzinfo=UTC), 5400.0)
        >>> table = RateTable("EUR", projects={"p1": Rate(Basis.HOUR, Decimal(20))})
        >>> statement("ana", may, [done], table).total
        Decimal('30.00')
    """
    paid = sorted(
        (
            task
            for task in tasks
            if task.person == person and task.accepted_at is not None and task.accepted_at in period
        ),
        key=lambda task: (task.accepted_at, str(task.task)),
    )
    lines = tuple(_line(task, rates.rate_for(person, task.project)) for task in paid)
    return Statement(person, period, rates.currency, lines)


def _line(task: PaidTask, rate: Rate) -> StatementLine:
    assert task.accepted_at is not None
    if task.active_seconds < 0:
        raise UsageError(f"task {task.task}: active time must not be negative")
    hours = (Decimal(repr(task.active_seconds)) / 3600).quantize(_CENT, ROUND_HALF_UP)
    amount = rate.amount if rate.basis is Basis.TASK else rate.amount * hours
    return StatementLine(
        task.task,
        task.project,
        task.accepted_at,
        rate.basis,
        hours,
        rate.amount,
        amount.quantize(_CENT, ROUND_HALF_UP),
    )
