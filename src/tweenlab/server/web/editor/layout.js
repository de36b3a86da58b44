// The editor page's DOM: toolbar, canvas, side panel, transport and timeline boxes, and what
// the toolbar's buttons and fields do. layout() returns the elements the other parts fill.

import { element } from "../app.js";
import { allowedKinds } from "./session.js";
import { DRAWN, KINDS } from "./shapes.js";

export function layout(task, labels, review, blocked) {
  const notice = blocked
    ? element("span", { class: "read-only", "data-testid": "read-only" }, blocked)
    : "";
  const start =
    blocked && task.actions.includes("start")
      ? element(
          "button",
          { type: "button", class: "primary", "data-testid": "start-task" },
          "Start",
        )
      : null;
  const discard = element(
    "button",
    { type: "button", "data-testid": "discard-failed", hidden: true },
    "Discard refused edits",
  );
  const canvas = element("canvas", { "data-testid": "editor-canvas", tabindex: 0 });
  const counter = element(
    "span",
    { class: "counter", "data-testid": "frame-number" },
    String(task.start),
  );
  const status = element(
    "span",
    { class: "save-status", "data-testid": "save-status", "data-status": "saved" },
    "saved",
  );
  const button = (text, attributes = {}) =>
    element("button", { type: "button", ...attributes }, text);
  const tools = element(
    "div",
    { class: "tools" },
    button("Select", { "data-tool": "select", "data-testid": "tool-select", title: "v" }),
    DRAWN.map((kind) =>
      button(KINDS[kind].label, { "data-tool": kind, "data-testid": `tool-${kind}` }),
    ),
    review
      ? button("Region", { "data-tool": "region", "data-testid": "tool-region", title: "r" })
      : "",
  );
  const label = element(
    "select",
    { "data-testid": "new-label", "aria-label": "label of new shapes" },
    labels.map((l) => element("option", { value: l.name }, l.name)),
  );
  const brush = element("input", {
    type: "number",
    min: 1,
    max: 200,
    value: 8,
    "aria-label": "brush radius",
    class: "brush",
  });
  const eraser = element("input", { type: "checkbox", "data-testid": "eraser" });
  const play = button("▶", { "data-testid": "play", title: "space" });
  const prev = button("◀", { "data-testid": "prev-frame", title: "f" });
  const next = button("▶|", { "data-testid": "next-frame", title: "d" });
  const undo = button("Undo", { "data-testid": "undo", title: "ctrl+z" });
  const redo = button("Redo", { "data-testid": "redo", title: "ctrl+shift+z" });
  const help = button("?", { "data-testid": "help-button", title: "keyboard shortcuts" });
  const guidelines = button("Guidelines", {
    "data-testid": "guidelines-button",
    title: "the project's annotation guidelines",
  });
  const jump = element("input", {
    type: "number",
    min: task.start,
    max: task.stop - 1,
    class: "jump",
    "aria-label": "go to frame",
    "data-testid": "frame-input",
  });
  const tracks = element("div", { class: "panel-tracks" });
  const reviewPanel = review
    ? element("div", { class: "panel-review", "data-testid": "review-side" })
    : "";
  const timeline = element("div", { class: "editor-timeline" });
  const page = element(
    "div",
    { class: `editor${review ? " reviewing" : ""}`, "data-testid": "editor" },
    element(
      "div",
      { class: "editor-toolbar" },
      tools,
      element("label", {}, "Label ", label),
      element("label", { title: "mask brush radius" }, "Brush ", brush),
      element("label", { title: "mask eraser (e)" }, eraser, " eraser"),
      element("span", { class: "spacer" }),
      notice,
      start || "",
      undo,
      redo,
      status,
      discard,
      guidelines,
      help,
    ),
    element(
      "div",
      { class: "editor-main" },
      element("div", { class: "editor-stage" }, canvas),
      element("aside", { class: "editor-side" }, reviewPanel, tracks),
    ),
    element(
      "div",
      { class: "editor-transport" },
      prev,
      play,
      next,
      element("span", {}, "frame ", counter, ` of ${task.start}–${task.stop - 1}`),
      jump,
    ),
    timeline,
  );
  return {
    page,
    canvas,
    counter,
    status,
    tools,
    label,
    brush,
    eraser,
    play,
    prev,
    next,
    undo,
    redo,
    help,
    guidelines,
    jump,
    tracks,
    review: reviewPanel,
    timeline,
    start,
    discard,
  };
}

export function wireToolbar(ui, session, labels) {
  ui.tools.addEventListener("click", (event) => {
    const tool = event.target.closest("button[data-tool]")?.dataset.tool;
    if (!tool) return;
    if (tool !== "select" && tool !== "region") session.drawKind = tool;
    session.useTool(tool);
  });
  ui.label.addEventListener("change", () => {
    session.label = ui.label.value;
    const kinds = allowedKinds(labels.find((l) => l.name === session.label));
    if (!kinds.includes(session.drawKind)) session.drawKind = kinds[0] || "box";
  });
  ui.brush.addEventListener("change", () => (session.brush.radius = Number(ui.brush.value) || 8));
  ui.eraser.addEventListener("change", () => (session.brush.erase = ui.eraser.checked));
  ui.play.addEventListener("click", () => session.play());
  ui.prev.addEventListener("click", () => session.step(-1));
  ui.next.addEventListener("click", () => session.step(1));
  ui.undo.addEventListener("click", () => session.undo());
  ui.redo.addEventListener("click", () => session.redo());
  ui.jump.addEventListener("change", () => session.go(Number(ui.jump.value)));
}
