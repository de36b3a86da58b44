"""The manager's dashboard in Chromium against a live server: a project created with its label
schema typed into the form (and stored exactly so), members added and a role changed, a real
clip uploaded through the file input and followed until ingested, split into tasks and one
assigned, which its annotator then finds under "My tasks"; after the work is done and accepted
(set up through the API) the tasks table, the charts (keyframes per hour, time on task,
agreement with ground truth, consensus), the pay rates and statement (and its CSV) and an export
downloaded as a zip all show it."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

from tests.browser.conftest import ARTIFACTS, PASSWORD, Live, Person, expect, sign_in
from tests.browser.dashboard_support import (
    CLIP,
    box_track,
    signed_in_page,
    worked,
    write_track,
)
from tests.conftest import shared_file

TYPED_SCHEMA = [
    {
        "name": "car",
        "color": "#e6194b",
        "kinds": ["box"],
        "attributes": [
            {
                "name": "colour",
                "kind": "select",
                "values": ["red", "blue"],
                "default": "red",
                "per_frame": False,
                "minimum": 0.0,
                "maximum": 100.0,
                "step": 1.0,
            },
            {
                "name": "parked",
                "kind": "checkbox",
                "values": [],
                "default": False,
                "per_frame": True,
                "minimum": 0.0,
                "maximum": 100.0,
                "step": 1.0,
            },
        ],
    },
    {"name": "person", "color": "#3cb44b", "kinds": ["box", "polygon"], "attributes": []},
]


def type_schema(page: Any) -> None:
    """Fill the new-project form's label schema with what TYPED_SCHEMA stores."""
    form = page.locator("[data-testid=new-project]")
    form.locator("[data-testid=add-label]").click()
    form.locator("[data-testid=add-label]").click()
    car, person = form.locator("[data-testid=label-row]").all()
    car.locator("[data-testid=label-name]").fill("car")
    car.locator("[data-testid=kind-box]").check()
    car.locator("[data-testid=add-attribute]").click()
    car.locator("[data-testid=add-attribute]").click()
    colour, parked = car.locator("[data-testid=attribute-row]").all()
    colour.locator("[data-testid=attribute-name]").fill("colour")
    colour.locator("[data-testid=attribute-kind]").select_option("select")
    colour.locator("[data-testid=attribute-values]").fill("red, blue")
    parked.locator("[data-testid=attribute-name]").fill("parked")
    parked.locator("[data-testid=attribute-kind]").select_option("checkbox")
    parked.locator("[data-testid=attribute-per-frame]").check()
    person.locator("[data-testid=label-name]").fill("person")
    person.locator("[data-testid=kind-box]").check()
    person.locator("[data-testid=kind-polygon]").check()


def create_project(page: Any, live: Live, manager: Person) -> int:
    """Create project "street" through the form; its id (checked against what was typed)."""
    page.fill("[data-testid=project-name]", "street")
    type_schema(page)
    page.click("[data-testid=create-project]")
    expect(page.locator("[data-testid=project-title]")).to_have_text("street")
    project = int(page.url.rsplit("/", 1)[1])
    stored = live.call(manager, "GET", f"/projects/{project}")
    assert stored["schema"] == TYPED_SCHEMA
    return project


def add_members(page: Any, live: Live, manager: Person, project: int) -> None:
    """Add ana as annotator and rev as annotator, then make rev a reviewer."""
    for email in ("ana@example.com", "rev@example.com"):
        page.fill("[data-testid=member-email]", email)
        page.select_option("[data-testid=member-role]", "annotator")
        page.click("[data-testid=add-member-submit]")
        expect(page.locator(f"[data-testid=member-row][data-email='{email}']")).to_be_visible()
    me = page.locator("[data-testid=member-row][data-email='manager@example.com']")
    me.locator("[data-testid=member-role-change]").select_option("annotator")
    expect(page.locator("[data-testid=members-error]")).to_contain_text("owner")  # the last one
    expect(me.locator("[data-testid=member-role-change]")).to_have_value("owner")
    rev = page.locator("[data-testid=member-row][data-email='rev@example.com']")
    rev.locator("[data-testid=member-role-change]").select_option("reviewer")
    expect(page.locator("#toast")).to_contain_text("rev@example.com is now reviewer")
    roles = {
        m["user"]["email"]: m["role"]
        for m in live.call(manager, "GET", f"/projects/{project}/members")
    }
    assert roles == {
        "manager@example.com": "owner",
        "ana@example.com": "annotator",
        "rev@example.com": "reviewer",
    }


