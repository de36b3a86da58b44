// "My tasks": the tasks assigned to the signed-in person (to annotate) and those they review,
// each linking into the editor (#/projects/P/tasks/T, or .../review).
import { element, section, stateLabel } from "./ui.js";

const DONE = new Set(["accepted"]);

// projects: [{id, name}], tasksOf: Map project id -> its tasks (as the API lets the caller see).
export function myTasksSection(user, projects, tasksOf) {
  const mine = [];
  const review = [];
  for (const project of projects) {
    for (const task of tasksOf.get(project.id) || []) {
      if (task.assignee_id === user.id) mine.push([project, task]);
      const reviewable = ["submitted", "in_review"].includes(task.state);
      if (task.reviewer_id === user.id && reviewable) review.push([project, task]);
    }
  }
  mine.sort(([, a], [, b]) => Number(DONE.has(a.state)) - Number(DONE.has(b.state)) || a.id - b.id);
  const parts = [taskList(mine, "my-tasks", "")];
  if (review.length) {
    parts.push(element("h3", {}, "To review"), taskList(review, "my-reviews", "/review"));
  }
  return section("My tasks", "my-tasks-section", ...parts);
}

function taskList(rows, testid, suffix) {
  if (!rows.length) {
    return element("p", { class: "muted", "data-testid": testid }, "No tasks assigned to you.");
  }
  return element(
    "ul",
    { class: "task-list", "data-testid": testid },
    rows.map(([project, task]) =>
      element(
        "li",
        { "data-testid": "my-task", "data-task": task.id },
        element(
          "a",
          { href: `#/projects/${project.id}/tasks/${task.id}${suffix}` },
          `${project.name} · task #${task.id} · frames ${task.start}–${task.stop - 1}`,
        ),
        " ",
        element("span", { class: `badge state-${task.state}` }, stateLabel(task.state)),
        task.open_issues
          ? element("span", { class: "muted" }, ` ${task.open_issues} open issues`)
          : null,
      ),
    ),
  );
}
