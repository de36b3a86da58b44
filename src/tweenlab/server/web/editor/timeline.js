// The timeline: a ruler and one row per track over the task's frames. A row shows keyframes
// (ticks), interpolated spans, in-between (motion-filled) frames, outside spans, the confidence
// strip of its motion-filled frames (red where in-betweening was least sure, green where most)
// with the track's suggested next keyframes (orange ticks under it), and the scene cuts; the
// ruler shows the cuts, the keyframes the video's analysis suggests (orange triangles) and
// review issues. A click or drag moves the playhead there; a click within a few pixels of a mark
// jumps to the mark's frame exactly.
//
//   const timeline = new Timeline(root, {first, last, onJump});
//   timeline.render({frame, rows: [{number, color, track, selected, guidance}], cuts, suggested,
//                    issues});   // guidance: {confidence: Map, suggested, lowest} | null

import { element } from "../app.js";
import { spans } from "./model.js";

const ROW = 18;
const STRIP = 4; // the confidence strip's height, at the bottom of a row
const SNAP = 4; // CSS pixels within which a click lands on a mark

export class Timeline {
  constructor(root, { first, last, onJump }) {
    this.first = first;
    this.last = last;
    this.onJump = onJump;
    this.ruler = element("canvas", { class: "ruler", "data-testid": "timeline-ruler" });
    this.rows = element("div", { class: "rows" });
    this.root = element(
      "div",
      { class: "timeline", "data-testid": "timeline" },
      this.ruler,
      this.rows,
    );
    root.append(this.root);
    this.state = null;
    const jump = (event) => {
      if (event.buttons !== 1 && event.type !== "pointerdown") return;
      const canvas = event.target.closest("canvas");
      if (!canvas) return;
      const box = canvas.getBoundingClientRect();
      const x = event.clientX - box.left;
      const mark = event.type === "pointerdown" ? this._markNear(canvas, x, box.width) : null;
      this.onJump(mark ?? this.frameAt(x / box.width));
      const number = canvas.dataset.number;
      if (number && event.type === "pointerdown") this.onSelect?.(Number(number));
    };
    this.root.addEventListener("pointerdown", jump);
    this.root.addEventListener("pointermove", jump);
  }

  frameAt(fraction) {
    const span = this.last - this.first + 1;
    return Math.max(this.first, Math.min(this.last, this.first + Math.floor(fraction * span)));
  }

  x(frame, width) {
    return ((frame - this.first) / (this.last - this.first + 1)) * width;
  }

  // The frame of the mark drawn within SNAP pixels of x, or null: a cut (a line on the left edge
  // of its frame, the new shot's first) or a suggested keyframe (a triangle on its middle).
  _markNear(canvas, x, width) {
    const state = this.state;
    if (!state) return null;
    const row = state.rows.find((r) => String(r.number) === canvas.dataset.number);
    const suggested = row ? row.guidance?.suggested || [] : state.suggested || [];
    const marks = [
      ...(state.cuts || []).map((f) => [f, this.x(f, width) + 1]),
      ...suggested.map((f) => [f, this.x(f + 0.5, width)]),
    ];
    let found = null;
    let best = SNAP;
    for (const [f, at] of marks) {
      const distance = Math.abs(at - x);
      if (distance <= best) [found, best] = [f, distance];
    }
    return found;
  }

  render(state) {
    this.state = state;
    const width = Math.max(100, this.root.clientWidth || 600);
    this._ruler(width, state);
    const wanted = state.rows.map((r) => String(r.number));
    const existing = new Map([...this.rows.children].map((c) => [c.dataset.number, c]));
    const canvases = wanted.map((number) => {
      const found = existing.get(number);
      if (found) return found;
      return element("canvas", {
        class: "row",
        "data-testid": "timeline-row",
        "data-number": number,
      });
    });
    this.rows.replaceChildren(...canvases);
    state.rows.forEach((row, i) => this._row(canvases[i], width, row, state));
  }

  _size(canvas, width, height) {
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.style.height = `${height}px`;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    return ctx;
  }

