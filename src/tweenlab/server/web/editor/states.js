// The server's shape of each track on each frame (GET tracks/{n}/states: interpolation and
// in-between shapes as exports see them), fetched in windows around the playhead and kept per
// track with the revision they were computed at. The editor draws these; an older revision's
// answer is still returned (marked not fresh) until the new one arrives.
//
//   const states = new States(api, base, {first, last, onLoaded});
//   const {state, fresh} = states.get(number, revision, frame);   // state may be undefined

const HALF = 300; // frames fetched either side of the playhead
const MARGIN = 60; // refetch when the playhead comes this close to a window's edge

export class States {
  constructor(api, base, { first, last, onLoaded }) {
    this.api = api;
    this.base = base;
    this.first = first;
    this.last = last;
    this.onLoaded = onLoaded;
    this.tracks = new Map(); // number -> {revision, first, last, byFrame, loading}
  }

  forget(number) {
    this.tracks.delete(number);
  }

  get(number, revision, frame) {
    const held = this.tracks.get(number);
    const covers = held && frame >= held.first && frame <= held.last;
    const fresh = Boolean(covers && held.revision === revision);
    const nearEdge =
      covers &&
      ((frame - held.first < MARGIN && held.first > this.first) ||
        (held.last - frame < MARGIN && held.last < this.last));
    if ((!fresh || nearEdge) && revision > 0) this._load(number, revision, frame);
    return { state: covers ? held.byFrame.get(frame) : undefined, fresh };
  }

  // The state at frame for revision, fetched if need be.
  async at(number, revision, frame) {
    const found = this.get(number, revision, frame);
    if (found.fresh) return found.state;
    await this.tracks.get(number)?.loading;
    return this.get(number, revision, frame).state;
  }

  _load(number, revision, frame) {
    const held = this.tracks.get(number);
    const key = `${revision}@${Math.floor(frame / MARGIN)}`;
    if (held?.loading && held.key === key) return;
    if (held?.failed === key) return;
    const first = Math.max(this.first, frame - HALF);
    const last = Math.min(this.last, frame + HALF);
    const loading = this.api
      .get(`${this.base}/tracks/${number}/states?first=${first}&last=${last}`)
      .then((answer) => {
        const byFrame = new Map(answer.states.map((s) => [s.frame, s]));
        const now = this.tracks.get(number);
        if (now && now.loading !== loading) return; // a newer request replaced this one
        this.tracks.set(number, {
          revision: answer.revision,
          first,
          last,
          byFrame,
          failed: answer.revision === revision ? null : key,
        });
        this.onLoaded?.(number);
      })
      .catch((error) => {
        const now = this.tracks.get(number);
        // a refusal is not asked again for the same window; a lost network is
        if (now?.loading === loading)
          Object.assign(now, { loading: null, key: null, failed: error?.status ? key : null });
        if (error?.status !== 404) console.warn(error);
      });
    this.tracks.set(number, {
      ...(held || { revision: -1, first: 1, last: 0, byFrame: new Map() }),
      loading,
      key,
    });
  }
}
