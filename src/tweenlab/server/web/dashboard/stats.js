// Throughput and quality per person, as bar charts: keyframes per hour and time on task from
// /activity (heartbeats and the journal), agreement with ground truth from each annotated task's
// /quality (tasks no ground-truth task covers are left out), and consensus from
// /quality/consensus over each group of consensus tasks of the same frames.
import { barChart } from "./charts.js";
import {
  attempt,
  daysFromNow,
  element,
  errorLine,
  field,
  input,
  isoDay,
  namer,
  section,
} from "./ui.js";

const QUALITY_STATES = new Set(["submitted", "in_review", "accepted", "rejected", "rework"]);
const MAX_QUALITY_CALLS = 60;
const SCORE = { maximum: 1, format: (v) => v.toFixed(2) };

export function statsSection(state) {
  const error = errorLine("stats-error");
  const day = (name, offset) =>
    input(name, {
      type: "date",
      value: isoDay(daysFromNow(offset)),
      "data-testid": `stats-${name}`,
    });
  const from = day("from", -7);
  const to = day("to", 1);
  const throughput = element("div", { class: "charts", "data-testid": "throughput" });
  const quality = element("div", { class: "charts", "data-testid": "quality" });
  const form = element(
    "form",
    { class: "row" },
    field("From", from),
    field("To", to),
    element("button", { type: "submit", "data-testid": "stats-refresh" }, "Show"),
  );
  let drawing = 0; // a later draw wins over an earlier one still waiting for answers
  const draw = () =>
    attempt(error, null, async () => {
      const mine = ++drawing;
      const period = `from=${from.value}T00:00:00Z&to=${to.value}T00:00:00Z`;
      const activity = await state.api.get(`/projects/${state.id}/activity?${period}`);
      const charts = await qualityCharts(state);
      if (mine !== drawing) return;
      throughput.replaceChildren(...throughputCharts(activity.people));
      quality.replaceChildren(...charts);
    });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    draw();
  });
  state.on("tasks", draw);
  return section(
    "Throughput and quality",
    "stats-section",
    form,
    element("h3", {}, "Throughput"),
    throughput,
    element("h3", {}, "Quality"),
    quality,
    error,
  );
}

function chart(title, testid, items, options = {}) {
  return element(
    "figure",
    { class: "chart-block" },
    element("figcaption", {}, title),
    barChart(items, { title, testid, ...options }),
  );
}

function throughputCharts(people) {
  const each = (value) => people.map((p) => ({ label: p.email, value: value(p) }));
  return [
    chart("Keyframes per hour", "chart-keyframes-per-hour", each((p) => p.keyframes_per_hour), {
      unit: "keyframes/h",
    }),
    chart("Time on task", "chart-time-on-task", each((p) => p.seconds / 3600), {
      unit: "h",
      format: (v) => v.toFixed(2),
    }),
    chart("Keyframes placed", "chart-keyframes", each((p) => p.keyframes), {
      format: (v) => String(v),
    }),
  ];
}

async function qualityCharts(state) {
  const truth = perPerson(await groundTruthScores(state));
  const consensus = perPerson(await consensusScores(state));
  const bars = (scores, key) => scores.map(([person, s]) => ({ label: person, value: s[key] }));
  return [
    chart(
      "Agreement with ground truth (HOTA)",
      "chart-ground-truth",
      bars(truth, "hota"),
      SCORE,
    ),
    chart(
      "Agreement with ground truth (mean IoU)",
      "chart-ground-truth-iou",
      bars(truth, "iou"),
      SCORE,
    ),
    chart("Consensus (HOTA)", "chart-consensus", bars(consensus, "hota"), SCORE),
  ];
}

// Each annotated task against the ground-truth task covering it (none: left out).
async function groundTruthScores(state) {
  const name = namer(state.members);
  const annotated = state.tasks
    .filter((t) => t.assignee_id && t.kind !== "ground_truth" && QUALITY_STATES.has(t.state))
    .slice(0, MAX_QUALITY_CALLS);
  const scores = await Promise.all(
    annotated.map((t) =>
      state.api.get(`/projects/${state.id}/tasks/${t.id}/quality`).then(
        (q) => ({ person: name(t.assignee_id), hota: q.hota, iou: q.mean_iou }),
        () => null, // no ground truth covers it
      ),
    ),
  );
  return scores.filter(Boolean);
}

// Consensus tasks grouped by their frames: each group of two or more scored together.
async function consensusScores(state) {
  const groups = new Map();
  for (const task of state.tasks) {
    if (task.kind !== "consensus" && task.kind !== "ground_truth") continue;
    const key = `${task.video_id}:${task.start}:${task.stop}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(task);
  }
  const scores = [];
  for (const group of groups.values()) {
    if (group.filter((t) => t.kind === "consensus").length < 2) continue;
    const ids = group.map((t) => t.id).join(",");
    try {
      const answer = await state.api.get(`/projects/${state.id}/quality/consensus?tasks=${ids}`);
      for (const entry of answer.annotators) {
        const person = entry.email || `#${entry.annotator_id}`;
        scores.push({ person, hota: entry.hota, iou: entry.mean_iou });
      }
    } catch (error) {
      console.warn(error);
    }
  }
  return scores;
}

// [[person, {hota, iou}], ...] averaged over each person's scores.
function perPerson(scores) {
  const sums = new Map();
  for (const s of scores) {
    const sum = sums.get(s.person) || { hota: 0, iou: 0, n: 0, ious: 0 };
    sum.hota += s.hota;
    sum.n += 1;
    if (s.iou !== null && s.iou !== undefined) {
      sum.iou += s.iou;
      sum.ious += 1;
    }
    sums.set(s.person, sum);
  }
  return [...sums].map(([person, s]) => [
    person,
    { hota: s.hota / s.n, iou: s.ious ? s.iou / s.ious : null },
  ]);
}
