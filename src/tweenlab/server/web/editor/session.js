// One editing session of a task: the playhead, what each track shows on it, the current tool,
// and every edit command (each ends in sync.edit, which saves it). The page around it
// (editor.js) builds the DOM and hands in the parts:
//
//   const session = new Session({api, toast, task, video, labels, sync, states, source, stage,
//                                onFrame, onChange});
//   session.go(frame); session.commit(number, shape); session.undo(); ...

import { DRAWN, KINDS, PALETTE } from "./shapes.js";
import * as model from "./model.js";
import { makeTool } from "./tools.js";
import { badgeText, isPrediction } from "./predictions.js";

export class Session {
  constructor(parts) {
    Object.assign(this, parts);
    this.first = this.task.start;
    this.last = this.task.stop - 1;
    this.frame = this.first;
    this.drawnFrame = null;
    this.direction = 1;
    this.selected = null;
    this.label = this.labels[0]?.name ?? null;
    this.drawKind = allowedKinds(this.labels[0])[0] || "box";
    this.previewing = { number: null, shape: null };
    this.draft = null;
    this.region = null;
    this.pins = [];
    this.redoStack = [];
    this.brush = { radius: 8, erase: false };
    this.playing = false;
    this.token = 0;
    this.useTool("select");
  }

  // -- playhead --------------------------------------------------------------------------------

  go(frame) {
    const next = Math.max(this.first, Math.min(this.last, Math.round(frame)));
    if (next !== this.frame) this.direction = next > this.frame ? 1 : -1;
    this.frame = next;
    this.source.prefetch(next, this.direction);
    this.onFrame?.(next);
    this.render();
  }

  step(delta) {
    this.stop();
    this.go(this.frame + delta);
  }

  play() {
    if (this.playing) return this.stop();
    this.playing = true;
    this.onChange?.();
    const period = 1000 / this.fps;
    let due = performance.now();
    const tick = async () => {
      if (!this.playing) return;
      if (this.frame >= this.last) return this.stop();
      const next = this.frame + 1;
      try {
        await this.source.frame(next); // never skip a frame: wait for it if it is late
      } catch (error) {
        this.toast(String(error.message || error), "error");
        return this.stop();
      }
      if (!this.playing) return;
      this.go(next);
      due = Math.max(due + period, performance.now() - period);
      this.timer = setTimeout(tick, Math.max(0, due - performance.now()));
    };
    tick();
  }

  stop() {
    if (!this.playing) return;
    this.playing = false;
    clearTimeout(this.timer);
    this.onChange?.();
  }

  // -- what is shown ---------------------------------------------------------------------------

  color(number, track) {
    const spec = this.labels.find((l) => l.name === track?.label);
    return /^#[0-9a-f]{6}$/i.test(spec?.color || "")
      ? spec.color
      : PALETTE[(number - 1) % PALETTE.length];
  }

  // The track on frame: a keyframe of the local track, else the server's state (source "server",
  // or "stale" while an edit is unsaved or the state of the new revision is on its way).
  stateOf(record, frame = this.frame) {
    const keyframe = model.keyframeAt(record.track, frame);
    if (keyframe) return { ...keyframe, keyframe: true, inbetween: false, source: "keyframe" };
    const { state, fresh } = this.states.get(record.number, record.revision, frame);
    if (state) return { ...state, source: fresh && !record.dirty ? "server" : "stale" };
    if (fresh && !record.dirty) return null;
    const held = model.keyframeBefore(record.track, frame); // a stand-in until the server answers
    return held ? { ...held, keyframe: false, inbetween: false, source: "stale" } : null;
  }

  items() {
    const found = [];
    for (const record of this.sync.tracks()) {
      const state = this.stateOf(record);
      let shape = state && !state.outside ? state.shape : null;
      if (this.previewing.number === record.number) shape = this.previewing.shape || null;
      if (!shape || !KINDS[shape.kind]) continue;
      found.push({
        number: record.number,
        shape,
        source: this.previewing.number === record.number ? "preview" : state.source,
        color: this.color(record.number, record.track),
        selected: record.number === this.selected,
        dashed: state?.occluded || state?.source === "stale",
        predicted: isPrediction(record.track),
        caption: isPrediction(record.track) ? badgeText(record.track) : null,
      });
    }
    return found;
  }

