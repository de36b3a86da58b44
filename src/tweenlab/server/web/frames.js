// Frames for the editor, exactly by index: frame n is what the server's index calls n, never
// currentTime x fps.
//
//   const source = new FrameSource({projectId, videoId, frameCount, width, height});
//   const bitmap = await source.frame(n);   // exactly frame n, an ImageBitmap: draw it now
//   source.prefetch(n, +1);                 // hint: the playhead is at n, moving forward
//   source.close();
//
// Two ways to get pixels, chosen once per source (`await source.ready` names the one taken):
// - "webcodecs": the server's encoded chunks (one GOP of the annotation proxy each) decoded by
//   the browser's VideoDecoder in a worker (frames-worker.js). No decoding or encoding on the
//   server; a GOP of the proxy is a few frames, so any frame is a few decodes away.
// - "images": frame n as a JPEG decoded by the server (GET .../frames/n), a few requests in
//   parallel. Used where VideoDecoder is missing (pages not served from https or localhost are
//   not a secure context), the codec is unsupported, the video has no chunks (409/4xx on
//   /codec), or the worker fails; `decoder: "images"` forces it.
//
// Decoded frames are kept up to a byte budget (RGBA size; 64 MB is 8 frames of 1080p), the
// ones farthest from the playhead dropped (and closed) first, so memory does not grow with the
// length of the video. A bitmap handed out stays valid at least until the page's next task:
// draw it when the await returns, and ask frame(n) again to draw it later. The WebCodecs worker
// is ended after IDLE_MS with nothing to decode (its decoder, encoded chunks and the garbage its
// decoding leaves) and started again for the next frame not in the cache; and it is replaced
// between two decodes once it has fetched RECYCLE_BYTES of chunks. A worker's garbage (the
// EncodedVideoChunks of the chunks it has dropped) goes only with its garbage collections,
// which its small JS heap makes rare, and where DevTools is attached it keeps a copy of every
// response: a walk of 1080p (300 steps, 50 jumps) left about 100 MB of the one and 135 MB of
// the other. Ending the worker frees both at once; the benchmark saw no cost in latency.

const BUDGET = 64 * 2 ** 20; // bytes of decoded frames kept (RGBA): 8 frames of 1080p
const PARALLEL = 4; // image requests in flight at once
const AHEAD = 16; // frames prefetched in the direction of travel (at most 2/3 of the budget)
const BEHIND = 4; // and behind
const IDLE_MS = 5000; // a WebCodecs worker with nothing to do this long is let go
const RECYCLE_BYTES = 32 * 2 ** 20; // chunk bytes a WebCodecs worker fetches before it is replaced

export class FrameSource {
  // decoder: "auto" (WebCodecs where possible, else images), "webcodecs" (fail without it) or
  // "images". maxSide scales frames down to fit that many pixels on the longer side.
  constructor({
    projectId,
    videoId,
    frameCount,
    width,
    height,
    maxSide = null,
    format = "jpeg",
    decoder = "auto",
    budgetBytes = BUDGET,
    recycleBytes = RECYCLE_BYTES,
  }) {
    this.url = `/api/projects/${projectId}/videos/${videoId}`;
    this.frameCount = frameCount;
    const scale = maxSide ? Math.min(1, maxSide / Math.max(width || 1920, height || 1080)) : 1;
    this.size = {
      width: Math.max(1, Math.round((width || 1920) * scale)),
      height: Math.max(1, Math.round((height || 1080) * scale)),
    };
    this.frameBytes = 4 * this.size.width * this.size.height;
    this.keep = Math.max(4, Math.floor(budgetBytes / this.frameBytes));
    this.ahead = Math.min(AHEAD, Math.floor((2 * this.keep) / 3));
    this.behind = Math.min(BEHIND, this.keep - this.ahead - 1);
    this.cache = new Map(); // n -> ImageBitmap
    this.pending = new Map(); // n -> Promise<ImageBitmap>
    this.playhead = 0;
    this.closed = false;
    this.why = null;
    const images = () => new ImageBackend(this.url, { format, maxSide });
    this.backend = null;
    const resize = scale < 1 ? this.size : null;
    this.ready = this._choose(decoder, images, resize, recycleBytes).then((backend) => {
      this.backend = backend;
      return backend.name;
    });
  }

  // Exactly frame n, decoded.
  frame(n) {
    if (!Number.isInteger(n) || n < 0 || n >= this.frameCount) {
      return Promise.reject(new RangeError(`no frame ${n} (the video has ${this.frameCount})`));
    }
    if (this.closed) return Promise.reject(new Error("the frame source is closed"));
    this.playhead = n;
    const cached = this.cache.get(n);
    if (cached) return Promise.resolve(cached);
    return this._load(n, true);
  }

