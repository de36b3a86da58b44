// The annotation editor of one task (#/projects/P/tasks/T, and .../review for review mode): the
// page's parts put together. What each part owns:
//   editor/session.js   playhead, what is shown, edit commands     editor/sync.js    autosave
//   editor/canvas.js    drawing, zoom and pan                       editor/tools.js   mouse tools
//   editor/shapes.js    one entry per shape kind                    editor/states.js  server states
//   editor/timeline.js  rows of keyframes and spans                 editor/panel.js   tracks panel
//   editor/shortcuts.js keys and the help overlay                   editor/conflict.js 409 dialog
//   editor/layout.js    the page's DOM and toolbar                  editor/keys.js    key actions
//   editor/review-mode.js  review.js's panel and context           editor/hook.js    test hook
//   editor/guidance.js  confidence, cuts and suggested keyframes from the server
// window.tweenlabEditor is a small read-mostly hook for tests and debugging.

import { element } from "./app.js";
import { FrameSource } from "./frames.js";
import { mountGuidelines } from "./guidelines.js";
import { Stage } from "./editor/canvas.js";
import { askConflict } from "./editor/conflict.js";
import { Guidance } from "./editor/guidance.js";
import { testHook } from "./editor/hook.js";
import { keyActions } from "./editor/keys.js";
import { layout, wireToolbar } from "./editor/layout.js";
import { renderPanel } from "./editor/panel.js";
import { decide } from "./editor/predictions.js";
import { mountReviewPanel } from "./editor/review-mode.js";
import { Session, editBlocked } from "./editor/session.js";
import { bindKeys, helpOverlay } from "./editor/shortcuts.js";
import { States } from "./editor/states.js";
import { Sync } from "./editor/sync.js";
import { Timeline } from "./editor/timeline.js";

const HEARTBEAT_MS = 30_000;
const IDLE_MS = 90_000; // no heartbeat when the person has done nothing for this long

function stylesheet() {
  if (document.querySelector("link[data-editor-css]")) return;
  document.head.append(
    element("link", { rel: "stylesheet", href: "/editor/editor.css", "data-editor-css": true }),
  );
}

function parseFps(text) {
  const [num, den] = String(text || "25")
    .split("/")
    .map(Number);
  const fps = den ? num / den : num;
  return fps > 0 && Number.isFinite(fps) ? fps : 25;
}

export async function mountEditor(
  root,
  [projectId, taskId, review],
  { api, toast, user, navigate },
) {
  stylesheet();
  const base = `/projects/${projectId}/tasks/${taskId}`;
  const [task, project] = await Promise.all([api.get(base), api.get(`/projects/${projectId}`)]);
  const video = await api.get(`/projects/${projectId}/videos/${task.video_id}`);
  const labels = project.schema || [];
  root.className = "full";
  const blocked = editBlocked(task, project.role, user?.id);
  const ui = layout(task, labels, Boolean(review), blocked);
  ui.start?.addEventListener("click", async () => {
    await api.post(`${base}/actions/start`).catch((error) => toast(error.message, "error"));
    navigate(location.hash); // the view again, now editable
  });
  // replace, not append: a view still loading when we came may have added to root meanwhile
  root.replaceChildren(ui.page);
  const parts = assemble({ api, toast, projectId, taskId, base, task, video, labels, ui });
  parts.session.blocked = blocked;
  const { session, sync, stage, source } = parts;
  wireToolbar(ui, session, labels);
  ui.discard.addEventListener("click", () => sync.discardFailed().then(() => session.render()));
  const unbindKeys = bindKeys(document, keyActions(session, helpToggle(ui), Boolean(review)));
  guidelinesToggle(ui, api, projectId);
  const stopBeats = heartbeats(api, `${base}/heartbeat`, ui.page);

  await sync.load();
  parts.guidance.loadTask(); // the marks come when they come; the editor does not wait
  stage.resize();
  session.go(task.start);
  const hook = testHook(session, sync, stage);
  window.tweenlabEditor = hook; // before the first frame is drawn
  parts.update();
  const unmountReview = review
    ? await mountReviewPanel(ui.review, session, { api, projectId, taskId, task })
    : null;
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
    // only ours: a view mounted after this one (the same task opened again) keeps its own
    if (window.tweenlabEditor === hook) delete window.tweenlabEditor;
  };
}

