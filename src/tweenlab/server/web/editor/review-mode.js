// Review mode (#/.../review): the side panel that review.js (another module, which may not be
// there yet) mounts with a context of the editor's playhead, region and markers.

import { element } from "../app.js";
import { KINDS } from "./shapes.js";

// mountReview(panel, ctx) from ../review.js, or "review panel not available"; returns its unmount.
export async function mountReviewPanel(panel, session, { api, projectId, taskId, task }) {
  const ctx = {
    api,
    projectId,
    taskId,
    task,
    currentFrame: () => session.frame,
    selectedRegion: () => {
      if (session.region) return { ...session.region };
      const chosen = session.items().find((i) => i.selected);
      return chosen ? KINDS[chosen.shape.kind].bbox(chosen.shape) : null;
    },
    jump: (frame) => session.go(frame),
    setMarkers: (issues) => {
      session.pins = issues || [];
      session.onChange?.();
      session.render();
    },
    refresh: () => session.refresh(),
  };
  try {
    const module = await import("../review.js");
    return (await module.mountReview(panel, ctx)) || null;
  } catch (error) {
    console.warn("review panel not available", error);
    panel.replaceChildren(
      element(
        "p",
        { class: "muted", "data-testid": "review-missing" },
        "review panel not available",
      ),
    );
    return null;
  }
}
