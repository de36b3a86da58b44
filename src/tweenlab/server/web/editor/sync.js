// The task's tracks as the editor holds them, and their autosave by the revision protocol: every
// edit is kept (pending.js) and PUT with If-Match: "revision"; a 409 opens the conflict dialog
// (keep mine = write again on the current revision; take theirs = adopt the stored track); a
// failed fetch or navigator.onLine false leaves the edit pending, retried when back online.
//
//   const sync = new Sync({api, projectId, taskId, onChange, onStatus, resolveConflict});
//   await sync.load();                    // server tracks, then pending edits laid over them
//   sync.edit(number, track | null);      // null deletes
//   sync.status  // "saved" | "saving" | "offline" | "conflict" | "error"

import { ApiError } from "../api.js";
import * as pending from "./pending.js";
import { same } from "./model.js";

const RETRY_MS = 2000;
let clock = 0;

function stamp() {
  clock = Math.max(Date.now(), clock + 1);
  return clock;
}

export class Sync {
  constructor({ api, projectId, taskId, onChange, onStatus, resolveConflict }) {
    this.api = api;
    this.base = `/projects/${projectId}/tasks/${taskId}`;
    this.task = `${projectId}/${taskId}`;
    this.onChange = onChange;
    this.onStatus = onStatus;
    this.resolveConflict = resolveConflict; // async ({number, mine, theirs}) -> "mine" | "theirs"
    this.records = new Map(); // number -> {number, revision, track, dirty, at, saving}
    this.offline = false;
    this.conflicts = 0;
    this.status = "saved";
    this.timer = null;
    this.closed = false;
    this.waiters = [];
    this.online = () => this.retry();
    window.addEventListener("online", this.online);
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    window.removeEventListener("online", this.online);
  }

  async load() {
    const answer = await this.api.get(`${this.base}/annotations`);
    this.records.clear();
    for (const t of answer.tracks) this._put(t.number, t.revision, t.track);
    for (const t of answer.deleted) this._put(t.number, t.revision, null);
    for (const record of await pending.list(this.task)) {
      const held = this.records.get(record.number);
      if (held && same(held.track, record.track)) {
        pending.forget(record.key, record.at); // it reached the server before the reload
        continue;
      }
      const mine = this._put(record.number, record.revision, record.track);
      Object.assign(mine, { dirty: true, at: record.at });
    }
    this._changed();
    this.retry();
    return answer;
  }

  _put(number, revision, track) {
    const record = { number, revision, track, dirty: false, at: 0, saving: false };
    this.records.set(number, record);
    return record;
  }

  // Live tracks: [{number, revision, track, dirty}]
  tracks() {
    return [...this.records.values()].filter((r) => r.track).sort((a, b) => a.number - b.number);
  }

  track(number) {
    return this.records.get(number)?.track || null;
  }

  revision(number) {
    return this.records.get(number)?.revision ?? 0;
  }

  nextNumber() {
    return Math.max(0, ...this.records.keys()) + 1;
  }

  pendingCount() {
    return [...this.records.values()].filter((r) => r.dirty).length;
  }

  edit(number, track) {
    let record = this.records.get(number);
    if (!record) record = this._put(number, 0, null);
    if (!record.track && !track) return;
    record.track = track;
    record.dirty = true;
    record.at = stamp();
    this._keep(record);
    this._changed();
    this._save(record);
  }

  // Adopt what the server holds for a track (after undo, fill, or taking theirs).
  adopt(number, revision, track) {
    const record = this.records.get(number) || this._put(number, revision, track);
    Object.assign(record, { revision, track, dirty: false });
    pending.forget(`${this.task}#${number}`, stamp());
    this._changed();
  }

  // Drop the edits the server refused (kept in the browser until now) and load its tracks.
  async discardFailed() {
    for (const record of this.records.values()) {
      if (record.failed) await pending.forget(`${this.task}#${record.number}`, stamp());
    }
    await this.load();
  }