def upload_and_split(
    page: Any, live: Live, manager: Person, project: int, tmp_path: Path
) -> list[dict[str, Any]]:
    """A text file refused with the server's reason; then the clip uploaded through the file
    input, followed until "ready", split by 100 frames with 10 of overlap; the tasks as the API
    lists them."""
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video at all\n" * 100)
    page.set_input_files("[data-testid=video-file]", str(notes))
    page.click("[data-testid=upload-video]")
    expect(page.locator("[data-testid=videos-error]")).not_to_be_empty()
    expect(page.locator("[data-testid=video-row]")).to_have_count(0)
    assert live.call(manager, "GET", f"/projects/{project}/videos") == []
    page.set_input_files("[data-testid=video-file]", str(shared_file(CLIP)))
    page.click("[data-testid=upload-video]")
    row = page.locator("[data-testid=video-row]")
    expect(row.locator("[data-testid=video-status]")).to_have_text("ready", timeout=120_000)
    expect(row).to_contain_text("300")  # frames, from the probe
    page.fill("[data-testid=split-size]", "100")
    page.fill("[data-testid=split-overlap]", "10")
    page.click("[data-testid=split-submit]")
    page.locator("[data-testid=task-row]").first.wait_for()  # the split has answered
    tasks = live.call(manager, "GET", f"/projects/{project}/tasks")
    expect(page.locator("[data-testid=task-row]")).to_have_count(len(tasks))
    assert [(t["start"], t["stop"]) for t in tasks][:2] == [(0, 100), (90, 190)]
    expect(page.locator("[data-testid=count-new]")).to_have_attribute("data-count", str(len(tasks)))
    return list(tasks)


def test_a_manager_runs_a_project_from_the_dashboard(
    live: Live, page: Any, chromium: Any, tmp_path: Path
) -> None:
    manager = live.person("manager@example.com")
    ana = live.person("ana@example.com")
    rev = live.person("rev@example.com")
    sign_in(page, manager.email)
    project = create_project(page, live, manager)
    add_members(page, live, manager, project)
    tasks = upload_and_split(page, live, manager, project, tmp_path)
    first = tasks[0]["id"]
    row = page.locator(f"[data-testid=task-row][data-task='{first}']")
    row.locator("[data-testid=assignee]").select_option(str(ana.id))
    expect(page.locator("#toast")).to_contain_text(f"task #{first}: assignee ana@example.com")
    assert live.call(manager, "GET", f"/projects/{project}/tasks/{first}")["assignee_id"] == ana.id
    page.screenshot(path=str(ARTIFACTS / "dashboard-tasks.png"), full_page=True)

    annotator_context, annotator = signed_in_page(chromium, live, ana.email)
    try:
        mine = annotator.locator("[data-testid=my-tasks] [data-testid=my-task]")
        expect(mine).to_have_count(1)
        link = mine.locator("a")
        expect(link).to_have_attribute("href", f"#/projects/{project}/tasks/{first}")
        annotator.goto(f"/#/projects/{project}")
        expect(annotator.locator("[data-testid=my-tasks-section]")).to_contain_text(
            f"task #{first}"
        )
        expect(annotator.locator("[data-testid=members-section]")).to_have_count(0)
    finally:
        annotator_context.close()

    do_the_work(live, project, first, manager=manager, ana=ana, rev=rev)
    page.reload()
    accepted = page.locator(f"[data-testid=task-row][data-task='{first}'] [data-testid=task-state]")
    expect(accepted).to_have_text("accepted")
    expect(page.locator("[data-testid=count-accepted]")).to_have_attribute("data-count", "1")
    check_charts(page)
    check_pay(page, live, first, tmp_path, manager=manager, ana=ana)
    check_export(page, tmp_path)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    consensus_copies(page, live, project, manager=manager, ana=ana, rev=rev)


