// The project's tasks: how many are in each state, a table filtered by state and assignee with
// assign/reassign (annotator and reviewer) for managers, links into the editor, pre-labelling a
// task with a model (prelabel.js), and the form that splits a video into tasks (by size with
// overlap, or at the detected scenes).
import { prelabelPanel } from "./prelabel.js";
import {
  attempt,
  element,
  errorLine,
  field,
  input,
  namer,
  section,
  select,
  stateLabel,
  tableHead,
} from "./ui.js";

const STATES = ["new", "in_progress", "submitted", "in_review", "rejected", "rework", "accepted"];
const KINDS = ["normal", "ground_truth", "training", "consensus"];
const HOW = [
  ["size", "every N frames"],
  ["scenes", "at detected scenes"],
];

export function tasksSection(state) {
  const error = errorLine("tasks-error");
  const counts = element("div", { class: "counts", "data-testid": "task-counts" });
  const stateOptions = [["", "every state"], ...STATES.map((s) => [s, stateLabel(s)])];
  const byState = select("state", stateOptions, "", { "data-testid": "filter-state" });
  const byAssignee = select("assignee", [["", "everyone"]], "", {
    "data-testid": "filter-assignee",
  });
  const body = element("tbody");
  const prelabel = state.may("manager") ? prelabelPanel(state) : null;
  const draw = () => {
    const name = namer(state.members);
    const shown = state.tasks.filter(
      (t) =>
        (!byState.value || t.state === byState.value) &&
        (!byAssignee.value || String(t.assignee_id ?? "none") === byAssignee.value),
    );
    counts.replaceChildren(...countBadges(state.tasks));
    body.replaceChildren(...shown.map((task) => taskRow(state, task, name, error, prelabel)));
    if (!shown.length) {
      body.append(element("tr", {}, element("td", { colspan: 8, class: "muted" }, "no tasks")));
    }
  };
  state.on("members", (members) => {
    const keep = byAssignee.value;
    const people = members.map((m) => [m.user.id, m.user.email]);
    byAssignee.replaceChildren(
      ...[["", "everyone"], ["none", "unassigned"], ...people].map(([value, text]) =>
        element("option", { value, selected: String(value) === keep }, text),
      ),
    );
    draw();
  });
  state.on("tasks", draw);
  state.on("videos", draw);
  byState.addEventListener("change", draw);
  byAssignee.addEventListener("change", draw);
  const table = element(
    "table",
    { "data-testid": "tasks" },
    tableHead("Task", "Video", "Frames", "Kind", "State", "Annotator", "Reviewer", ""),
    body,
  );
  const filters = element(
    "div",
    { class: "row" },
    field("State", byState),
    field("Annotator", byAssignee),
  );
  const parts = [counts, filters, table];
  if (prelabel) parts.push(prelabel.node);
  if (state.may("manager")) parts.push(splitForm(state, error));
  return section("Tasks", "tasks-section", ...parts, error);
}

function countBadges(tasks) {
  return STATES.map((s) => {
    const count = tasks.filter((t) => t.state === s).length;
    return element(
      "span",
      { class: `badge state-${s}`, "data-testid": `count-${s}`, "data-count": count },
      `${stateLabel(s)}: ${count}`,
    );
  });
}

function taskRow(state, task, name, error, prelabel) {
  const video = state.videos.find((v) => v.id === task.video_id);
  const href = `#/projects/${state.id}/tasks/${task.id}`;
  const link = element("a", { href, "data-testid": "open-task" }, "Open");
  const reviewable = ["submitted", "in_review"].includes(task.state) && state.may("reviewer");
  const review = reviewable
    ? element("a", { href: `${href}/review`, "data-testid": "review-task" }, "Review")
    : null;
  const label = prelabel
    ? element("button", { type: "button", "data-testid": "prelabel-task" }, "Pre-label")
    : null;
  label?.addEventListener("click", () => prelabel.open(task));
  const issues = task.open_issues
    ? element("span", { class: "muted", "data-testid": "task-issues" }, ` ${task.open_issues} open`)
    : null;
  const badge = { class: `badge state-${task.state}`, "data-testid": "task-state" };
  return element(
    "tr",
    { "data-testid": "task-row", "data-task": task.id, "data-state": task.state },
    element("td", {}, `#${task.id}`),
    element("td", {}, video ? video.name : `video ${task.video_id}`),
    element("td", {}, `${task.start}–${task.stop - 1}`),
    element("td", {}, task.kind.replace("_", " ")),
    element("td", {}, element("span", badge, stateLabel(task.state)), issues),
    element("td", {}, personCell(state, task, "assignee_id", name, error)),
    element("td", {}, personCell(state, task, "reviewer_id", name, error)),
    element("td", { class: "links" }, link, " ", review, " ", label),
  );
}