  async render() {
    const frame = this.frame;
    const token = ++this.token;
    for (let attempt = 0; attempt < 2; attempt += 1) {
      let bitmap;
      try {
        bitmap = await this.source.frame(frame);
      } catch (error) {
        if (token === this.token) this.toast(`frame ${frame}: ${error.message || error}`, "error");
        return;
      }
      if (token !== this.token) return;
      try {
        this._draw(bitmap);
        this.drawnFrame = frame;
        this.stage.canvas.dataset.frame = String(frame);
        return;
      } catch (error) {
        if (error.name !== "InvalidStateError") throw error; // the cache closed it: ask again
      }
    }
  }

  _draw(bitmap) {
    const items = this.items();
    const chosen = items.find((i) => i.selected);
    const handles =
      chosen && this.tool.name === "select"
        ? KINDS[chosen.shape.kind].handles(chosen.shape, this.stage.view.zoom)
        : [];
    const pins = this.pins
      .filter((p) => p.frame === this.frame && p.region)
      .map((p) => ({ x: p.region.x + p.region.w / 2, y: p.region.y, resolved: p.resolved }));
    const draft = this.draft
      ? {
          shape: this.draft,
          color: this.color(0, { label: this.label }),
          caption: this.draftCaption,
        }
      : null;
    this.stage.draw({ bitmap, items, draft, handles, pins, region: this.region });
    this.shown = items.map(({ number, shape, source }) => ({ number, shape, source }));
  }

  // -- tools (the `ed` that tools.js drives) ---------------------------------------------------

  useTool(name) {
    this.tool?.cancel?.();
    this.tool = makeTool(name, this);
    this.tool.name = name;
    this.draft = null;
    if (this.stage) this.stage.tool = this.tool;
    this.onChange?.();
    if (this.stage) this.render();
  }

  select(number) {
    this.selected = number;
    this.onChange?.();
    this.render();
  }

  preview(number, shape) {
    this.previewing = { number, shape };
    this.render();
  }

  setDraft(shape, caption = null) {
    this.draft = shape;
    this.draftCaption = shape ? caption : null;
    this.render();
  }

  // The skeleton ({nodes, edges}) of the label new shapes get, or null.
  skeleton() {
    return this.labels.find((l) => l.name === this.label)?.skeleton || null;
  }

  setRegion(rect) {
    this.region = rect;
    this.render();
  }

  // -- edits -----------------------------------------------------------------------------------

  _edit(number, track) {
    if (this.blocked) return this.toast(this.blocked, "error");
    this.redoStack = [];
    this.previewing = { number: null, shape: null };
    this.sync.edit(number, track);
  }

  _record(number) {
    return this.sync.tracks().find((r) => r.number === number) || null;
  }

  // A changed shape on this frame: a keyframe here.
  commit(number, shape) {
    const record = this._record(number);
    if (!record) return;
    const state = this.stateOf(record);
    this._edit(
      number,
      model.setKeyframe(record.track, this.frame, {
        shape,
        outside: false,
        occluded: state?.occluded,
      }),
    );
  }

  create(shape) {
    if (this.blocked) return this.toast(this.blocked, "error");
    const spec = this.labels.find((l) => l.name === this.label);
    if (!spec)
      return this.toast(
        "the project has no label to give the shape (add one to its schema)",
        "error",
      );
    if (!allowedKinds(spec).includes(shape.kind)) {
      return this.toast(`label ${spec.name} does not allow ${shape.kind} shapes`, "error");
    }
    const number = this.sync.nextNumber();
    const trackAttributes = {};
    const frameAttributes = {};
    for (const a of spec.attributes || []) {
      if (a.default === null || a.default === undefined) continue;
      (a.per_frame ? frameAttributes : trackAttributes)[a.name] = a.default;
    }
    const track = model.newTrack(number, spec.name, this.frame, shape, trackAttributes);
    track.keyframes[0].attributes = frameAttributes;
    this._edit(number, track);
    this.selected = number;
    this.useTool("select");
  }

