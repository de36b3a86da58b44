// The timeline: a ruler and one row per track over the task's frames. A row shows keyframes
// (ticks), interpolated spans, in-between (motion-filled) frames, outside spans, a confidence
// strip where the track carries one, and the marks shared by all rows: scene cuts, suggested
// keyframes and review issues. A click or drag on it moves the playhead there.
//
//   const timeline = new Timeline(root, {first, last, onJump});
//   timeline.render({frame, rows: [{number, color, track, selected}], cuts, suggested, issues});

import { element } from "../app.js";
import { confidence, spans } from "./model.js";

const ROW = 18;

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
      this.onJump(this.frameAt((event.clientX - box.left) / box.width));
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
    const scores = confidence(row.track);
    for (const [f, value] of scores) {
      ctx.fillStyle = `hsl(${Math.round(120 * Math.max(0, Math.min(1, value)))}, 70%, 45%)`;
      ctx.fillRect(this.x(f, width), ROW - 4, Math.max(1, perFrame), 4);
    }
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

function triangle(ctx, x, y, r) {
  ctx.beginPath();
  ctx.moveTo(x, y - r);
  ctx.lineTo(x + r, y);
  ctx.lineTo(x - r, y);
  ctx.closePath();
  ctx.fill();
}