// A select that (re)assigns for managers; the e-mail as text for everyone else.
function personCell(state, task, key, name, error) {
  if (!state.may("manager")) return name(task[key]);
  const options = [["", "—"], ...state.members.map((m) => [m.user.id, m.user.email])];
  const testid = key === "assignee_id" ? "assignee" : "reviewer";
  const choice = select(testid, options, task[key] ?? "", { "data-testid": testid });
  choice.addEventListener("change", async () => {
    const body = { [key]: choice.value ? Number(choice.value) : null };
    const path = `/projects/${state.id}/tasks/${task.id}/assign`;
    const done = await attempt(error, state.toast, () => state.api.post(path, body));
    if (done) state.toast(`task #${task.id}: ${testid} ${name(done[key]) || "cleared"}`);
    await state.load("tasks");
  });
  return choice;
}

function splitForm(state, error) {
  const video = select("video", [], "", { "data-testid": "split-video" });
  state.on("videos", (videos) => {
    const keep = video.value;
    video.replaceChildren(
      ...videos
        .filter((v) => v.status === "ready")
        .map((v) =>
          element(
            "option",
            { value: v.id, selected: String(v.id) === keep },
            `${v.name} (${v.frame_count} frames)`,
          ),
        ),
    );
  });
  const how = select("how", HOW, "size", { "data-testid": "split-how" });
  const number = (name, value, min) =>
    input(name, { type: "number", min, value, "data-testid": `split-${name}` });
  const size = number("size", 100, 1);
  const overlap = number("overlap", 0, 0);
  const kinds = KINDS.map((k) => [k, k.replace("_", " ")]);
  const kind = select("kind", kinds, "normal", { "data-testid": "split-kind" });
  // consensus: k copies of each range, one per annotator (chosen here, or assigned later)
  const copies = number("copies", 2, 2);
  const people = element("select", { name: "assignees", multiple: true, size: 3 });
  people.dataset.testid = "split-assignees";
  state.on("members", (members) => {
    people.replaceChildren(
      ...members.map((m) => element("option", { value: m.user.id }, m.user.email)),
    );
  });
  const consensus = element(
    "span",
    { class: "row", hidden: true, "data-testid": "split-consensus" },
    field("Copies", copies),
    field("Annotators (one per copy)", people),
  );
  kind.addEventListener("change", () => (consensus.hidden = kind.value !== "consensus"));
  const form = element(
    "form",
    { class: "row", "data-testid": "split-form" },
    field("Video", video),
    field("Split", how),
    field("Frames per task (max)", size),
    field("Overlap", overlap),
    field("Kind", kind),
    consensus,
    element("button", { type: "submit", "data-testid": "split-submit" }, "Split into tasks"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!video.value) return void (error.textContent = "no ready video to split");
    const body = { video_id: Number(video.value), kind: kind.value };
    if (how.value === "size") {
      Object.assign(body, { size: Number(size.value), overlap: Number(overlap.value) });
    } else {
      Object.assign(body, { scenes: "detected", max_size: Number(size.value) || null });
    }
    if (kind.value === "consensus") {
      const chosen = [...people.selectedOptions].map((o) => Number(o.value));
      Object.assign(body, { copies: Number(copies.value), assignees: chosen });
    }
    const path = `/projects/${state.id}/tasks/split`;
    const made = await attempt(error, state.toast, () => state.api.post(path, body));
    if (made) state.toast(`${made.length} tasks made`);
    await state.load("tasks");
  });
  return element("div", {}, element("h3", {}, "Split a video into tasks"), form);
}
