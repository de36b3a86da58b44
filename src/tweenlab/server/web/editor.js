// The annotation editor of one task (#/projects/P/tasks/T, and .../review for review mode): the
// page's parts put together. What each part owns:
//   editor/session.js   playhead, what is shown, edit commands     editor/sync.js    autosave
//   editor/canvas.js    drawing, zoom and pan                       editor/tools.js   mouse tools
//   editor/shapes.js    one entry per shape kind                    editor/states.js  server states
//   editor/timeline.js  rows of keyframes and spans                 editor/panel.js   tracks panel
//   editor/shortcuts.js keys and the help overlay                   editor/conflict.js 409 dialog
// window.tweenlabEditor is a small read-mostly hook for tests and debugging.

import { element } from "./app.js";
import { FrameSource } from "./frames.js";
import { Stage } from "./editor/canvas.js";
import { askConflict } from "./editor/conflict.js";
import { renderPanel } from "./editor/panel.js";
import { Session, allowedKinds } from "./editor/session.js";
import { DRAWN, KINDS } from "./editor/shapes.js";
import { bindKeys, helpOverlay } from "./editor/shortcuts.js";
import { States } from "./editor/states.js";
import { Sync } from "./editor/sync.js";
import { Timeline } from "./editor/timeline.js";

const HEARTBEAT_MS = 30_000;
const IDLE_MS = 90_000; // no heartbeat when the person has done nothing for this long

function stylesheet() {
  if (document.querySelector("link[data-editor-css]")) return;
  document.head.append(element("link", { rel: "stylesheet", href: "/editor/editor.css", "data-editor-css": true }));
}

function parseFps(text) {
  const [num, den] = String(text || "25").split("/").map(Number);
  const fps = den ? num / den : num;
  return fps > 0 && Number.isFinite(fps) ? fps : 25;
}

export async function mountEditor(root, [projectId, taskId, review], { api, toast }) {
  stylesheet();
  const base = `/projects/${projectId}/tasks/${taskId}`;
  const [task, project] = await Promise.all([api.get(base), api.get(`/projects/${projectId}`)]);
  const video = await api.get(`/projects/${projectId}/videos/${task.video_id}`);
  const labels = project.schema || [];
  root.className = "full";

  const ui = layout(task, labels, Boolean(review));
  root.replaceChildren(ui.page); // not append: a view still loading when we came may have added to root
  const source = new FrameSource({
    projectId,
    videoId: task.video_id,
    frameCount: video.frame_count,
    width: video.width,
    height: video.height,
  });
  const stage = new Stage(ui.canvas, video);
  let session = null;
  const refresh = () => session && update();
  const sync = new Sync({
    api,
    projectId,
    taskId,
    onChange: (detail) => {
      if (detail?.renumbered && session?.selected === detail.renumbered[0]) session.selected = detail.renumbered[1];
      refresh();
      session?.render();
    },
    onStatus: (status, detail) => {
      ui.status.textContent = status;
      ui.status.dataset.status = status;
      ui.status.title = detail || "";
    },
    resolveConflict: (conflict) => askConflict(ui.page, conflict),
  });
  const states = new States(api, base, {
    first: task.start,
    last: task.stop - 1,
    onLoaded: () => session?.render(),
  });
  session = new Session({
    api,
    toast,
    task,
    video,
    labels,
    sync,
    states,
    source,
    stage,
    fps: parseFps(video.fps),
    onFrame: (frame) => {
      ui.counter.textContent = String(frame);
      if (!session?.playing) update();
      else timeline.render(timelineState());
    },
    onChange: refresh,
  });
  stage.onView = () => session.render();
  const timeline = new Timeline(ui.timeline, { first: task.start, last: task.stop - 1, onJump: (f) => session.go(f) });
  timeline.onSelect = (number) => session.select(number);

  function timelineState() {
    const rows = sync.tracks().map((r) => ({
      number: r.number,
      track: r.track,
      color: session.color(r.number, r.track),
      selected: r.number === session.selected,
    }));
    return { frame: session.frame, rows, cuts: session.cuts, suggested: session.suggested, issues: session.pins };
  }

  function update() {
    const rows = sync.tracks().map((r) => ({
      number: r.number,
      track: r.track,
      kind: r.track.keyframes[0]?.shape?.kind,
      color: session.color(r.number, r.track),
      state: session.stateOf(r),
      selected: r.number === session.selected,
    }));
    renderPanel(ui.tracks, { rows, labels, frame: session.frame }, {
      select: (n) => session.select(n),
      setLabel: (n, label) => session.setLabel(n, label),
      toggle: (n, what) => session.toggle(n, what),
      setAttribute: (n, name, value, perFrame) => session.setAttribute(n, name, value, perFrame),
      deleteFrame: (n) => session.deleteFrame(n),
      deleteFrom: (n) => session.deleteFrom(n),
      deleteTrack: (n) => session.deleteTrack(n),
      fill: (n) => session.fill(n),
    });
    timeline.render(timelineState());
    for (const button of ui.tools.querySelectorAll("button[data-tool]")) {
      button.classList.toggle("active", button.dataset.tool === session.tool.name);
    }
    ui.play.textContent = session.playing ? "❚❚" : "▶";
    ui.eraser.checked = session.brush.erase;
  }

  wireToolbar(ui, session, labels);
  const overlay = { node: null };
  const toggleHelp = () => {
    if (overlay.node) {
      overlay.node.remove();
      overlay.node = null;
    } else {
      overlay.node = helpOverlay(toggleHelp);
      ui.page.append(overlay.node);
    }
  };
  ui.help.addEventListener("click", toggleHelp);
  const unbindKeys = bindKeys(document, keyActions(session, toggleHelp, Boolean(review)));
  const stopBeats = heartbeats(api, `${base}/heartbeat`, ui.page);

  await sync.load();
  stage.resize();
  session.go(task.start);
  update();
  let unmountReview = null;
  if (review) unmountReview = await mountReviewPanel(ui.review, session, { api, projectId, taskId, task });

  window.tweenlabEditor = testHook(session, sync, stage);
  return async () => {
    session.stop();
    unbindKeys();
    stopBeats();
    try {
      unmountReview?.();
    } catch (error) {
      console.error(error);
    }
    sync.close();
    stage.close();
    source.close();
    delete window.tweenlabEditor;
  };
}