  // The track on frame as the server has it: its edits saved first and that revision's states
  // fetched, so a keyframe made here copies the server's shape, never a stand-in. undefined when
  // the server cannot answer now (offline, or a conflict waiting for the person).
  async serverState(number, frame = this.frame) {
    await this.sync.settled();
    const record = this._record(number);
    if (!record) return undefined;
    const keyframe = model.keyframeAt(record.track, frame);
    if (keyframe) return { ...keyframe, keyframe: true, inbetween: false, source: "keyframe" };
    if (record.dirty) return undefined;
    const state = await this.states.at(number, record.revision, frame);
    return state ? { ...state, source: "server" } : null;
  }

  // The state an edit on this frame starts from: what is drawn when it is the server's (or a
  // keyframe), else the server's once it has answered.
  async _stateForEdit(number, frame) {
    const record = this._record(number);
    const state = record && this.stateOf(record, frame);
    if (!state || state.source !== "stale") return state;
    const known = await this.serverState(number, frame);
    if (known === undefined) {
      this.toast("this frame's shape is not known until your edits are saved", "error");
    }
    return known;
  }

  async toggle(number, what) {
    const frame = this.frame;
    if (!this._record(number)) return;
    const state = await this._stateForEdit(number, frame);
    const record = this._record(number);
    if (!record || state === undefined) return;
    const track = record.track;
    if (what === "keyframe") {
      if (model.keyframeAt(track, frame)) {
        if (track.keyframes.length === 1)
          return this.toast("the track's only keyframe: delete the track instead");
        return this._edit(number, model.removeKeyframe(track, frame));
      }
      if (!state) return;
      return this._edit(
        number,
        model.setKeyframe(track, frame, { shape: state.shape, outside: state.outside }),
      );
    }
    if (!state) return this.toast("the track has not begun on this frame");
    const flags = what === "outside" ? { outside: !state.outside } : { occluded: !state.occluded };
    this._edit(number, model.setKeyframe(track, frame, { shape: state.shape, ...flags }));
  }

  // Another label: attributes it does not have are dropped, its defaults added.
  setLabel(number, label) {
    const record = this._record(number);
    const spec = this.labels.find((l) => l.name === label);
    if (!record || !spec) return;
    const kind = record.track.keyframes[0]?.shape?.kind;
    if (!allowedKinds(spec).includes(kind))
      return this.toast(`label ${label} does not allow ${kind} shapes`, "error");
    const trackNames = (spec.attributes || []).filter((a) => !a.per_frame);
    const frameNames = new Set(
      (spec.attributes || []).filter((a) => a.per_frame).map((a) => a.name),
    );
    const attributes = {};
    for (const a of trackNames) {
      const value = record.track.attributes?.[a.name] ?? a.default;
      if (value !== null && value !== undefined) attributes[a.name] = value;
    }
    const keyframes = record.track.keyframes.map((k) => ({
      ...k,
      attributes: Object.fromEntries(
        Object.entries(k.attributes || {}).filter(([name]) => frameNames.has(name)),
      ),
    }));
    this._edit(number, { ...record.track, label, attributes, keyframes });
  }

  setAttribute(number, name, value, perFrame) {
    const record = this._record(number);
    if (!record) return;
    if (!perFrame) {
      return this._edit(number, {
        ...record.track,
        attributes: { ...record.track.attributes, [name]: value },
      });
    }
    const state = this.stateOf(record);
    if (!state) return this.toast("the track has not begun on this frame");
    this._edit(
      number,
      model.setKeyframe(record.track, this.frame, {
        shape: state.shape,
        attributes: { [name]: value },
      }),
    );
  }