  // Load the frames around n that the next steps will want, the direction of travel first;
  // queued loads of frames that are no longer wanted are dropped.
  prefetch(n, direction = 1) {
    if (this.closed || !Number.isInteger(n)) return;
    this.playhead = n;
    const step = direction < 0 ? -1 : 1;
    const wanted = [];
    for (let k = 1; k <= this.ahead; k += 1) wanted.push(n + step * k);
    for (let k = 1; k <= this.behind; k += 1) wanted.push(n - step * k);
    const inside = wanted.filter((f) => f >= 0 && f < this.frameCount);
    this.ready.then(() => {
      if (this.closed) return;
      this.backend.cancel(new Set([n, ...inside]));
      for (const f of inside) {
        if (!this.cache.has(f) && !this.pending.has(f)) this._load(f, false).catch(() => {});
      }
    }, () => {});
  }

  // What is kept now: {decoder, why (not WebCodecs), frames, bytes, pending, budgetBytes,
  // worker (WebCodecs: whether its worker is running now), workersStarted}.
  stats() {
    return {
      decoder: this.backend ? this.backend.name : null,
      why: this.why || (this.backend && this.backend.why) || null,
      frames: this.cache.size,
      bytes: this.cache.size * this.frameBytes,
      pending: this.pending.size,
      budgetBytes: this.keep * this.frameBytes,
      worker: Boolean(this.backend?.worker),
      workersStarted: this.backend?.started ?? 0,
    };
  }

  close() {
    this.closed = true;
    this.ready.then(() => this.backend.close(), () => {});
    for (const bitmap of this.cache.values()) bitmap.close();
    this.cache.clear();
  }

  async _choose(decoder, images, resize, recycleBytes) {
    if (decoder === "images") return images();
    try {
      return await ChunkBackend.open(this.url, resize, images, recycleBytes);
    } catch (error) {
      if (decoder === "webcodecs") throw error;
      this.why = String(error.message || error); // why not WebCodecs, for stats()
      return images();
    }
  }

  _load(n, urgent) {
    const known = this.pending.get(n);
    if (known) {
      if (urgent) this.ready.then(() => this.backend.hurry(n));
      return known;
    }
    const loading = this.ready.then(() => this.backend.load(n, urgent));
    this.pending.set(n, loading);
    loading.then(
      (bitmap) => {
        this.pending.delete(n);
        if (this.closed) bitmap.close();
        else this._keep(n, bitmap);
      },
      () => this.pending.get(n) === loading && this.pending.delete(n),
    );
    return loading;
  }

  // Keep n's bitmap; past the budget drop the frames farthest from the playhead. Dropped
  // bitmaps are closed after the current task, so a caller awaiting one can still draw it.
  _keep(n, bitmap) {
    this.cache.set(n, bitmap);
    const room = Math.max(1, this.keep - this.pending.size);
    if (this.cache.size <= room) return;
    const far = [...this.cache.keys()].sort(
      (a, b) => Math.abs(b - this.playhead) - Math.abs(a - this.playhead),
    );
    const dropped = [];
    for (const f of far.slice(0, this.cache.size - room)) {
      dropped.push(this.cache.get(f));
      this.cache.delete(f);
    }
    setTimeout(() => dropped.forEach((b) => b.close()), 0);
  }
}

function aborted() {
  return new DOMException("no longer wanted", "AbortError");
}

// Frames decoded by the server: GET .../frames/n as JPEG (or WebP), PARALLEL at a time, the
// urgent ones first.
class ImageBackend {
  constructor(url, { format, maxSide }) {
    this.name = "images";
    this.url = `${url}/frames`;
    this.query = new URLSearchParams({ format, ...(maxSide ? { max_side: String(maxSide) } : {}) });
    this.queue = []; // {n, urgent, resolve, reject}, not yet asked for
    this.inFlight = 0;
    this.closed = false;
  }

  load(n, urgent) {
    return new Promise((resolve, reject) => {
      const entry = { n, urgent, resolve, reject };
      if (urgent) this.queue.unshift(entry);
      else this.queue.push(entry);
      this._pump();
    });
  }

  hurry(n) {
    const at = this.queue.findIndex((e) => e.n === n);
    if (at < 0) return;
    const [entry] = this.queue.splice(at, 1);
    entry.urgent = true; // asked for by frame(n): never cancelled by prefetch
    this.queue.unshift(entry);
  }

  // Forget queued loads that are not urgent and whose frame is not in `wanted`.
  cancel(wanted) {
    this.queue = this.queue.filter((e) => {
      const keep = e.urgent || wanted.has(e.n);
      if (!keep) e.reject(aborted());
      return keep;
    });
  }