def consensus_copies(
    page: Any, live: Live, project: int, *, manager: Person, ana: Person, rev: Person
) -> None:
    """A consensus split in the form: two copies of each 100-frame range, one for ana, one for
    rev (as the API lists them)."""
    before = len(live.call(manager, "GET", f"/projects/{project}/tasks"))
    page.select_option("[data-testid=split-kind]", "consensus")
    expect(page.locator("[data-testid=split-consensus]")).to_be_visible()
    page.fill("[data-testid=split-size]", "100")
    page.fill("[data-testid=split-overlap]", "0")
    page.fill("[data-testid=split-copies]", "2")
    page.select_option("[data-testid=split-assignees]", [str(ana.id), str(rev.id)])
    page.click("[data-testid=split-submit]")
    expect(page.locator("#toast")).to_contain_text("6 tasks made")
    made = live.call(manager, "GET", f"/projects/{project}/tasks")[before:]
    got = sorted((t["start"], t["kind"], t["assignee_id"]) for t in made)
    want = sorted((s, "consensus", who.id) for s in (0, 100, 200) for who in (ana, rev))
    assert got == want


def do_the_work(
    live: Live, project: int, task: int, *, manager: Person, ana: Person, rev: Person
) -> None:
    """Ana starts, draws a 3-keyframe track, works 30 minutes, submits; the manager accepts. A
    ground-truth task of the same frames agrees with her; two consensus copies agree."""
    base = f"/projects/{project}"
    live.call(ana, "POST", f"{base}/tasks/{task}/actions/start")
    write_track(live, ana, project, task, box_track([0, 50, 99]))
    worked(live, ana, task, 1800)
    live.call(ana, "POST", f"{base}/tasks/{task}/actions/submit")
    live.call(manager, "POST", f"{base}/tasks/{task}/actions/take_review")
    live.call(manager, "POST", f"{base}/tasks/{task}/actions/accept")

    video = live.call(manager, "GET", f"{base}/videos")[0]["id"]
    split = {"video_id": video, "clips": [[0, 100]], "kind": "ground_truth"}
    truth = live.call(manager, "POST", f"{base}/tasks/split", 201, json=split)[0]["id"]
    write_track(live, manager, project, truth, box_track([0, 50, 99]))
    for who in (ana, rev):
        split = {"video_id": video, "clips": [[100, 200]], "kind": "consensus"}
        copy = live.call(manager, "POST", f"{base}/tasks/split", 201, json=split)[0]["id"]
        live.call(manager, "POST", f"{base}/tasks/{copy}/assign", json={"assignee_id": who.id})
        write_track(live, manager, project, copy, box_track([100, 150, 199]))


def bar(page: Any, chart: str, person: str) -> Any:
    return page.locator(f"[data-testid={chart}] [data-testid=bar][aria-label^='{person}:']")


def check_charts(page: Any) -> None:
    """3 keyframes in half an hour: 6 an hour; agreement with ground truth and consensus: 1."""
    ana = "ana@example.com"
    expect(bar(page, "chart-keyframes-per-hour", ana)).to_have_attribute(
        "aria-label", f"{ana}: 6.0 keyframes/h"
    )
    expect(bar(page, "chart-time-on-task", ana)).to_have_attribute("aria-label", f"{ana}: 0.50 h")
    expect(bar(page, "chart-keyframes", ana)).to_have_attribute("aria-label", f"{ana}: 3")
    expect(bar(page, "chart-ground-truth", ana)).to_have_attribute("aria-label", f"{ana}: 1.00")
    expect(bar(page, "chart-ground-truth-iou", ana)).to_have_attribute("aria-label", f"{ana}: 1.00")
    for person in (ana, "rev@example.com"):
        expect(bar(page, "chart-consensus", person)).to_have_attribute(
            "aria-label", f"{person}: 1.00"
        )
    expect(bar(page, "chart-keyframes-per-hour", ana).locator("text.chart-value")).to_have_text(
        "6.0"
    )
    width = float(bar(page, "chart-keyframes-per-hour", ana).locator("rect").get_attribute("width"))
    assert width > 100  # the largest bar spans the chart