function layout(task, labels, review) {
  const canvas = element("canvas", { "data-testid": "editor-canvas", tabindex: 0 });
  const counter = element("span", { class: "counter", "data-testid": "frame-number" }, String(task.start));
  const status = element("span", { class: "save-status", "data-testid": "save-status", "data-status": "saved" }, "saved");
  const button = (text, attributes = {}) => element("button", { type: "button", ...attributes }, text);
  const tools = element(
    "div",
    { class: "tools" },
    button("Select", { "data-tool": "select", "data-testid": "tool-select", title: "v" }),
    DRAWN.map((kind) => button(KINDS[kind].label, { "data-tool": kind, "data-testid": `tool-${kind}` })),
    review ? button("Region", { "data-tool": "region", "data-testid": "tool-region", title: "r" }) : "",
  );
  const label = element(
    "select",
    { "data-testid": "new-label", "aria-label": "label of new shapes" },
    labels.map((l) => element("option", { value: l.name }, l.name)),
  );
  const brush = element("input", { type: "number", min: 1, max: 200, value: 8, "aria-label": "brush radius", class: "brush" });
  const eraser = element("input", { type: "checkbox", "data-testid": "eraser" });
  const play = button("▶", { "data-testid": "play", title: "space" });
  const prev = button("◀", { "data-testid": "prev-frame", title: "f" });
  const next = button("▶|", { "data-testid": "next-frame", title: "d" });
  const undo = button("Undo", { "data-testid": "undo", title: "ctrl+z" });
  const redo = button("Redo", { "data-testid": "redo", title: "ctrl+shift+z" });
  const help = button("?", { "data-testid": "help-button", title: "keyboard shortcuts" });
  const jump = element("input", { type: "number", min: task.start, max: task.stop - 1, class: "jump", "aria-label": "go to frame", "data-testid": "frame-input" });
  const tracks = element("div", { class: "panel-tracks" });
  const reviewPanel = review ? element("div", { class: "panel-review", "data-testid": "review-panel" }) : "";
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
      undo,
      redo,
      status,
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
  return { page, canvas, counter, status, tools, label, brush, eraser, play, prev, next, undo, redo, help, jump, tracks, review: reviewPanel, timeline };
}

