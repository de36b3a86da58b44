// Small pieces every dashboard section uses: a titled panel, labelled inputs, selects, an error
// line, and describing what the API refused. Nothing here calls the API.
import { element } from "../app.js";

export { element };

// A panel with a heading; `testid` names it for tests.
export function section(title, testid, ...children) {
  return element(
    "section",
    { class: "panel", "data-testid": testid },
    element("h2", {}, title),
    ...children,
  );
}

// <label>Text <input ...></label>
export function field(text, control) {
  return element("label", {}, text, control);
}

export function input(name, attributes = {}) {
  return element("input", { name, ...attributes });
}

// options: [[value, text], ...]; `selected` marks one of them.
export function select(name, options, selected = undefined, attributes = {}) {
  return element(
    "select",
    { name, ...attributes },
    options.map(([value, text]) =>
      element("option", { value, selected: String(value) === String(selected) }, text),
    ),
  );
}

// The server's reason, readable: ApiError bodies carry {"detail": ...}.
export function describe(error) {
  if (error && error.body !== undefined && error.body !== null) {
    const detail = error.body.detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail.map((e) => `${(e.loc || []).slice(1).join(".")}: ${e.msg}`).join("; ");
    }
    if (typeof error.body === "string" && error.body) return error.body;
  }
  return String((error && error.message) || error);
}

// Runs `action`, showing a failure in `line` (a <p class=error>) and as a toast; returns what
// `action` returned, or undefined after a failure.
export async function attempt(line, toast, action) {
  if (line) line.textContent = "";
  try {
    return await action();
  } catch (error) {
    console.warn(error);
    const text = describe(error);
    if (line) line.textContent = text;
    if (toast) toast(text, "error");
    return undefined;
  }
}

export function errorLine(testid) {
  return element("p", { class: "error", "data-testid": testid, role: "alert" });
}

// "2026-11-25" of a Date, in UTC.
export function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

export function daysFromNow(days) {
  return new Date(Date.now() + days * 86_400_000);
}

export function stateLabel(state) {
  return state.replace("_", " ");
}

// id -> e-mail of the project's members ("#id" for someone who left).
export function namer(members) {
  const byId = new Map(members.map((m) => [m.user.id, m.user.email]));
  return (id) => (id === null || id === undefined ? "" : byId.get(id) || `#${id}`);
}

// <thead><tr><th>title</th>...</tr></thead>
export function tableHead(...titles) {
  return element("thead", {}, element("tr", {}, ...titles.map((t) => element("th", {}, t))));
}
