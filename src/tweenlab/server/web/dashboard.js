// The manager's pages: the projects (with "My tasks" and a form to create a project with its
// label schema), and one project: members, videos, tasks, throughput and quality, pay, export.
// Sections a role may not use are not shown (the API refuses them anyway).
import { element } from "./app.js";
import { accountsSection } from "./dashboard/accounts.js";
import { exportSection } from "./dashboard/exports.js";
import { guidelinesSection } from "./dashboard/guidelines.js";
import { membersSection } from "./dashboard/members.js";
import { myTasksSection } from "./dashboard/mytasks.js";
import { myPaySection, paySection } from "./dashboard/pay.js";
import { schemaForm } from "./dashboard/schema_form.js";
import { ProjectState } from "./dashboard/state.js";
import { statsSection } from "./dashboard/stats.js";
import { tasksSection } from "./dashboard/tasks.js";
import { attempt, errorLine, field, input, section, tableHead } from "./dashboard/ui.js";
import { videosSection } from "./dashboard/videos.js";

export async function mountProjects(root, _params, context) {
  const { api, user } = context;
  const projects = await api.get("/projects");
  const tasksOf = new Map(
    await Promise.all(
      projects.map(async (p) => [p.id, await api.get(`/projects/${p.id}/tasks`).catch(() => [])]),
    ),
  );
  root.classList.add("dashboard");
  root.append(
    element("h1", {}, "Projects"),
    myTasksSection(user, projects, tasksOf),
    section("Projects", "projects-section", projectTable(projects, tasksOf)),
    newProjectForm(context),
  );
  if (user.is_admin) root.append(await accountsSection(context));
}

function projectTable(projects, tasksOf) {
  if (!projects.length) {
    return element("p", { class: "muted", "data-testid": "projects" }, "No projects yet.");
  }
  const count = (tasks, state) => tasks.filter((t) => t.state === state).length;
  return element(
    "table",
    { "data-testid": "projects" },
    tableHead("Project", "Your role", "Tasks", "Accepted"),
    element(
      "tbody",
      {},
      projects.map((p) => {
        const tasks = tasksOf.get(p.id) || [];
        return element(
          "tr",
          { "data-testid": "project-row", "data-project": p.id },
          element("td", {}, element("a", { href: `#/projects/${p.id}` }, p.name)),
          element("td", {}, p.role),
          element("td", {}, tasks.length),
          element("td", {}, count(tasks, "accepted")),
        );
      }),
    ),
  );
}

function newProjectForm({ api, toast, navigate }) {
  const name = input("name", { required: true, maxlength: 200, "data-testid": "project-name" });
  const guidelines = element("textarea", {
    name: "guidelines",
    rows: 3,
    "data-testid": "project-guidelines",
  });
  const schema = schemaForm();
  const error = errorLine("new-project-error");
  const form = element(
    "form",
    { "data-testid": "new-project" },
    field("Name", name),
    schema.node,
    field("Guidelines (Markdown)", guidelines),
    element("button", { type: "submit", "data-testid": "create-project" }, "Create project"),
    error,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { name: name.value.trim(), schema: schema.read(), guidelines: guidelines.value };
    const made = await attempt(error, null, () => api.post("/projects", body));
    if (made) {
      toast(`project ${made.name} created`);
      navigate(`#/projects/${made.id}`);
    }
  });
  return section("New project", "new-project-section", form);
}

export async function mountProject(root, [projectId], context) {
  const project = await context.api.get(`/projects/${projectId}`);
  const state = new ProjectState(context, project);
  root.classList.add("dashboard");
  root.append(
    element(
      "header",
      { class: "project-head" },
      element("a", { href: "#/" }, "← Projects"),
      element("h1", { "data-testid": "project-title" }, project.name),
      element("span", { class: "badge", "data-testid": "project-role" }, project.role),
    ),
    schemaSummary(project.schema),
  );
  const sections = [];
  if (state.may("reviewer")) sections.push(videosSection(state), tasksSection(state));
  else sections.push(annotatorTasks(state));
  if (state.may("manager")) {
    sections.push(membersSection(state), statsSection(state), paySection(state));
    sections.push(exportSection(state));
  } else {
    sections.push(myPaySection(state));
  }
  sections.push(guidelinesSection(state));
  root.append(...sections);
  await state.load("members");
  await state.load("videos", "tasks");
  return () => state.stop();
}

function annotatorTasks(state) {
  const holder = element("div");
  state.on("tasks", (tasks) => {
    const mine = myTasksSection(state.user, [state.project], new Map([[state.id, tasks]]));
    holder.replaceChildren(mine);
  });
  return holder;
}

function schemaSummary(schema) {
  return element(
    "p",
    { class: "muted", "data-testid": "schema-summary" },
    "Labels: ",
    schema.length
      ? schema.flatMap((label, i) => [
          i ? ", " : "",
          element("span", { class: "swatch", style: `background:${label.color}` }),
          label.name,
          label.kinds.length ? ` (${label.kinds.join("/")})` : "",
          label.skeleton ? ` [${label.skeleton.nodes.join(", ")}]` : "",
        ])
      : "none",
  );
}
