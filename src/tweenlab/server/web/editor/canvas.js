// The editor's canvas: the frame and the shapes over it, zoom (wheel, about the pointer) and pan
// (view = {zoom, x, y}: a video pixel p is drawn at p * zoom + (x, y) in CSS pixels). Pointer
// input is turned into video-pixel points and handed to the current tool:
//   tool.down(point, event), tool.move(point, event), tool.up(point, event), tool.hover(point)

import { KINDS } from "./shapes.js";

const MIN_ZOOM = 0.05;
const MAX_ZOOM = 40;

export class Stage {
  constructor(canvas, { width, height }) {
    this.canvas = canvas;
    this.width = width;
    this.height = height;
    this.view = { zoom: 1, x: 0, y: 0 };
    this.tool = null;
    this.fitted = false;
    this.onView = null;
    canvas.addEventListener("wheel", (event) => this._wheel(event), { passive: false });
    canvas.addEventListener("pointerdown", (event) => this._pointer("down", event));
    canvas.addEventListener("pointermove", (event) => this._pointer("move", event));
    canvas.addEventListener("pointerup", (event) => this._pointer("up", event));
    canvas.addEventListener("contextmenu", (event) => event.preventDefault());
    this.resizer = new ResizeObserver(() => this.resize());
    this.resizer.observe(canvas.parentElement);
  }

  close() {
    this.resizer.disconnect();
  }

  resize() {
    const box = this.canvas.parentElement.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    this.canvas.width = Math.max(1, Math.round(box.width * ratio));
    this.canvas.height = Math.max(1, Math.round(box.height * ratio));
    this.canvas.style.width = `${box.width}px`;
    this.canvas.style.height = `${box.height}px`;
    if (!this.fitted && box.width > 0) this.fit();
    this.onView?.();
  }

  // The whole frame in view, centred.
  fit() {
    const box = this.canvas.parentElement.getBoundingClientRect();
    const zoom = Math.min(box.width / this.width, box.height / this.height) * 0.98;
    this.setView({
      zoom,
      x: (box.width - this.width * zoom) / 2,
      y: (box.height - this.height * zoom) / 2,
    });
    this.fitted = true;
  }

  setView(view) {
    this.view = { ...this.view, ...view };
    this.view.zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.view.zoom));
    this.fitted = true;
    this.onView?.();
  }

  toImage(clientX, clientY) {
    const box = this.canvas.getBoundingClientRect();
    const { zoom, x, y } = this.view;
    return [(clientX - box.left - x) / zoom, (clientY - box.top - y) / zoom];
  }

  _wheel(event) {
    event.preventDefault();
    const box = this.canvas.getBoundingClientRect();
    const px = event.clientX - box.left;
    const py = event.clientY - box.top;
    const { zoom, x, y } = this.view;
    const next = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, zoom * Math.exp(-event.deltaY * 0.0015)));
    // the video pixel under the pointer stays under it
    this.setView({
      zoom: next,
      x: px - ((px - x) / zoom) * next,
      y: py - ((py - y) / zoom) * next,
    });
  }

  _pointer(phase, event) {
    if (!this.tool) return;
    const point = this.toImage(event.clientX, event.clientY);
    if (phase === "down") {
      this.canvas.setPointerCapture?.(event.pointerId);
      this.dragging = true;
      this.tool.down?.(point, event);
    } else if (phase === "move") {
      if (this.dragging) this.tool.move?.(point, event);
      else this.tool.hover?.(point, event);
    } else {
      this.dragging = false;
      this.tool.up?.(point, event);
    }
  }

  // Draw the frame and the overlay. items: [{shape, color, selected, dashed, predicted,
  // caption}] (caption: text over the shape's top-left corner, e.g. "auto 0.82"); draft: {shape,
  // color, caption} being drawn; handles: [{x, y, round, mid}]; pins: [{x, y, resolved}]; region:
  // {x, y, w, h}.
  draw({ bitmap, items = [], draft = null, handles = [], pins = [], region = null }) {
    const ctx = this.canvas.getContext("2d");
    const ratio = window.devicePixelRatio || 1;
    const { zoom, x, y } = this.view;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#222";
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.setTransform(zoom * ratio, 0, 0, zoom * ratio, x * ratio, y * ratio);
    ctx.imageSmoothingEnabled = zoom < 2;
    if (bitmap) ctx.drawImage(bitmap, 0, 0, this.width, this.height);
    for (const item of items) {
      KINDS[item.shape.kind]?.draw(ctx, item.shape, { ...item, zoom });
      if (item.caption) caption(ctx, KINDS[item.shape.kind]?.bbox(item.shape), item, zoom);
    }
    if (draft) {
      KINDS[draft.shape.kind]?.draw(ctx, draft.shape, { ...draft, zoom, dashed: true });
      if (draft.caption) caption(ctx, KINDS[draft.shape.kind]?.bbox(draft.shape), draft, zoom);
    }
    for (const h of handles) {
      const size = (h.mid ? 3 : 4) / zoom; // an edge's midpoint: smaller, see-through
      ctx.beginPath();
      if (h.round) ctx.arc(h.x, h.y, size, 0, 2 * Math.PI);
      else ctx.rect(h.x - size, h.y - size, 2 * size, 2 * size);
      ctx.fillStyle = h.mid ? "rgba(255, 255, 255, 0.55)" : "#fff";
      ctx.fill();
      ctx.lineWidth = 1 / zoom;
      ctx.strokeStyle = "#111";
      ctx.stroke();
    }
    if (region) {
      ctx.setLineDash([5 / zoom, 3 / zoom]);
      ctx.lineWidth = 2 / zoom;
      ctx.strokeStyle = "#ffd43b";
      ctx.strokeRect(region.x, region.y, region.w, region.h);
      ctx.setLineDash([]);
    }
    for (const pin of pins) {
      ctx.beginPath();
      ctx.arc(pin.x, pin.y, 7 / zoom, 0, 2 * Math.PI);
      ctx.fillStyle = pin.resolved ? "#2b8a3e" : "#e03131";
      ctx.fill();
      ctx.lineWidth = 2 / zoom;
      ctx.strokeStyle = "#fff";
      ctx.stroke();
    }
  }
}

// A small tag above a shape (a prediction's "auto 0.82"), the same size at any zoom.
function caption(ctx, bbox, { caption: text, color }, zoom) {
  if (!bbox) return;
  const size = 11 / zoom;
  ctx.font = `${size}px sans-serif`;
  const width = ctx.measureText(text).width + 6 / zoom;
  const y = Math.max(0, bbox.y - size - 4 / zoom);
  ctx.fillStyle = color;
  ctx.fillRect(bbox.x, y, width, size + 4 / zoom);
  ctx.fillStyle = "#fff";
  ctx.textBaseline = "top";
  ctx.fillText(text, bbox.x + 3 / zoom, y + 2 / zoom);
}