  close() {
    this.closed = true;
    this.cancel(new Set());
    this.queue.forEach((e) => e.reject(aborted()));
    this.queue = [];
  }

  _pump() {
    while (!this.closed && this.inFlight < PARALLEL && this.queue.length) {
      const entry = this.queue.shift();
      this.inFlight += 1;
      this._fetch(entry.n)
        .then(entry.resolve, entry.reject)
        .finally(() => {
          this.inFlight -= 1;
          this._pump();
        });
    }
  }

  async _fetch(n) {
    const response = await fetch(`${this.url}/${n}?${this.query}`, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`frame ${n}: ${response.status} ${await response.text()}`);
    return createImageBitmap(await response.blob());
  }
}

// Frames decoded in the browser from the server's encoded chunks (see frames-worker.js). The
// worker decodes one chunk at a time; the queue of chunk jobs lives here so an urgent frame
// goes ahead of prefetching, and the frames wanted from a queued chunk can still grow.
class ChunkBackend {
  static async open(url, resize, images, recycleBytes) {
    if (typeof VideoDecoder === "undefined" || typeof Worker === "undefined") {
      throw new Error("no WebCodecs VideoDecoder here (it needs https or localhost)");
    }
    const response = await fetch(`${url}/codec`, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`codec: ${response.status} ${await response.text()}`);
    const codec = await response.json();
    const config = {
      codec: codec.codec,
      description: Uint8Array.from(atob(codec.description), (c) => c.charCodeAt(0)),
      codedWidth: codec.width,
      codedHeight: codec.height,
    };
    const support = await VideoDecoder.isConfigSupported(config);
    if (!support.supported) throw new Error(`this browser cannot decode ${codec.codec}`);
    const backend = new ChunkBackend(url, codec, resize, images, recycleBytes);
    await backend._start(config);
    return backend;
  }

  constructor(url, codec, resize, images, recycleBytes) {
    this.name = "webcodecs";
    this.url = url;
    this.starts = codec.chunk_starts;
    this.resize = resize ? { resizeWidth: resize.width, resizeHeight: resize.height } : null;
    this.waiting = new Map(); // n -> {resolve, reject, urgent}
    this.queue = []; // chunk jobs not yet sent: {k, frames: Set}
    this.running = null; // the job in the worker: {id, k, from, to, frames}
    this.nextId = 1;
    this.images = images; // makes the ImageBackend to fall back to
    this.fallback = null; // that backend, once the worker has failed
    this.worker = null; // started by _start, ended when idle (_idle), started again by _pump
    this.starting = null; // the start under way
    this.idleTimer = null;
    this.fetched = 0; // bytes of chunks the worker has fetched: past recycleBytes, replaced
    this.recycleBytes = recycleBytes;
  }

  _start(config) {
    this.config = config;
    const worker = new Worker(new URL("./frames-worker.js", import.meta.url), { type: "module" });
    this.worker = worker;
    this.started = (this.started || 0) + 1;
    this.starting = new Promise((resolve, reject) => {
      worker.onmessage = ({ data }) => {
        if (data.type === "ready") {
          worker.onmessage = ({ data: message }) => this._message(message);
          resolve();
        } else {
          worker.terminate();
          reject(new Error(data.message));
        }
      };
      worker.onerror = (event) => reject(new Error(event.message || "worker failed"));
      worker.postMessage({ type: "configure", url: this.url, config });
    }).finally(() => (this.starting = null));
    return this.starting;
  }