def check_pay(
    page: Any, live: Live, task: int, tmp_path: Path, *, manager: Person, ana: Person
) -> None:
    """12.50 per accepted task, set in the form; ana's statement lists the task, as CSV too."""
    page.select_option("[data-testid=rate-default-basis]", "task")
    page.fill("[data-testid=rate-default-amount]", "12.50")
    page.click("[data-testid=save-rates]")
    expect(page.locator("#toast")).to_contain_text("rates saved")
    project = page.url.rsplit("/", 1)[1]
    rates = live.call(manager, "GET", f"/projects/{project}/pay/rates")
    assert rates["default"] == {"basis": "task", "amount": "12.50"} and rates["currency"] == "EUR"
    page.select_option("[data-testid=statement-person]", str(ana.id))
    page.click("[data-testid=show-statement]")
    lines = page.locator("[data-testid=statement-line]")
    expect(lines).to_have_count(1)
    expect(lines.first).to_have_attribute("data-task", str(task))
    expect(lines.first).to_contain_text("12.50")
    expect(page.locator("[data-testid=statement-total]")).to_have_text("Total 12.50 EUR")
    with page.expect_download() as download:
        page.click("[data-testid=statement-csv]")
    saved = tmp_path / "statement.csv"
    download.value.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text())))
    assert [(r["task"], r["basis"], r["amount"]) for r in rows] == [(str(task), "task", "12.50")]


def check_export(page: Any, tmp_path: Path) -> None:
    """A COCO export started in the form downloads as a zip with files in it."""
    page.select_option("[data-testid=export-format]", "coco")
    page.click("[data-testid=start-export]")
    link = page.locator("[data-testid=export-download]")
    expect(link).to_be_visible(timeout=60_000)
    with page.expect_download() as download:
        link.click()
    saved = tmp_path / "export.zip"
    download.value.save_as(saved)
    assert zipfile.is_zipfile(saved)
    with zipfile.ZipFile(saved) as archive:
        names = archive.namelist()
        assert names and sum(archive.getinfo(n).file_size for n in names) > 0
        assert any(name.endswith(".json") for name in names), names


def test_a_site_admin_creates_an_account_its_owner_signs_in_with(
    live: Live, page: Any, chromium: Any
) -> None:
    admin = live.person("admin@example.com", admin=True)
    sign_in(page, admin.email)
    form = page.locator("[data-testid=new-account]")
    form.locator("[data-testid=account-email]").fill("free@example.com")
    form.locator("[data-testid=account-name]").fill("Freelancer")
    form.locator("[data-testid=account-password]").fill(PASSWORD)
    form.locator("[data-testid=create-account]").click()
    expect(page.locator("[data-testid=account-row][data-email='free@example.com']")).to_be_visible()
    users = {u["email"]: u for u in live.call(admin, "GET", "/users")}
    assert users["free@example.com"]["name"] == "Freelancer"
    assert users["free@example.com"]["is_admin"] is False
    form.locator("[data-testid=account-email]").fill("free@example.com")  # taken: said, not lost
    form.locator("[data-testid=account-password]").fill(PASSWORD)
    form.locator("[data-testid=create-account]").click()
    expect(page.locator("[data-testid=accounts-error]")).not_to_be_empty()
    expect(page.locator("[data-testid=account-row]")).to_have_count(2)

    context, freelancer = signed_in_page(chromium, live, "free@example.com")
    try:
        expect(freelancer.locator("[data-testid=my-tasks]")).to_have_text(
            "No tasks assigned to you."
        )
        expect(freelancer.locator("[data-testid=accounts-section]")).to_have_count(0)
    finally:
        context.close()
