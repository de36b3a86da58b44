// The tracks panel: one row per track (colour, number, label, kind, and on the current frame its
// keyframe/outside/occluded toggles), and for the selected track its attributes (per-track ones
// on the track, per-frame ones on a keyframe here) and the delete and fill actions. A model's
// predictions carry an "auto" badge with their score and Accept / Reject (predictions.js).
//
//   renderPanel(root, {rows, labels, frame, blocked}, on)
//   rows: [{number, track, color, state, selected, kind}]; state: what is shown on this frame
//   on: {select, setLabel, toggle, setAttribute, deleteFrame, deleteFrom, deleteTrack, fill,
//        accept, reject}; blocked: why the person may not edit (null when they may)

import { element } from "../app.js";
import { keyframeAt } from "./model.js";
import { isPrediction, predictionBar, predictionControls } from "./predictions.js";

export function renderPanel(root, { rows, labels, frame, blocked = null }, on) {
  const list = rows.map((row) => trackRow(row, labels, frame, on, Boolean(blocked)));
  const chosen = rows.find((r) => r.selected);
  root.replaceChildren(
    element("h2", {}, `Tracks (${rows.length})`),
    predictionBar(rows, on, Boolean(blocked)),
    rows.length
      ? element("ul", { class: "tracks", "data-testid": "tracks" }, list)
      : element("p", { class: "muted" }, "No tracks yet: press n and draw."),
    chosen ? details(chosen, labels, frame, on) : "",
  );
}

function toggle(name, checked, disabled, onChange) {
  const box = element("input", {
    type: "checkbox",
    "data-testid": `toggle-${name}`,
    checked,
    disabled,
  });
  box.addEventListener("change", (event) => {
    event.stopPropagation();
    onChange();
  });
  return element("label", { class: "toggle", title: name }, box, name);
}

function trackRow(row, labels, frame, on, blocked) {
  const { number, track, state } = row;
  const keyframe = keyframeAt(track, frame);
  const label = element(
    "select",
    { "data-testid": "track-label", "aria-label": "label" },
    labels.map((l) =>
      element("option", { value: l.name, selected: l.name === track.label }, l.name),
    ),
  );
  label.addEventListener("change", () => on.setLabel(number, label.value));
  label.addEventListener("click", (event) => event.stopPropagation());
  const shown = state && !state.outside;
  const item = element(
    "li",
    {
      class: `track${row.selected ? " selected" : ""}${isPrediction(track) ? " predicted" : ""}`,
      "data-testid": "track-row",
      "data-number": number,
      "data-keyframes": track.keyframes.map((k) => k.frame).join(","),
    },
    element("span", { class: "swatch", style: `background:${row.color}` }),
    element("b", {}, `#${number}`),
    label,
    element("span", { class: "muted kind" }, row.kind),
    ...predictionControls(row, on, blocked),
    element(
      "span",
      { class: "flags" },
      toggle("keyframe", Boolean(keyframe), !state && !keyframe, () =>
        on.toggle(number, "keyframe"),
      ),
      toggle("outside", Boolean(state?.outside), !state, () => on.toggle(number, "outside")),
      toggle("occluded", Boolean(state?.occluded), !shown, () => on.toggle(number, "occluded")),
    ),
  );
  item.addEventListener("click", (event) => {
    if (!event.target.closest("input, select, label, button")) on.select(number);
  });
  return item;
}

function details(row, labels, frame, on) {
  const spec = labels.find((l) => l.name === row.track.label);
  const keyframe = keyframeAt(row.track, frame);
  const fields = (spec?.attributes || []).map((a) => {
    const perFrame = Boolean(a.per_frame);
    const value = perFrame
      ? (keyframe?.attributes?.[a.name] ?? heldAttribute(row.track, frame, a.name) ?? a.default)
      : (row.track.attributes?.[a.name] ?? a.default);
    const input = attributeInput(a, value);
    input.dataset.testid = `attribute-${a.name}`;
    input.addEventListener("change", () => {
      const raw = a.kind === "checkbox" ? input.checked : input.value;
      on.setAttribute(row.number, a.name, a.kind === "number" ? Number(raw) : raw, perFrame);
    });
    return element("label", {}, `${a.name}${perFrame ? " (this frame on)" : ""}`, input);
  });
  const button = (text, testid, action) => {
    const b = element("button", { type: "button", "data-testid": testid }, text);
    b.addEventListener("click", () => action(row.number));
    return b;
  };
  return element(
    "div",
    { class: "track-details", "data-testid": "track-details" },
    element("h3", {}, `Track #${row.number} · ${row.track.label}`),
    fields.length ? element("div", { class: "attributes" }, fields) : "",
    element(
      "div",
      { class: "actions" },
      button("Delete this frame only", "delete-frame", on.deleteFrame),
      button("Delete from here", "delete-from", on.deleteFrom),
      button("Delete track", "delete-track", on.deleteTrack),
      button("Fill in between", "fill", on.fill),
    ),
  );
}

function heldAttribute(track, frame, name) {
  let found;
  for (const k of track.keyframes)
    if (k.frame <= frame && k.attributes && name in k.attributes) found = k.attributes[name];
  return found;
}

function attributeInput(spec, value) {
  if (spec.kind === "checkbox")
    return element("input", { type: "checkbox", checked: value === true || value === "true" });
  if (spec.kind === "radio" || spec.kind === "select") {
    return element(
      "select",
      {},
      (spec.values || []).map((v) =>
        element("option", { value: v, selected: String(value) === v }, v),
      ),
    );
  }
  if (spec.kind === "number") {
    return element("input", {
      type: "number",
      min: spec.minimum,
      max: spec.maximum,
      step: spec.step,
      value: value ?? "",
    });
  }
  return element("input", { type: "text", value: value ?? "" });
}
