// The editor's keyboard shortcuts: one table (keys, action name, what it does) that both the key
// handler and the help overlay (?) read, so the overlay never lists a key that does nothing.
// Keys are written "ctrl+shift+z": ctrl stands for Ctrl or Cmd; shift is written only for
// letters and named keys (for "?" or "]" the shifted character is the key).

import { element } from "../app.js";

export const SHORTCUTS = [
  { keys: ["d", "ArrowRight"], action: "next", help: "Next frame" },
  { keys: ["f", "ArrowLeft"], action: "previous", help: "Previous frame" },
  { keys: ["shift+d", "shift+ArrowRight"], action: "next10", help: "10 frames forward" },
  { keys: ["shift+f", "shift+ArrowLeft"], action: "previous10", help: "10 frames back" },
  { keys: [" "], action: "play", help: "Play / pause (space)" },
  { keys: ["]"], action: "nextKeyframe", help: "Next keyframe" },
  { keys: ["["], action: "previousKeyframe", help: "Previous keyframe" },
  {
    keys: ["."],
    action: "nextSuggested",
    help: "Next suggested keyframe (the selected track's least confident frame, else any)",
  },
  { keys: [","], action: "previousSuggested", help: "Previous suggested keyframe" },
  { keys: ["'"], action: "nextCut", help: "Next scene cut" },
  { keys: [";"], action: "previousCut", help: "Previous scene cut" },
  { keys: ["n"], action: "newShape", help: "New shape (the chosen kind)" },
  {
    keys: ["v", "Escape"],
    action: "selectTool",
    help: "Select tool; Escape also cancels a drawing",
  },
  {
    keys: ["Enter"],
    action: "finish",
    help: "Finish a polygon, polyline or points; a skeleton with the points left hidden",
  },
  { keys: ["k"], action: "keyframe", help: "Make / remove a keyframe here" },
  { keys: ["o"], action: "outside", help: "Toggle outside" },
  { keys: ["c"], action: "occluded", help: "Toggle occluded" },
  {
    keys: ["Delete", "Backspace"],
    action: "deleteFrame",
    help: "Delete the selected shape on this frame only",
  },
  { keys: ["ctrl+Delete"], action: "deleteFrom", help: "Delete the selected track from here on" },
  { keys: ["ctrl+c"], action: "copyNext", help: "Copy the selected shape to the next frame" },
  { keys: ["e"], action: "eraser", help: "Mask: toggle brush / eraser (shift-drag erases too)" },
  { keys: ["r"], action: "regionTool", help: "Review: mark a region" },
  {
    keys: ["0"],
    action: "fit",
    help: "Fit the frame (wheel zooms; drag the background, or middle-drag, pans)",
  },
  { keys: ["1"], action: "actualSize", help: "Zoom to 100%" },
  { keys: ["ctrl+z"], action: "undo", help: "Undo" },
  { keys: ["ctrl+shift+z", "ctrl+y"], action: "redo", help: "Redo" },
  { keys: ["?"], action: "help", help: "Show / hide this help" },
];

// What the mouse does beyond click-to-select and drag-to-move, listed under the keys.
export const GESTURES = [
  {
    keys: ["alt+click", "right-click"],
    help: "On a vertex of the selected shape: delete it (a skeleton's point: hide / show it)",
  },
  {
    keys: ["drag", "click"],
    help: "An edge's midpoint handle (polygon, polyline): insert a vertex there",
  },
  {
    keys: ["click", "shift+click"],
    help: "Skeleton tool: place the label's points in order (shift: placed hidden)",
  },
];

function describe(event) {
  const named = event.key.length > 1 || /^[a-z]$/i.test(event.key);
  const parts = [];
  if (event.ctrlKey || event.metaKey) parts.push("ctrl");
  if (event.shiftKey && named) parts.push("shift");
  parts.push(event.key.length === 1 ? event.key.toLowerCase() : event.key);
  return parts.join("+");
}

const TABLE = new Map(SHORTCUTS.flatMap((s) => s.keys.map((k) => [k, s.action])));

// Route keydowns on target to actions[name](event); typing in a field is left alone, and so is
// a key whose action returns false (Enter on a button when there is nothing to finish).
export function bindKeys(target, actions) {
  const handle = (event) => {
    if (event.target.closest?.("input, textarea, select, [contenteditable]")) return;
    const action = TABLE.get(describe(event));
    if (!action || !actions[action]) return;
    if (actions[action](event) === false) return; // not for the editor now: the browser's
    event.preventDefault();
  };
  target.addEventListener("keydown", handle);
  return () => target.removeEventListener("keydown", handle);
}

export function helpOverlay(onClose) {
  const rows = [...SHORTCUTS, ...GESTURES].map((s) =>
    element(
      "tr",
      {},
      element(
        "td",
        {},
        s.keys.map((k) => element("kbd", {}, k === " " ? "space" : k)),
      ),
      element("td", {}, s.help),
    ),
  );
  const close = element("button", { type: "button", "data-testid": "help-close" }, "Close");
  const overlay = element(
    "div",
    {
      class: "editor-help",
      "data-testid": "help",
      role: "dialog",
      "aria-label": "Keyboard shortcuts",
    },
    element("h2", {}, "Keyboard shortcuts"),
    element("table", {}, rows),
    close,
  );
  close.addEventListener("click", onClose);
  return overlay;
}
