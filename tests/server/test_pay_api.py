"""Pay over HTTP: the rate table (managers set it, amounts as decimal strings), statements per
task and per hour as JSON and CSV, a rejected task not paid, and who may read whose statement."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from tests.server.conftest import Crew
from tweenlab.services import activity


@pytest.fixture
def worked(crew: Crew, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Three tasks: the first accepted after 30 minutes of the annotator's heartbeats, the
    second rejected (never accepted), the third never started."""
    tasks = [int(t["id"]) for t in crew.split()]
    for task in tasks[:2]:
        crew.assign(task)
        crew.act("annotator", task, "start")
        crew.act("annotator", task, "submit")
        crew.act("reviewer", task, "take_review")
    t0 = datetime(2026, 5, 1, 9, tzinfo=UTC)
    for seconds in range(0, 1801, 100):  # 19 beats 100 s apart: 1800 s of work
        monkeypatch.setattr(activity, "utc_now", lambda s=seconds: t0 + timedelta(seconds=s))
        assert crew.call("annotator", "POST", f"/tasks/{tasks[0]}/heartbeat").status_code == 204
    monkeypatch.undo()
    crew.act("reviewer", tasks[0], "accept")
    crew.act("reviewer", tasks[1], "reject", note="boxes too loose")
    return tasks


def set_rates(crew: Crew, body: dict[str, object], who: str = "manager", status: int = 200) -> None:
    answer = crew.call(who, "PUT", "/pay/rates", json=body)
    assert answer.status_code == status, answer.text


def test_statements_pay_accepted_tasks_per_task_and_per_hour(crew: Crew, worked: list[int]) -> None:
    set_rates(crew, {"currency": "EUR", "default": {"basis": "task", "amount": "12.50"}})
    me = {"person": crew["annotator"].id}
    answer = crew.call("manager", "GET", "/pay/statement", params=me)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["currency"] == "EUR" and body["total"] == "12.50"
    assert [line["task"] for line in body["lines"]] == [str(worked[0])]  # the rejected one: unpaid

    hourly = {"basis": "hour", "amount": "20.00"}
    rates = {"default": {"basis": "task", "amount": "12.50"}, "people": {me["person"]: hourly}}
    set_rates(crew, {"currency": "EUR", **rates})
    stored = crew.call("annotator", "GET", "/pay/rates").json()
    assert stored["people"] == {str(me["person"]): hourly}
    assert crew.call("annotator2", "GET", "/pay/rates").json()["people"] == {}  # not theirs
    assert len(crew.call("manager", "GET", "/pay/rates").json()["people"]) == 1
    mine = crew.call("annotator", "GET", "/pay/statement").json()  # the caller by default
    assert mine["total"] == "10.00" and mine["lines"][0]["hours"] == "0.50"
    assert mine["lines"][0]["basis"] == "hour" and mine["lines"][0]["rate"] == "20.00"

    as_csv = crew.call("annotator", "GET", "/pay/statement", params={"format": "csv"})
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(r["task"], r["hours"], r["amount"]) for r in rows] == [
        (str(worked[0]), "0.50", "10.00")
    ]

    before = {"to": "2020-01-01T00:00:00Z", "from": "2019-01-01T00:00:00Z"}
    assert crew.call("annotator", "GET", "/pay/statement", params=before).json()["lines"] == []
    backwards = {"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}
    assert crew.call("annotator", "GET", "/pay/statement", params=backwards).status_code == 422


def test_who_may_set_rates_and_read_statements(crew: Crew, worked: list[int]) -> None:
    rate = {"default": {"basis": "task", "amount": "5"}}
    set_rates(crew, rate, who="reviewer", status=403)
    set_rates(crew, rate, who="outsider", status=404)
    set_rates(crew, {"default": {"basis": "task", "amount": 5.5}}, status=422)  # no floats
    set_rates(crew, {"default": {"basis": "day", "amount": "5"}}, status=422)
    set_rates(crew, {"people": {crew["outsider"].id: {"basis": "task", "amount": "1"}}}, status=422)

    # no rate yet for a paid task: said, not guessed
    assert crew.call("annotator", "GET", "/pay/statement").status_code == 422
    set_rates(crew, rate)
    theirs = {"person": crew["annotator"].id}
    assert crew.call("annotator2", "GET", "/pay/statement", params=theirs).status_code == 403
    assert crew.call("reviewer", "GET", "/pay/statement", params=theirs).status_code == 403
    assert crew.call("outsider", "GET", "/pay/statement", params=theirs).status_code == 404
    assert crew.call("owner", "GET", "/pay/statement", params=theirs).json()["total"] == "5.00"
    stranger = {"person": crew["outsider"].id}
    assert crew.call("manager", "GET", "/pay/statement", params=stranger).status_code == 404