  async deleteFrame(number) {
    const record = this._record(number);
    if (!record) return;
    await this.sync.settled();
    const after = this.frame + 1;
    const keyed = model.keyframeAt(record.track, after);
    const next = keyed
      ? keyed.shape
      : (await this.states.at(number, this.sync.revision(number), after))?.shape;
    const current = this._record(number);
    if (current)
      this._edit(number, model.deleteFrameOnly(current.track, this.frame, next, this.last));
  }

  deleteFrom(number) {
    const record = this._record(number);
    if (!record) return;
    const track = model.deleteFrom(record.track, this.frame);
    if (track) this._edit(number, track);
    else this.deleteTrack(number);
  }

  deleteTrack(number) {
    if (!this._record(number)) return;
    this._edit(number, null);
    if (this.selected === number) this.selected = null;
    this.toast(`track #${number} deleted (ctrl+z brings it back)`);
  }

  async copyToNext(number) {
    const frame = this.frame;
    const state = await this._stateForEdit(number, frame);
    const record = this._record(number);
    if (!record || !state || state.outside || frame >= this.last) return;
    this._edit(
      number,
      model.setKeyframe(record.track, frame + 1, { shape: state.shape, outside: false }),
    );
    this.go(frame + 1);
  }

  async fill(number) {
    await this.sync.settled();
    if (this.sync.pendingCount())
      return this.toast("fill waits until your edits are saved", "error");
    const revision = this.sync.revision(number);
    this.toast(`filling track #${number} by motion…`);
    try {
      const answer = await this.api.post(
        `/projects/${this.task.project_id}/tasks/${this.task.id}/tracks/${number}/fill`,
        {},
        { headers: { "If-Match": `"${revision}"` } },
      );
      this.sync.adopt(number, answer.track.revision, answer.track.track);
      this.toast(
        `${answer.filled} frames filled; suggested keyframes: ${answer.suggested.join(", ") || "none"}`,
      );
    } catch (error) {
      this.toast(String(error.message || error), "error");
      if (error.status === 409) await this.refresh();
    }
  }

  async undo() {
    await this.sync.settled();
    if (this.sync.pendingCount())
      return this.toast("undo waits until your edits are saved", "error");
    try {
      const entry = await this.api.post(
        `/projects/${this.task.project_id}/tasks/${this.task.id}/undo`,
      );
      this.sync.adopt(entry.number, entry.revision, entry.after);
      this.redoStack.push({ number: entry.number, track: entry.before });
      this.toast(`undone: track #${entry.number}`);
    } catch (error) {
      this.toast(String(error.message || error), "error");
    }
  }

  redo() {
    const change = this.redoStack.pop();
    if (!change) return this.toast("nothing to redo");
    const keep = this.redoStack;
    this.sync.edit(change.number, change.track);
    this.redoStack = keep;
  }

  async refresh() {
    await this.sync.load();
    this.render();
  }
}

// The kinds a label's shapes may be (its kinds, or all), skeletons first for a label that names
// skeleton points.
export function allowedKinds(spec) {
  const drawn = spec?.kinds?.length ? DRAWN.filter((k) => spec.kinds.includes(k)) : DRAWN;
  return spec?.skeleton ? ["skeleton", ...drawn.filter((k) => k !== "skeleton")] : drawn;
}

const EDITING = ["in_progress", "rework"];

// Why the person may not edit the task now (null when they may): the server's rule, mirrored
// only to say so up front; the server still refuses what it refuses.
export function editBlocked(task, role, userId) {
  if (role === "owner" || role === "manager") return null;
  if (task.assignee_id === userId) {
    if (EDITING.includes(task.state)) return null;
    return `view only: the task is ${task.state}; its annotator edits it while in_progress or rework`;
  }
  if (task.reviewer_id === userId) {
    if (task.state === "in_review") return null;
    return `view only: the task is ${task.state}; its reviewer edits it while in_review`;
  }
  return "view only: only the task's annotator, its reviewer or a manager may edit it";
}
