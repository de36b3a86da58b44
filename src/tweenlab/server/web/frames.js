// Frames for the editor, exactly by index: frame n is what the server's index calls n, never
// currentTime x fps. This first source asks the frame endpoint (the server decodes from its
// index and proxy) and keeps decoded ImageBitmaps in a small cache, prefetching around the
// playhead in the direction of travel.
//
//   const source = new FrameSource({projectId, videoId, frameCount, width, height});
//   const bitmap = await source.frame(n);   // exactly frame n (ImageBitmap; do not close it)
//   source.prefetch(n, +1);                 // hint: the playhead is at n, moving forward
//   source.close();

const AHEAD = 12; // frames fetched ahead in the direction of travel
const BEHIND = 4; // and behind
const BUDGET = 256 * 2 ** 20; // bytes of decoded frames kept (RGBA): 32 frames of 1080p
const PARALLEL = 4; // requests in flight at once

export class FrameSource {
  constructor({ projectId, videoId, frameCount, width, height, maxSide = null, format = "jpeg" }) {
    this.url = `/api/projects/${projectId}/videos/${videoId}/frames`;
    this.frameCount = frameCount;
    this.keep = Math.max(2 * AHEAD, Math.floor(BUDGET / (4 * (width || 1920) * (height || 1080))));
    this.query = new URLSearchParams({ format, ...(maxSide ? { max_side: String(maxSide) } : {}) });
    this.cache = new Map(); // n -> Promise<ImageBitmap>, in use order
    this.queue = [];
    this.inFlight = 0;
    this.closed = false;
  }

  // Exactly frame n, decoded.
  frame(n) {
    if (!Number.isInteger(n) || n < 0 || n >= this.frameCount) {
      return Promise.reject(new RangeError(`no frame ${n} (the video has ${this.frameCount})`));
    }
    const cached = this.cache.get(n);
    if (cached) {
      this.cache.delete(n); // most recently used last
      this.cache.set(n, cached);
      return cached;
    }
    const loading = this._load(n);
    this.cache.set(n, loading);
    loading.catch(() => this.cache.get(n) === loading && this.cache.delete(n));
    this._trim(n);
    return loading;
  }

  // Fetch the frames around n that the next steps will want, the direction of travel first.
  prefetch(n, direction = 1) {
    const wanted = [];
    for (let k = 1; k <= AHEAD; k += 1) wanted.push(n + direction * k);
    for (let k = 1; k <= BEHIND; k += 1) wanted.push(n - direction * k);
    this.queue = wanted.filter((f) => f >= 0 && f < this.frameCount && !this.cache.has(f));
    this._pump();
  }

  close() {
    this.closed = true;
    this.queue = [];
    for (const loading of this.cache.values()) loading.then((b) => b.close(), () => {});
    this.cache.clear();
  }

  _pump() {
    while (!this.closed && this.inFlight < PARALLEL && this.queue.length) {
      const n = this.queue.shift();
      if (this.cache.has(n)) continue;
      this.inFlight += 1;
      this.frame(n)
        .catch(() => {})
        .finally(() => {
          this.inFlight -= 1;
          this._pump();
        });
    }
  }

  async _load(n) {
    const response = await fetch(`${this.url}/${n}?${this.query}`, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`frame ${n}: ${response.status} ${await response.text()}`);
    return createImageBitmap(await response.blob());
  }

  _trim(keep) {
    while (this.cache.size > this.keep) {
      const [oldest, loading] = this.cache.entries().next().value;
      if (oldest === keep) break;
      this.cache.delete(oldest);
      loading.then((bitmap) => bitmap.close(), () => {});
    }
  }
}