  // Resolves when nothing is dirty or saving (or at once when offline or in conflict).
  settled() {
    if (this._idle()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  retry() {
    clearTimeout(this.timer);
    this.timer = null;
    for (const record of this.records.values()) if (record.dirty) this._save(record);
    this._status();
  }

  _keep(record) {
    pending.keep({
      key: `${this.task}#${record.number}`,
      task: this.task,
      number: record.number,
      revision: record.revision,
      track: record.track,
      at: record.at,
    });
  }

  async _save(record) {
    if (this.closed || record.saving || !record.dirty || record.conflict) return;
    if (this.records.get(record.number) !== record) return; // replaced (renumbered, reloaded)
    if (!navigator.onLine) return this._offline();
    record.saving = true;
    this._status();
    const at = record.at;
    const sent = record.track;
    try {
      const answer = await this._send(record.number, record.revision, sent);
      this.offline = false;
      record.failed = null;
      record.revision = answer ? answer.revision : record.revision;
      if (record.at === at) {
        record.dirty = false;
        if (answer && !same(answer.track, sent)) record.track = answer.track;
        pending.forget(`${this.task}#${record.number}`, at);
        this._changed();
      } else {
        this._keep(record); // a newer edit waits, based on the new revision
      }
    } catch (error) {
      const stale = error instanceof ApiError && error.body?.current_revision !== undefined;
      if (stale) {
        await this._conflict(record, error.body);
      } else if (error instanceof ApiError) {
        record.failed = `track ${record.number}: ${ApiError.describe(error.body)}`;
        record.dirty = false; // the server refuses it as it is: kept until edited or discarded
      } else {
        record.saving = false;
        return this._offline();
      }
    } finally {
      record.saving = false;
    }
    if (record.dirty) this._save(record);
    this._status();
  }

  _send(number, revision, track) {
    const headers = { "If-Match": `"${revision}"` };
    if (track) return this.api.put(`${this.base}/tracks/${number}`, { track }, { headers });
    if (revision === 0) return Promise.resolve(null); // made and deleted before it was saved
    return this.api.del(`${this.base}/tracks/${number}`, { headers });
  }

  async _conflict(record, body) {
    const theirs = body.track ?? null;
    const current = body.current_revision;
    if (same(theirs, record.track)) {
      record.revision = current; // ours arrived already (an answer lost on the way)
      record.dirty = false;
      pending.forget(`${this.task}#${record.number}`, record.at);
      return;
    }
    if (record.revision === 0 && record.track) {
      // someone made a track with this number first: ours becomes the next free number
      const number = Math.max(this.nextNumber(), record.number + 1);
      const moved = this._put(number, 0, { ...record.track, id: number });
      pending.forget(`${this.task}#${record.number}`, record.at);
      record.dirty = false; // this record is theirs now; ours goes on as `moved`
      this._put(record.number, current, theirs);
      Object.assign(moved, { dirty: true, at: stamp() });
      this._keep(moved);
      this._changed({ renumbered: [record.number, number] });
      this._save(moved);
      return;
    }
    record.conflict = true;
    this.conflicts += 1;
    this._status();
    let choice = "mine";
    try {
      choice = await this.resolveConflict({
        number: record.number,
        mine: record.track,
        theirs,
        current,
      });
    } finally {
      record.conflict = false;
      this.conflicts -= 1;
    }
    if (choice === "theirs") {
      this.adopt(record.number, current, theirs);
    } else {
      record.revision = current;
      record.at = stamp();
      this._keep(record);
    }
  }

  _offline() {
    this.offline = true;
    this._status();
    if (!this.timer && !this.closed) this.timer = setTimeout(() => this.retry(), RETRY_MS);
  }

  _idle() {
    return [...this.records.values()].every(
      (r) => !r.saving && (!r.dirty || this.offline || r.conflict),
    );
  }

  _status() {
    let status = "saved";
    const busy = [...this.records.values()].some((r) => r.dirty || r.saving);
    if (this.conflicts) status = "conflict";
    else if (this.offline && busy) status = "offline";
    else if (busy) status = "saving";
    const failed = [...this.records.values()].filter((r) => r.failed).map((r) => r.failed);
    if (status === "saved" && failed.length) status = "error";
    this.status = status;
    this.onStatus?.(status, failed.join("\n"));
    if (this._idle()) for (const resolve of this.waiters.splice(0)) resolve();
  }

  _changed(detail = {}) {
    this.onChange?.(detail);
    this._status();
  }
}
