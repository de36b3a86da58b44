// Pre-labelling a task with a model (managers): the form a task row's "Pre-label" opens (a
// labeler from /api/labelers, every N frames, the least score, and the model file or URL when the
// labeler needs one), then one line per run with the job's progress and what it made or why it
// failed. The predicted tracks are the annotator's to accept or reject in the editor.
//
//   const prelabel = prelabelPanel(state);   // prelabel.node goes in the page
//   prelabel.open(task);                     // show the form for this task
import { followJob, percent } from "./jobs.js";
import { attempt, element, errorLine, field, input, select } from "./ui.js";

const NEEDS = {
  model: ["Model file (in the server's models folder)", { placeholder: "detector.onnx" }],
  url: ["Endpoint URL", { type: "url", placeholder: "http://host:8500/detect" }],
};

export function prelabelPanel(state) {
  const error = errorLine("prelabel-error");
  const title = element("h3", { "data-testid": "prelabel-title" }, "Pre-label");
  const labeler = select("labeler", [], "", { "data-testid": "prelabel-labeler" });
  const about = element("p", { class: "muted", "data-testid": "prelabel-about" });
  const number = (name, testid, attributes) =>
    input(name, { type: "number", ...attributes, "data-testid": testid });
  const every = number("every", "prelabel-every", { min: 1, value: 5 });
  const score = { min: 0, max: 1, step: 0.05, value: 0.25 };
  const minScore = number("min_score", "prelabel-min-score", score);
  const needed = Object.fromEntries(
    Object.entries(NEEDS).map(([name, [text, attributes]]) => {
      const control = input(name, { ...attributes, "data-testid": `prelabel-${name}` });
      return [name, { control, label: element("label", { hidden: true }, text, control) }];
    }),
  );
  const close = element("button", { type: "button", "data-testid": "prelabel-close" }, "Close");
  const form = element(
    "form",
    { class: "row", "data-testid": "prelabel-form" },
    field("Labeler", labeler),
    field("Every N frames", every),
    field("Least score", minScore),
    ...Object.values(needed).map((n) => n.label),
    element("button", { type: "submit", "data-testid": "prelabel-submit" }, "Pre-label"),
    close,
  );
  const runs = element("ul", { class: "runs", "data-testid": "prelabel-runs" });
  const node = element("div", { hidden: true, "data-testid": "prelabel" }, title, form, about);
  node.append(error, runs);
  let labelers = null;
  let task = null;

  const chosen = () => (labelers || []).find((l) => l.name === labeler.value);
  const showNeeds = () => {
    const spec = chosen();
    about.textContent = spec ? spec.error || spec.description : "";
    for (const [name, { control, label }] of Object.entries(needed)) {
      label.hidden = !spec?.needs.includes(name);
      control.required = !label.hidden;
    }
  };
  labeler.addEventListener("change", showNeeds);
  close.addEventListener("click", () => (node.hidden = true));

  async function open(which) {
    task = which;
    title.textContent = `Pre-label task #${task.id} (frames ${task.start}–${task.stop - 1})`;
    node.hidden = false;
    if (!labelers) {
      labelers = await attempt(error, state.toast, () => state.api.get("/labelers"));
      if (!labelers) return;
      labeler.replaceChildren(...labelers.map(option));
    }
    showNeeds();
    node.scrollIntoView?.({ block: "nearest" });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!task) return;
    const body = {
      labeler: labeler.value,
      every: Number(every.value),
      min_score: Number(minScore.value),
    };
    for (const [name, { control, label }] of Object.entries(needed)) {
      if (!label.hidden) body[name] = control.value.trim();
    }
    const path = `/projects/${state.id}/tasks/${task.id}/autolabel`;
    const job = await attempt(error, state.toast, () => state.api.post(path, body));
    if (!job) return;
    const line = element("li", { "data-testid": "prelabel-run", "data-task": task.id });
    runs.prepend(line);
    const named = `task #${task.id} (${body.labeler})`;
    state.whenGone(followJob(state.api, job.id, (now) => showRun(line, named, now)));
  });
  return { node, open };
}

function option(spec) {
  const text = spec.error ? `${spec.name} (cannot load)` : spec.name;
  const attributes = { value: spec.name, selected: spec.default, disabled: Boolean(spec.error) };
  return element("option", { ...attributes, title: spec.description }, text);
}

// One run's line: its progress while it runs, then what it made or why it failed.
function showRun(line, named, job) {
  line.dataset.state = job.state;
  line.dataset.job = job.id;
  if (job.state === "succeeded") {
    const made = job.result || {};
    const tracks = (made.tracks || []).length;
    const kept = made.kept_edited ? `, ${made.kept_edited} edited kept` : "";
    line.dataset.tracks = tracks;
    line.textContent =
      `${named}: ${tracks} predicted tracks (${made.keyframes ?? 0} keyframes from ` +
      `${made.detections ?? 0} detections on ${made.frames ?? 0} frames${kept})`;
  } else if (["failed", "cancelled", "deleted"].includes(job.state)) {
    line.className = "error";
    line.textContent = `${named}: ${job.state}${job.error ? `: ${job.error}` : ""}`;
  } else {
    const bar = element("progress", { max: 100, value: percent(job) });
    line.replaceChildren(`${named}: labelling… ${percent(job)}% `, bar);
  }
}