  // Nothing to decode for IDLE_MS: end the worker (see the module's comment on memory).
  _idle() {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.running || this.queue.length || this.starting || !this.worker) return;
      this._retire();
    }, IDLE_MS);
  }

  // End the worker between two decodes; _pump starts another for the next.
  _retire() {
    this.worker.postMessage({ type: "close" });
    this.worker = null;
    this.fetched = 0;
  }

  chunkOf(n) {
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.starts[middle] <= n) low = middle;
      else high = middle - 1;
    }
    return low;
  }

  load(n, urgent) {
    if (this.fallback) return this.fallback.load(n, urgent);
    return new Promise((resolve, reject) => {
      const entry = { resolve, reject, urgent, late: false };
      this.waiting.set(n, entry);
      const run = this.running;
      if (run && run.k === this.chunkOf(n) && n >= run.from && n <= run.to) {
        entry.late = true; // the worker may have passed n already: asked again if so
        run.frames.add(n);
      } else {
        this._enqueue(n, urgent);
        if (urgent) this._abortPrefetch();
      }
      this._pump();
    });
  }

  // An urgent frame waits for no prefetching: the worker drops the chunk it is decoding when
  // no frame of it is urgent (its frames are asked for again by the next prefetch).
  _abortPrefetch() {
    const run = this.running;
    if (!run || run.aborting) return;
    if ([...run.frames].some((n) => this.waiting.has(n) && this.waiting.get(n).urgent)) return;
    run.aborting = true;
    this.worker.postMessage({ type: "abort", id: run.id });
  }

  hurry(n) {
    if (this.fallback) return this.fallback.hurry(n);
    const entry = this.waiting.get(n);
    if (entry) entry.urgent = true;
    const at = this.queue.findIndex((job) => job.frames.has(n));
    if (at > 0) this.queue.unshift(...this.queue.splice(at, 1));
    if (at >= 0) this._abortPrefetch();
  }

  cancel(wanted) {
    if (this.fallback) return this.fallback.cancel(wanted);
    for (const job of this.queue) {
      for (const n of job.frames) {
        const entry = this.waiting.get(n);
        if (entry && !entry.urgent && !wanted.has(n)) {
          job.frames.delete(n);
          this.waiting.delete(n);
          entry.reject(aborted());
        }
      }
    }
    this.queue = this.queue.filter((job) => job.frames.size);
  }

  close() {
    clearTimeout(this.idleTimer);
    this.worker?.postMessage({ type: "close" });
    this.worker = null;
    this.closed = true;
    for (const entry of this.waiting.values()) entry.reject(aborted());
    this.waiting.clear();
    this.queue = [];
    if (this.fallback) this.fallback.close();
  }

  _enqueue(n, urgent) {
    const k = this.chunkOf(n);
    let at = this.queue.findIndex((job) => job.k === k);
    if (at < 0) {
      this.queue.push({ k, frames: new Set() });
      at = this.queue.length - 1;
    }
    const job = this.queue[at];
    job.frames.add(n);
    if (urgent && at > 0) this.queue.unshift(...this.queue.splice(at, 1));
  }

  // Send the next job when the worker is idle, and have it fetch the bytes of the two after;
  // start the worker again first if it was let go.
  _pump() {
    if (this.running || !this.queue.length || this.starting || this.closed || this.fallback) {
      return;
    }
    if (this.worker && this.fetched > this.recycleBytes) this._retire();
    if (!this.worker) {
      this._start(this.config).then(
        () => this._pump(),
        (error) => this._fail(String(error.message || error)),
      );
      return;
    }
    clearTimeout(this.idleTimer);
    const job = this.queue.shift();
    const frames = [...job.frames];
    this.running = {
      id: this.nextId++,
      k: job.k,
      from: Math.min(...frames),
      to: Math.max(...frames),
      frames: job.frames,
    };
    const { id, k, from, to } = this.running;
    this.worker.postMessage({ type: "decode", id, k, from, to, resize: this.resize });
    for (const next of this.queue.slice(0, 2)) this.worker.postMessage({ type: "fetch", k: next.k });
  }

  _message(message) {
    if (message.type === "frame") {
      const entry = this.waiting.get(message.n);
      if (entry) {
        this.waiting.delete(message.n);
        entry.resolve(message.bitmap);
      } else {
        message.bitmap.close(); // decoded on the way to a wanted frame, not wanted itself
      }
    } else if (message.type === "done") {
      this.fetched = message.fetched;
      const run = this.running;
      this.running = null;
      this._idle();
      for (const n of run.frames) {
        const entry = this.waiting.get(n);
        if (!entry) continue;
        if (message.aborted && !entry.urgent) {
          this.waiting.delete(n);
          entry.reject(aborted());
        } else if (entry.late || message.aborted) {
          entry.late = false;
          this._enqueue(n, entry.urgent);
        } else {
          this.waiting.delete(n);
          entry.reject(new Error(`frame ${n} was not in chunk ${run.k}`));
        }
      }
      this._pump();
    } else if (message.type === "error") {
      this._fail(message.message);
    }
  }

  // The worker failed: every frame still waiting, and every later one, comes from the server.
  _fail(reason) {
    console.warn(`WebCodecs failed (${reason}); frames now come from the server as images`);
    clearTimeout(this.idleTimer);
    this.worker?.terminate();
    this.worker = null;
    this.fallback = this.images();
    this.name = "images";
    this.why = reason;
    const waiting = [...this.waiting.entries()];
    this.waiting.clear();
    this.queue = [];
    this.running = null;
    for (const [n, entry] of waiting) {
      this.fallback.load(n, entry.urgent).then(entry.resolve, entry.reject);
    }
  }
}