function wireToolbar(ui, session, labels) {
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

function keyActions(session, toggleHelp, review) {
  const withSelected = (command) => () => session.selected !== null && command(session.selected);
  return {
    next: () => session.step(1),
    previous: () => session.step(-1),
    next10: () => session.step(10),
    previous10: () => session.step(-10),
    play: (event) => !event.repeat && session.play(),
    nextKeyframe: () => jumpKeyframe(session, 1),
    previousKeyframe: () => jumpKeyframe(session, -1),
    newShape: () => session.useTool(session.drawKind),
    selectTool: () => session.useTool("select"),
    finish: () => session.tool.finish?.(),
    keyframe: withSelected((n) => session.toggle(n, "keyframe")),
    outside: withSelected((n) => session.toggle(n, "outside")),
    occluded: withSelected((n) => session.toggle(n, "occluded")),
    deleteFrame: withSelected((n) => session.deleteFrame(n)),
    deleteFrom: withSelected((n) => session.deleteFrom(n)),
    copyNext: withSelected((n) => session.copyToNext(n)),
    eraser: () => {
      session.brush.erase = !session.brush.erase;
      session.onChange?.();
    },
    regionTool: () => review && session.useTool("region"),
    fit: () => session.stage.fit(),
    actualSize: () => session.stage.setView({ zoom: 1 }),
    undo: () => session.undo(),
    redo: () => session.redo(),
    help: toggleHelp,
  };
}

function jumpKeyframe(session, direction) {
  const tracks = session.sync.tracks().filter((r) => session.selected === null || r.number === session.selected);
  const found = nextKeyframeOf(tracks.map((r) => r.track), session.frame, direction);
  if (found !== null) session.step(found - session.frame);
}

function nextKeyframeOf(tracks, frame, direction) {
  const frames = tracks.flatMap((t) => t.keyframes.map((k) => k.frame)).filter((f) => (direction > 0 ? f > frame : f < frame));
  if (!frames.length) return null;
  return direction > 0 ? Math.min(...frames) : Math.max(...frames);
}

// "Still working" every 30 s while the tab is visible and the person did something lately.
function heartbeats(api, path, page) {
  let last = Date.now();
  const acted = () => (last = Date.now());
  const events = ["keydown", "pointerdown", "wheel"];
  for (const name of events) page.ownerDocument.addEventListener(name, acted, { passive: true });
  const timer = setInterval(() => {
    if (document.visibilityState !== "visible" || Date.now() - last > IDLE_MS) return;
    api.post(path).catch(() => {}); // a manager looking on may not beat; that is fine
  }, HEARTBEAT_MS);
  return () => {
    clearInterval(timer);
    for (const name of events) page.ownerDocument.removeEventListener(name, acted);
  };
}

async function mountReviewPanel(panel, session, { api, projectId, taskId, task }) {
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
    const module = await import("./review.js");
    return (await module.mountReview(panel, ctx)) || null;
  } catch (error) {
    console.warn("review panel not available", error);
    panel.replaceChildren(element("p", { class: "muted", "data-testid": "review-missing" }, "review panel not available"));
    return null;
  }
}

function testHook(session, sync, stage) {
  const copy = (value) => JSON.parse(JSON.stringify(value));
  const drag = (tool, x0, y0, x1, y1) => {
    session.useTool(tool);
    const event = { button: 0, clientX: 0, clientY: 0, detail: 1 };
    session.tool.down([x0, y0], event);
    session.tool.move([(x0 + x1) / 2, (y0 + y1) / 2], event);
    session.tool.move([x1, y1], event);
    session.tool.up([x1, y1], event);
  };
  return {
    get frame() {
      return session.frame;
    },
    get drawnFrame() {
      return session.drawnFrame;
    },
    get selected() {
      return session.selected;
    },
    get status() {
      return sync.status;
    },
    get view() {
      return { ...stage.view };
    },
    tracks: () => copy(sync.tracks().map(({ number, revision, dirty, track }) => ({ number, revision, dirty, track }))),
    shown: () => copy(session.items().map(({ number, shape, source }) => ({ number, shape, source }))),
    pendingCount: () => sync.pendingCount(),
    settled: () => sync.settled(),
    go: (frame) => session.go(frame),
    select: (number) => session.select(number),
    setView: (view) => stage.setView(view),
    // Draw a box / region through the same tool code a mouse drag drives (video pixels).
    drawBox: (x, y, w, h) => drag("box", x, y, x + w, y + h),
    drawRegion: (x, y, w, h) => drag("region", x, y, x + w, y + h),
    moveSelected: (dx, dy) => {
      const chosen = session.items().find((i) => i.selected);
      if (!chosen) throw new Error("nothing selected on this frame");
      const { x, y } = KINDS[chosen.shape.kind].bbox(chosen.shape);
      const inside = chosen.shape.kind === "box" ? [chosen.shape.x + chosen.shape.w / 2, chosen.shape.y + chosen.shape.h / 2] : [x, y];
      session.useTool("select");
      const event = { button: 0, clientX: 0, clientY: 0, detail: 1 };
      session.tool.down(inside, event);
      session.tool.move([inside[0] + dx, inside[1] + dy], event);
      session.tool.up([inside[0] + dx, inside[1] + dy], event);
    },
  };
}
