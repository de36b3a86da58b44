// The WebCodecs side of FrameSource, in a worker so decoding never blocks the page.
//
// One VideoDecoder decodes one chunk (a GOP: the frames from a keyframe to the next, from
// GET .../chunks/{k}) at a time, from its keyframe up to the last frame wanted, and turns the
// wanted frames into ImageBitmaps that go to the page as they come out (transferred, not
// copied). Each packet is given its frame index as its timestamp and the decoder hands the
// timestamp back on the decoded frame, so a frame is named by the server's index, never by a
// time. Encoded chunks are kept (a few MB) so stepping back and forth decodes again without
// asking the server again.
//
// Messages in:  {type: "configure", url, config}      -> {type: "ready"} | {type: "error"}
//               {type: "fetch", k}                     (get chunk k's bytes now, decode later)
//               {type: "decode", id, k, from, to, resize}
//                   -> {type: "frame", id, n, bitmap} for each n in from..to, then
//                      {type: "done", id, fetched} (fetched: bytes of chunks fetched so far)
//               {type: "abort", id}   -> {type: "done", id, aborted: true} soon
//               {type: "close"}
// Any failure:  {type: "error", message}; the page then falls back to server-decoded images.

const MAGIC = 0x31435754; // "TWC1" read as a little-endian u32
const ENCODED_BUDGET = 8 * 2 ** 20; // bytes of encoded chunks kept

let decoder = null;
let url = "";
let config = null;
let job = null; // the decode in progress: {id, k, from, to, resize, outputs: Promise[]}
const chunks = new Map(); // k -> Promise<{packets, bytes}>, least recently used first
let chunkBytes = 0;
let fetched = 0; // bytes of chunks fetched since this worker started
const jobs = []; // decodes waiting, in order
let running = false;

self.onmessage = (event) => {
  const message = event.data;
  if (message.type === "configure") configure(message).catch(fail);
  else if (message.type === "fetch") chunk(message.k).catch(() => {});
  else if (message.type === "abort") abort(message.id);
  else if (message.type === "decode") {
    jobs.push(message);
    run().catch(fail);
  } else if (message.type === "close") {
    if (decoder && decoder.state !== "closed") decoder.close();
    self.close();
  }
};

function fail(error) {
  self.postMessage({ type: "error", message: String((error && error.message) || error) });
}

async function configure(message) {
  url = message.url;
  config = { ...message.config, optimizeForLatency: true };
  const support = await VideoDecoder.isConfigSupported(config);
  if (!support.supported) throw new Error(`this browser cannot decode ${config.codec}`);
  decoder = new VideoDecoder({ output, error: fail });
  decoder.configure(config);
  self.postMessage({ type: "ready" });
}

function output(frame) {
  const n = frame.timestamp; // the frame index we gave the packet
  if (!job || n < job.from || n > job.to) {
    frame.close();
    return;
  }
  const { id, resize } = job;
  converting = converting.then(() => toBitmap(frame, resize));
  const made = converting.then(
    (bitmap) => self.postMessage({ type: "frame", id, n, bitmap }, [bitmap]),
    fail,
  );
  job.outputs.push(made);
}

// The frame's pixels copied out as RGBA into a bitmap of their own, and the frame closed. A
// bitmap made from the frame itself (createImageBitmap(frame), or drawn on an OffscreenCanvas)
// lives in shared memory: measured, a walk with 32 frames kept took 520 MB of shared memory
// besides 390 MB of the process's own, where copies take 390 MB in all. One frame is converted
// at a time, through one buffer (createImageBitmap copies an ImageData when called), so no
// garbage of 8 MB a frame waits for the collector.
let converting = Promise.resolve();
let pixels = new Uint8ClampedArray(0);
async function toBitmap(frame, resize) {
  try {
    const width = frame.displayWidth;
    const height = frame.displayHeight;
    if (pixels.length !== 4 * width * height) pixels = new Uint8ClampedArray(4 * width * height);
    await frame.copyTo(pixels, { format: "RGBA" });
    return createImageBitmap(new ImageData(pixels, width, height), resize || {});
  } finally {
    frame.close();
  }
}

async function run() {
  if (running) return;
  running = true;
  try {
    while (jobs.length) await decode(jobs.shift());
  } finally {
    running = false;
  }
}