  _ruler(width, { frame, cuts = [], suggested = [], issues = [] }) {
    const ctx = this._size(this.ruler, width, 22);
    ctx.fillStyle = "#eef1f5";
    ctx.fillRect(0, 0, width, 22);
    ctx.fillStyle = "#667085";
    ctx.font = "10px system-ui, sans-serif";
    const span = this.last - this.first + 1;
    const step = niceStep(span / Math.max(1, width / 70));
    for (let f = Math.ceil(this.first / step) * step; f <= this.last; f += step) {
      const x = this.x(f, width);
      ctx.fillRect(x, 14, 1, 8);
      ctx.fillText(String(f), x + 2, 11);
    }
    ctx.fillStyle = "#e03131";
    for (const cut of cuts) ctx.fillRect(this.x(cut, width), 0, 2, 22);
    ctx.fillStyle = "#f08c00";
    for (const f of suggested) triangle(ctx, this.x(f + 0.5, width), 22, 5);
    this.ruler.dataset.cuts = cuts.join(",");
    this.ruler.dataset.suggested = suggested.join(",");
    for (const issue of issues) {
      ctx.fillStyle = issue.resolved ? "#2b8a3e" : "#e03131";
      ctx.beginPath();
      ctx.arc(this.x(issue.frame + 0.5, width), 6, 4, 0, 2 * Math.PI);
      ctx.fill();
    }
    this._playhead(ctx, width, 22, frame);
  }

  _row(canvas, width, row, { frame, cuts = [] }) {
    const ctx = this._size(canvas, width, ROW);
    const perFrame = width / (this.last - this.first + 1);
    ctx.fillStyle = row.selected ? "#e7efff" : "#fff";
    ctx.fillRect(0, 0, width, ROW);
    const found = spans(row.track, this.last);
    for (const span of found.spans) {
      const x0 = this.x(span.first, width);
      const x1 = this.x(span.last + 1, width);
      if (span.kind === "outside") {
        ctx.fillStyle = "#d0d5dd";
        ctx.fillRect(x0, ROW / 2 - 1, x1 - x0, 2);
      } else {
        ctx.globalAlpha = 0.35;
        ctx.fillStyle = row.color;
        ctx.fillRect(x0, 3, x1 - x0, ROW - 8);
        ctx.globalAlpha = 1;
      }
    }
    ctx.fillStyle = row.color;
    for (const f of found.inbetween)
      ctx.fillRect(this.x(f, width), 5, Math.max(1, perFrame), ROW - 12);
    const guidance = row.guidance;
    for (const [f, value] of guidance?.confidence || []) {
      ctx.fillStyle = confidenceColour(value);
      ctx.fillRect(this.x(f, width), ROW - STRIP, Math.max(1, perFrame), STRIP);
    }
    ctx.fillStyle = "#f08c00";
    for (const f of guidance?.suggested || []) triangle(ctx, this.x(f + 0.5, width), 0, -4);
    canvas.dataset.lowest = guidance?.lowest ?? "";
    canvas.dataset.suggested = (guidance?.suggested || []).join(",");
    ctx.fillStyle = "#e03131";
    for (const cut of cuts) ctx.fillRect(this.x(cut, width), 0, 1, ROW);
    for (const k of found.keyframes) {
      const x = this.x(k.frame + 0.5, width);
      ctx.fillStyle = k.outside ? "#667085" : "#1d2330";
      diamond(ctx, x, ROW / 2 - 1, 4);
    }
    this._playhead(ctx, width, ROW, frame);
  }

  _playhead(ctx, width, height, frame) {
    ctx.fillStyle = "#2f6fed";
    ctx.fillRect(
      this.x(frame, width),
      0,
      Math.max(1.5, width / (this.last - this.first + 1)),
      height,
    );
  }
}

// Red (0) through yellow to green (1).
export function confidenceColour(value) {
  return `hsl(${Math.round(120 * Math.max(0, Math.min(1, value)))}, 70%, 45%)`;
}

function niceStep(raw) {
  const power = 10 ** Math.floor(Math.log10(Math.max(1, raw)));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

function diamond(ctx, x, y, r) {
  ctx.beginPath();
  ctx.moveTo(x, y - r);
  ctx.lineTo(x + r, y);
  ctx.lineTo(x, y + r);
  ctx.lineTo(x - r, y);
  ctx.closePath();
  ctx.fill();
}

// Apex r above (x, y), base on y; a negative r points it down.
function triangle(ctx, x, y, r) {
  ctx.beginPath();
  ctx.moveTo(x, y - r);
  ctx.lineTo(x + r, y);
  ctx.lineTo(x - r, y);
  ctx.closePath();
  ctx.fill();
}
