// The annotation editor of one task.
import { element } from "./app.js";

export async function mountEditor(root, [projectId, taskId], { api }) {
  const task = await api.get(`/projects/${projectId}/tasks/${taskId}`);
  root.append(element("h1", {}, `Task ${task.id}`));
}