async function decode(message) {
  job = { ...message, outputs: [], aborted: false };
  const { packets } = await chunk(message.k);
  if (!job.aborted) {
    for (const packet of packets) {
      if (packet.timestamp > message.to) break;
      decoder.decode(packet);
    }
    await decoder.flush().catch((error) => {
      if (!job.aborted) throw error;
    });
  }
  await Promise.all(job.outputs);
  const { aborted } = job;
  job = null;
  self.postMessage({ type: "done", id: message.id, aborted, fetched });
}

// Stop decode `id` now (the page wants another frame first): its frames not yet out are
// dropped, and the decoder starts afresh at the next chunk's keyframe.
function abort(id) {
  if (job && job.id === id && !job.aborted) {
    job.aborted = true;
    decoder.reset();
    decoder.configure(config);
  }
}

// Chunk k's bytes, from the server once, then from memory while they fit the budget.
function chunk(k) {
  let loading = chunks.get(k);
  if (loading) {
    chunks.delete(k);
    chunks.set(k, loading);
    return loading;
  }
  loading = fetch(`${url}/chunks/${k}`, { credentials: "same-origin" }).then(async (response) => {
    if (!response.ok) throw new Error(`chunk ${k}: ${response.status} ${await response.text()}`);
    const { buffer, bytes, reuse } = await read(response);
    let packets;
    try {
      packets = parse(buffer, bytes, k).map(
        ({ n, key, data }) =>
          new EncodedVideoChunk({ type: key ? "key" : "delta", timestamp: n, data }),
      );
    } finally {
      if (reuse) spare.push(buffer);
    }
    fetched += bytes;
    chunkBytes += bytes;
    trim();
    return { packets, bytes };
  });
  loading.catch(() => chunks.get(k) === loading && chunks.delete(k));
  chunks.set(k, loading);
  return loading;
}

// The body of a response read into one of this worker's buffers, reused from chunk to chunk
// (the EncodedVideoChunks copy the packets out). The bytes of `response.arrayBuffer()` would
// stay with the garbage until the worker's next garbage collection, which comes rarely: Blink
// keeps them whatever the script detaches, measured 110 MB after a walk of 1080p.
const spare = []; // buffers not in use
async function read(response) {
  let reader;
  try {
    reader = response.body.getReader({ mode: "byob" });
  } catch {
    const buffer = await response.arrayBuffer(); // no byte stream here: the plain way
    return { buffer, bytes: buffer.byteLength, reuse: false };
  }
  const length = Number(response.headers.get("Content-Length")) || 0;
  let buffer = spare.pop() || new ArrayBuffer(0);
  if (buffer.byteLength < Math.max(length, 1)) buffer = new ArrayBuffer(Math.max(length, 2 ** 20));
  let bytes = 0;
  for (;;) {
    if (bytes === buffer.byteLength) {
      const bigger = new ArrayBuffer(2 * buffer.byteLength);
      new Uint8Array(bigger).set(new Uint8Array(buffer));
      buffer = bigger;
    }
    const { done, value } = await reader.read(new Uint8Array(buffer, bytes));
    if (value) buffer = value.buffer; // the same memory, handed back (a read transfers it)
    if (done) return { buffer, bytes, reuse: true };
    bytes += value.byteLength;
  }
}

function trim() {
  for (const [k, loading] of chunks) {
    if (chunkBytes <= ENCODED_BUDGET || chunks.size <= 2) break;
    chunks.delete(k);
    loading.then((data) => (chunkBytes -= data.bytes));
  }
}

// The framing of GET .../chunks/{k}, little-endian: "TWC1", u32 k, u32 count, then per frame
// u32 index, u8 key, i64 pts, u32 length, the packet.
function parse(buffer, bytes, k) {
  const view = new DataView(buffer, 0, bytes);
  if (view.getUint32(0, true) !== MAGIC || view.getUint32(4, true) !== k) {
    throw new Error(`chunk ${k}: not a tweenlab chunk`);
  }
  const frames = [];
  let offset = 12;
  for (let i = view.getUint32(8, true); i > 0; i -= 1) {
    const n = view.getUint32(offset, true);
    const key = view.getUint8(offset + 4) === 1;
    const length = view.getUint32(offset + 13, true);
    offset += 17;
    frames.push({ n, key, data: new Uint8Array(buffer, offset, length) });
    offset += length;
  }
  return frames;
}
