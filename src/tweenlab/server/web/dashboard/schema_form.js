// The label schema as a form: labels (name, colour, allowed shape kinds, for skeletons their
// named points and edges) and their attributes (name, input kind, choices, per frame, number
// range). `read()` gives the JSON the API takes (core.Schema.to_json's shape); the server checks
// it again.
import { element, field, input, select } from "./ui.js";

export const SHAPE_KINDS = ["box", "polygon", "polyline", "points", "skeleton", "mask", "cuboid"];
const ATTRIBUTE_KINDS = ["select", "radio", "checkbox", "text", "number"];
const PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6"];

// A schema editor; returns {node, read()}. `labels` pre-fills it (a stored schema).
export function schemaForm(labels = []) {
  const list = element("div", { class: "schema-labels", "data-testid": "schema-labels" });
  const add = button("add-label", "Add label");
  add.addEventListener("click", () => list.append(labelRow(list.children.length)));
  labels.forEach((label, index) => list.append(labelRow(index, label)));
  const node = element("fieldset", { class: "schema" }, element("legend", {}, "Labels"), list, add);
  return { node, read: () => [...list.children].map((row) => row.read()) };
}

function button(testid, text) {
  return element("button", { type: "button", "data-testid": testid }, text);
}

function labelRow(index, label = {}) {
  const name = input("label-name", {
    value: label.name || "",
    required: true,
    "data-testid": "label-name",
  });
  const color = input("label-color", {
    type: "color",
    value: label.color || PALETTE[index % PALETTE.length],
    "data-testid": "label-color",
  });
  const kinds = SHAPE_KINDS.map((kind) =>
    element(
      "label",
      { class: "inline" },
      element("input", {
        type: "checkbox",
        value: kind,
        checked: (label.kinds || []).includes(kind),
        "data-testid": `kind-${kind}`,
      }),
      kind,
    ),
  );
  const skeleton = skeletonFields(label.skeleton);
  const skeletonKind = kinds.find((k) => k.querySelector("input").value === "skeleton");
  const showSkeleton = () => (skeleton.node.hidden = !skeletonKind.querySelector("input").checked);
  skeletonKind.addEventListener("change", showSkeleton);
  showSkeleton();
  const attributes = element("div", { class: "schema-attributes" });
  (label.attributes || []).forEach((a) => attributes.append(attributeRow(a)));
  const addAttribute = button("add-attribute", "Add attribute");
  addAttribute.addEventListener("click", () => attributes.append(attributeRow()));
  const remove = button("remove-label", "Remove label");
  const row = element(
    "div",
    { class: "schema-label", "data-testid": "label-row" },
    element("div", { class: "row" }, field("Label", name), field("Colour", color), remove),
    element(
      "div",
      { class: "kinds" },
      element("span", { class: "muted" }, "Shapes (none = any): "),
      kinds,
    ),
    skeleton.node,
    attributes,
    addAttribute,
  );
  remove.addEventListener("click", () => row.remove());
  row.read = () => {
    const read = {
      name: name.value.trim(),
      color: color.value,
      kinds: kinds
        .map((k) => k.querySelector("input"))
        .filter((box) => box.checked)
        .map((box) => box.value),
      attributes: [...attributes.children].map((a) => a.read()),
    };
    const points = read.kinds.includes("skeleton") ? skeleton.read() : null;
    if (points) read.skeleton = points;
    return read;
  };
  return row;
}

// A skeleton label's points (names in the order they are placed) and edges ("head-neck, ...");
// read() gives {nodes, edges: [[i, j], ...]} or null when no point is named. An edge naming no
// point is sent as -1, for the server to refuse naming it.
function skeletonFields(skeleton) {
  const nodes = skeleton?.nodes || [];
  const points = input("skeleton-points", {
    value: nodes.join(", "),
    placeholder: "points in order, comma separated: head, neck, hip",
    "data-testid": "skeleton-points",
  });
  const edges = input("skeleton-edges", {
    value: (skeleton?.edges || []).map(([a, b]) => `${nodes[a]}-${nodes[b]}`).join(", "),
    placeholder: "edges: head-neck, neck-hip",
    "data-testid": "skeleton-edges",
  });
  const node = element(
    "div",
    { class: "row schema-skeleton" },
    field("Skeleton points", points),
    field("Edges", edges),
  );
  const read = () => {
    const names = points.value.split(",").map((v) => v.trim()).filter(Boolean);
    if (!names.length) return null;
    const pairs = edges.value
      .split(",")
      .map((v) => v.trim())
      .filter(Boolean)
      .map((text) => edgeOf(text, names));
    return { nodes: names, edges: pairs };
  };
  return { node, read };
}

// "left-eye-nose" -> the indices of the two names it joins (names may hold "-" themselves).
function edgeOf(text, names) {
  for (let at = text.indexOf("-"); at > 0; at = text.indexOf("-", at + 1)) {
    const a = names.indexOf(text.slice(0, at).trim());
    const b = names.indexOf(text.slice(at + 1).trim());
    if (a >= 0 && b >= 0) return [a, b];
  }
  return [names.indexOf(text), -1];
}

function attributeRow(attribute = {}) {
  const name = input("attribute-name", {
    value: attribute.name || "",
    required: true,
    "data-testid": "attribute-name",
  });
  const kind = select(
    "attribute-kind",
    ATTRIBUTE_KINDS.map((k) => [k, k]),
    attribute.kind || "select",
    { "data-testid": "attribute-kind" },
  );
  const values = input("attribute-values", {
    value: (attribute.values || []).join(", "),
    placeholder: "choices, comma separated",
    "data-testid": "attribute-values",
  });
  const perFrame = element("input", {
    type: "checkbox",
    checked: Boolean(attribute.per_frame),
    "data-testid": "attribute-per-frame",
  });
  const number = (name, value) => input(name, { type: "number", value, step: "any" });
  const minimum = number("attribute-min", attribute.minimum ?? 0);
  const maximum = number("attribute-max", attribute.maximum ?? 100);
  const range = element("span", { class: "range" }, field("Min", minimum), field("Max", maximum));
  const showRange = () => (range.hidden = kind.value !== "number");
  kind.addEventListener("change", showRange);
  showRange();
  const remove = button("remove-attribute", "×");
  const row = element(
    "div",
    { class: "schema-attribute row", "data-testid": "attribute-row" },
    field("Attribute", name),
    field("Input", kind),
    field("Choices", values),
    element("label", { class: "inline" }, perFrame, "per frame"),
    range,
    remove,
  );
  remove.addEventListener("click", () => row.remove());
  row.read = () => {
    const read = {
      name: name.value.trim(),
      kind: kind.value,
      values: ["select", "radio"].includes(kind.value)
        ? values.value.split(",").map((v) => v.trim()).filter(Boolean)
        : [],
      per_frame: perFrame.checked,
    };
    if (kind.value === "number") {
      read.minimum = Number(minimum.value);
      read.maximum = Number(maximum.value);
    }
    return read;
  };
  return row;
}