// The parts of the editor, wired to each other: {source, stage, sync, states, session,
// timeline, update} (update redraws the panel, the timeline and the toolbar's state).
function assemble({ api, toast, projectId, taskId, base, task, video, labels, ui }) {
  const parts = {};
  const source = new FrameSource({
    projectId,
    videoId: task.video_id,
    frameCount: video.frame_count,
    width: video.width,
    height: video.height,
  });
  const stage = new Stage(ui.canvas, video);
  const sync = new Sync({
    api,
    projectId,
    taskId,
    onChange: (detail) => {
      const { session } = parts;
      if (!session) return;
      if (detail?.renumbered && session.selected === detail.renumbered[0])
        session.selected = detail.renumbered[1];
      parts.update();
      session.render();
    },
    onStatus: (status, detail) => {
      ui.status.textContent = status;
      ui.status.dataset.status = status;
      ui.status.title = detail || "";
      ui.discard.hidden = status !== "error";
    },
    resolveConflict: (conflict) => askConflict(ui.page, conflict),
  });
  const states = new States(api, base, {
    first: task.start,
    last: task.stop - 1,
    onLoaded: () => parts.session?.render(),
  });
  const guidance = new Guidance(api, base, { onLoaded: () => parts.update?.() });
  const session = new Session({
    ...{ api, toast, task, video, labels, sync, states, source, stage, guidance },
    fps: parseFps(video.fps),
    onFrame: (frame) => {
      ui.counter.textContent = String(frame);
      if (parts.session?.playing) parts.timeline.render(timelineState(parts));
      else parts.update?.();
    },
    onChange: () => parts.update?.(),
  });
  stage.onView = () => session.render();
  const timeline = new Timeline(ui.timeline, {
    first: task.start,
    last: task.stop - 1,
    onJump: (f) => session.go(f),
  });
  timeline.onSelect = (number) => session.select(number);
  Object.assign(parts, { source, stage, sync, states, session, timeline, guidance });
  parts.update = () => update(parts, ui, labels);
  return parts;
}

function timelineState({ session, sync, guidance }) {
  const rows = sync.tracks().map((r) => ({
    number: r.number,
    track: r.track,
    color: session.color(r.number, r.track),
    selected: r.number === session.selected,
    guidance: guidance.track(r.number, r.revision),
  }));
  return {
    frame: session.frame,
    rows,
    cuts: guidance.cuts,
    suggested: guidance.suggested,
    issues: session.pins,
  };
}

function update(parts, ui, labels) {
  const { session, sync, timeline } = parts;
  const rows = sync.tracks().map((r) => ({
    number: r.number,
    track: r.track,
    kind: r.track.keyframes[0]?.shape?.kind,
    color: session.color(r.number, r.track),
    state: session.stateOf(r),
    selected: r.number === session.selected,
  }));
  renderPanel(
    ui.tracks,
    { rows, labels, frame: session.frame, blocked: session.blocked },
    {
      select: (n) => session.select(n),
      setLabel: (n, label) => session.setLabel(n, label),
      toggle: (n, what) => session.toggle(n, what),
      setAttribute: (n, name, value, perFrame) => session.setAttribute(n, name, value, perFrame),
      deleteFrame: (n) => session.deleteFrame(n),
      deleteFrom: (n) => session.deleteFrom(n),
      deleteTrack: (n) => session.deleteTrack(n),
      fill: (n) => session.fill(n),
      accept: (numbers) => decide(session, "accept", numbers),
      reject: (numbers) => decide(session, "reject", numbers),
    },
  );
  timeline.render(timelineState(parts));
  for (const button of ui.tools.querySelectorAll("button[data-tool]")) {
    button.classList.toggle("active", button.dataset.tool === session.tool.name);
  }
  ui.play.textContent = session.playing ? "❚❚" : "▶";
  ui.eraser.checked = session.brush.erase;
}

// The guidelines overlay (the Guidelines button): the project's Markdown with its example frames.
function guidelinesToggle(ui, api, projectId) {
  let overlay = null;
  const toggle = async () => {
    if (overlay) {
      overlay.remove();
      overlay = null;
      return;
    }
    const close = element("button", { type: "button", "data-testid": "guidelines-close" }, "Close");
    overlay = element(
      "div",
      { class: "editor-help editor-guidelines", role: "dialog", "aria-label": "Guidelines" },
      element("h2", {}, "Guidelines"),
      close,
    );
    close.addEventListener("click", toggle);
    ui.page.append(overlay);
    try {
      await mountGuidelines(overlay, { api, projectId });
    } catch (error) {
      overlay?.append(element("p", { class: "error" }, String(error.message || error)));
    }
  };
  ui.guidelines.addEventListener("click", toggle);
}

// The help overlay's toggle (the ? key and the ? button).
function helpToggle(ui) {
  let overlay = null;
  const toggle = () => {
    if (overlay) {
      overlay.remove();
      overlay = null;
    } else {
      overlay = helpOverlay(toggle);
      ui.page.append(overlay);
    }
  };
  ui.help.addEventListener("click", toggle);
  return toggle;
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
