// Where to look next, as the server says it, for the timeline: each track's confidence per frame
// from motion-guided in-betweening and its suggested next keyframes (GET tracks/{n}/confidence,
// fetched once per revision), and the task's scene cuts and suggested keyframes from the video's
// keyframe analysis (GET keyframes, fetched once). The editor never computes either.
//
//   const guidance = new Guidance(api, base, {onLoaded});
//   await guidance.loadTask();                 // guidance.cuts, guidance.suggested
//   guidance.track(number, revision)           // {confidence: Map, suggested, lowest} or null

export class Guidance {
  constructor(api, base, { onLoaded }) {
    this.api = api;
    this.base = base;
    this.onLoaded = onLoaded;
    this.cuts = [];
    this.suggested = [];
    this.analysed = false;
    this.tracks = new Map(); // number -> {revision, found, loading}
  }

  async loadTask() {
    try {
      const answer = await this.api.get(`${this.base}/keyframes`);
      Object.assign(this, {
        analysed: answer.analysed,
        cuts: answer.cuts,
        suggested: answer.suggested,
      });
      this.onLoaded?.();
    } catch (error) {
      console.warn(error); // the timeline goes without its marks
    }
  }

  // The track's guidance at revision (that of an older revision until the new one arrives), or
  // null before any has arrived; a revision not yet saved (0) has none.
  track(number, revision) {
    const held = this.tracks.get(number);
    if (revision > 0 && held?.revision !== revision && held?.asked !== revision) {
      this._load(number, revision);
    }
    return this.tracks.get(number)?.found ?? null;
  }

  _load(number, revision) {
    const held = this.tracks.get(number) || { revision: -1, found: null };
    this.tracks.set(number, { ...held, asked: revision });
    this.api
      .get(`${this.base}/tracks/${number}/confidence`)
      .then((answer) => {
        const now = this.tracks.get(number);
        if (now && now.revision > answer.revision) return; // a newer one came first
        this.tracks.set(number, { ...now, revision: answer.revision, found: digest(answer) });
        this.onLoaded?.();
      })
      .catch((error) => {
        if (error?.status !== 404) console.warn(error);
      });
  }
}

// {confidence: Map(frame -> value), suggested: [frames], lowest: frame | null} of an answer.
export function digest(answer) {
  const confidence = new Map();
  for (const span of answer.spans) {
    (span.confidence || []).forEach((value, i) => {
      if (value !== null) confidence.set(span.first + 1 + i, value);
    });
  }
  let lowest = null;
  for (const [frame, value] of confidence) {
    if (lowest === null || value < confidence.get(lowest)) lowest = frame;
  }
  return { confidence, suggested: answer.suggested, lowest };
}

// The nearest of frames after (direction 1) or before (-1) frame, or null.
export function nextOf(frames, frame, direction) {
  const after = frames.filter((f) => (direction > 0 ? f > frame : f < frame));
  if (!after.length) return null;
  return direction > 0 ? Math.min(...after) : Math.max(...after);
}
