// The manager's pages: the projects, and one project (videos, tasks, people, pay, export).
import { element } from "./app.js";

export async function mountProjects(root, _params, { api }) {
  const projects = await api.get("/projects");
  root.append(
    element("h1", {}, "Projects"),
    element(
      "ul",
      { "data-testid": "projects" },
      projects.map((p) => element("li", {}, element("a", { href: `#/projects/${p.id}` }, p.name))),
    ),
  );
}

export async function mountProject(root, [projectId], { api }) {
  const project = await api.get(`/projects/${projectId}`);
  root.append(element("h1", {}, project.name));
}
