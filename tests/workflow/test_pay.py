"""Pay statements: rates per task or hour, person over project, paid in the period of acceptance."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tweenlab.errors import UsageError
from tweenlab.workflow import (
    Action,
    Basis,
    PaidTask,
    Period,
    Rate,
    RateTable,
    Role,
    Statement,
    TaskEvent,
    TaskState,
    paid_at,
    record,
    statement,
)

MAY = Period(datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC))
JUNE = Period(datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 7, 1, tzinfo=UTC))


def _may(day: int, hour: int = 12) -> datetime:
    return datetime(2024, 5, day, hour, tzinfo=UTC)


RATES = RateTable(
    "EUR",
    projects={"cars": Rate(Basis.TASK, Decimal("12.50")), "birds": Rate(Basis.HOUR, Decimal(20))},
    people={"bob": Rate(Basis.HOUR, Decimal("18.00"))},
    people_in_projects={("ana", "birds"): Rate(Basis.TASK, Decimal("7.25"))},
)


def test_rate_lookup_person_in_project_then_person_then_project() -> None:
    assert RATES.rate_for("ana", "birds") == Rate(Basis.TASK, Decimal("7.25"))
    assert RATES.rate_for("ana", "cars") == Rate(Basis.TASK, Decimal("12.50"))
    assert RATES.rate_for("bob", "cars") == Rate(Basis.HOUR, Decimal(18))
    assert RATES.rate_for("cy", "birds") == Rate(Basis.HOUR, Decimal(20))
    with pytest.raises(UsageError, match="no pay rate for cy in project boats"):
        RATES.rate_for("cy", "boats")


@pytest.mark.parametrize(
    "amount", [0.1, True, "ten", "-1", "NaN"], ids=["float", "bool", "word", "negative", "nan"]
)
def test_rates_refuse_what_is_not_money(amount: object) -> None:
    with pytest.raises(UsageError, match="rate"):
        Rate(Basis.HOUR, amount)  # type: ignore[arg-type]


def test_period_is_half_open_and_checked() -> None:
    assert MAY.start in MAY
    assert MAY.stop not in MAY
    assert MAY.stop - timedelta(microseconds=1) in MAY
    with pytest.raises(UsageError, match="timezone"):
        Period(datetime(2024, 5, 1), datetime(2024, 6, 1))
    with pytest.raises(UsageError, match="before it starts"):
        Period(MAY.stop, MAY.start)


TASKS = [
    PaidTask(1, "cars", "ana", _may(3), active_seconds=4000.0),
    PaidTask(2, "birds", "ana", _may(2), active_seconds=5000.0),  # person-in-project: per task
    PaidTask(3, "cars", "ana", None, active_seconds=9000.0),  # not accepted: not paid
    PaidTask(4, "cars", "ana", datetime(2024, 6, 1, tzinfo=UTC)),  # June, not May
    PaidTask(5, "cars", "bob", _may(4), active_seconds=5430.0),  # bob: hourly everywhere
    PaidTask(6, "birds", "cy", _may(5), active_seconds=1800.0),  # project hourly rate
    PaidTask(7, "cars", "bob", _may(4, 9), active_seconds=10.0),
]


def test_statement_per_task_rates() -> None:
    result = statement("ana", MAY, TASKS, RATES)
    assert [(line.task, line.basis, line.amount) for line in result.lines] == [
        (2, Basis.TASK, Decimal("7.25")),
        (1, Basis.TASK, Decimal("12.50")),
    ]
    assert [line.hours for line in result.lines] == [Decimal("1.39"), Decimal("1.11")]
    assert result.total == Decimal("19.75")
    assert result.currency == "EUR"


def test_statement_hourly_rates_round_hours_then_cents() -> None:
    bob = statement("bob", MAY, TASKS, RATES)
    # 5430 s = 1.508.. h -> 1.51 h x 18.00 = 27.18; 10 s -> 0.00 h -> 0.00
    assert [(line.task, line.hours, line.amount) for line in bob.lines] == [
        (7, Decimal("0.00"), Decimal("0.00")),
        (5, Decimal("1.51"), Decimal("27.18")),
    ]
    cy = statement("cy", MAY, TASKS, RATES)
    assert cy.total == Decimal("10.00")
    assert str(cy.total) == "10.00"


def test_nobody_is_paid_without_a_task_in_the_period() -> None:
    empty = statement("dee", MAY, TASKS, RATES)
    assert empty.lines == ()
    assert empty.total == Decimal("0.00")
    assert empty.to_csv().splitlines() == ["task,project,accepted_at,basis,hours,rate,amount"]


def test_missing_rate_is_an_error_not_a_free_task() -> None:
    with pytest.raises(UsageError, match="no pay rate"):
        statement("ana", MAY, TASKS, RateTable("EUR"))


def test_rejected_task_is_paid_in_the_period_it_is_accepted_only() -> None:
    # Submitted and rejected in May, reworked and accepted on 2 June.
    ana = ("ana", Role.ANNOTATOR)
    rob = ("rob", Role.REVIEWER)
    steps = [
        (Action.START, *ana, _may(20)),
        (Action.SUBMIT, *ana, _may(21)),
        (Action.TAKE_REVIEW, *rob, _may(22)),
        (Action.REJECT, *rob, _may(22, 13)),
        (Action.START, *ana, _may(28)),
        (Action.SUBMIT, *ana, _may(30)),
        (Action.TAKE_REVIEW, *rob, _may(31)),
        (Action.ACCEPT, *rob, datetime(2024, 6, 2, tzinfo=UTC)),
    ]
    history: list[TaskEvent] = []
    state = TaskState.NEW
    for action, actor, role, at in steps:
        event = record(
            state,
            action,
            actor,
            role,
            at=at,
            is_assignee=actor == "ana",
            is_reviewer=actor == "rob",
        )
        history.append(event)
        state = event.to_state

    def paid(events: list[TaskEvent]) -> PaidTask:
        return PaidTask(11, "birds", "cy", paid_at(events), active_seconds=7200.0)

    # the May statement, made on 31 May, knows only the rejection
    assert statement("cy", MAY, [paid(history[:-1])], RATES).lines == ()
    # once accepted, the task is in June's statement with all its hours, and not in May's
    assert statement("cy", MAY, [paid(history)], RATES).lines == ()
    june = statement("cy", JUNE, [paid(history)], RATES)
    assert [(line.task, line.amount) for line in june.lines] == [(11, Decimal("40.00"))]


def _statement() -> Statement:
    tasks = [*TASKS, PaidTask("t-9", "birds", "bob", _may(30), active_seconds=3599.0)]
    return statement("bob", MAY, tasks, RATES)


def test_csv_parses_back_and_sums_to_the_total() -> None:
    result = _statement()
    rows = list(csv.DictReader(io.StringIO(result.to_csv())))
    assert [row["task"] for row in rows] == ["7", "5", "t-9"]
    assert set(rows[0]) == {"task", "project", "accepted_at", "basis", "hours", "rate", "amount"}
    assert rows[1] == {
        "task": "5",
        "project": "cars",
        "accepted_at": "2024-05-04T12:00:00+00:00",
        "basis": "hour",
        "hours": "1.51",
        "rate": "18.00",
        "amount": "27.18",
    }
    assert sum(Decimal(row["amount"]) for row in rows) == result.total == Decimal("45.18")
    for row in rows:  # every hourly amount is exactly rate x hours, to the cent
        assert Decimal(row["amount"]) == (Decimal(row["rate"]) * Decimal(row["hours"])).quantize(
            Decimal("0.01")
        )


def test_json_round_trips_through_json_text() -> None:
    result = _statement()
    data = json.loads(json.dumps(result.to_json()))
    assert data["person"] == "bob"
    assert data["currency"] == "EUR"
    assert data["period"] == {
        "start": "2024-05-01T00:00:00+00:00",
        "stop": "2024-06-01T00:00:00+00:00",
    }
    assert data["total"] == "45.18"
    assert sum(Decimal(line["amount"]) for line in data["lines"]) == Decimal(data["total"])
    assert [line["task"] for line in data["lines"]] == ["7", "5", "t-9"]
