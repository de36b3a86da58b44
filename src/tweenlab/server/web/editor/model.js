// Edits of a track in its native JSON (Track.to_json: id, label, source, attributes, keyframes
// [{frame, shape, outside, occluded, attributes}], optional inbetween [{frame, shape}]). Every
// function returns a new track and leaves its argument alone, so a saved copy never changes
// under the sync. Interpolation is not here: the server's states are what the editor draws.

export function newTrack(number, label, frame, shape, attributes = {}) {
  return {
    id: number,
    label,
    source: "manual",
    attributes: { ...attributes },
    keyframes: [{ frame, shape, outside: false, occluded: false, attributes: {} }],
  };
}

export function keyframeAt(track, frame) {
  return track.keyframes.find((k) => k.frame === frame) || null;
}

// The keyframe at or before frame (whose flags and per-frame attributes hold there), or null.
export function keyframeBefore(track, frame) {
  let found = null;
  for (const k of track.keyframes)
    if (k.frame <= frame && (!found || k.frame > found.frame)) found = k;
  return found;
}

function sorted(keyframes) {
  return [...keyframes].sort((a, b) => a.frame - b.frame);
}

// The track with a keyframe at frame: fields over the one already there, or over what holds.
export function setKeyframe(track, frame, fields) {
  const held = keyframeAt(track, frame) || keyframeBefore(track, frame);
  const keyframe = {
    frame,
    shape: fields.shape ?? held?.shape,
    outside: fields.outside ?? (keyframeAt(track, frame)?.outside || false),
    occluded: fields.occluded ?? held?.occluded ?? false,
    attributes: { ...(held?.attributes || {}), ...(fields.attributes || {}) },
  };
  const others = track.keyframes.filter((k) => k.frame !== frame);
  return { ...track, keyframes: sorted([...others, keyframe]) };
}

export function removeKeyframe(track, frame) {
  const keyframes = track.keyframes.filter((k) => k.frame !== frame);
  return keyframes.length ? { ...track, keyframes } : null;
}

// "Delete this frame only": the object is outside on frame and back on frame + 1 as it was.
export function deleteFrameOnly(track, frame, nextShape, lastFrame) {
  let next = setKeyframe(track, frame, { outside: true });
  const after = frame + 1;
  if (after <= lastFrame && !keyframeAt(track, after) && nextShape) {
    next = setKeyframe(next, after, { shape: nextShape, outside: false });
  }
  return next;
}

// "Delete from here on": outside from frame, nothing after it (null when nothing is left).
export function deleteFrom(track, frame) {
  const before = track.keyframes.filter((k) => k.frame < frame);
  if (!before.some((k) => !k.outside)) return null;
  const last = before[before.length - 1];
  const ended = { frame, shape: last.shape, outside: true, occluded: false, attributes: {} };
  return { ...track, keyframes: [...before, ended] };
}

export function nextKeyframe(tracks, frame, direction) {
  const frames = tracks.flatMap((t) => t.keyframes.map((k) => k.frame));
  const candidates = frames.filter((f) => (direction > 0 ? f > frame : f < frame));
  if (!candidates.length) return null;
  return direction > 0 ? Math.min(...candidates) : Math.max(...candidates);
}

// Spans for the timeline: [{first, last, kind: "interpolated" | "outside"}] between keyframes,
// and the in-between frames (motion-filled shapes). A track carried past its ends by the fill
// starts at its first in-between frame and is outside from "leaves" on.
export function spans(track, lastFrame) {
  const keys = sorted(track.keyframes);
  const found = [];
  const inbetween = new Set((track.inbetween || []).map((item) => item.frame));
  const head = [...inbetween].filter((f) => keys.length && f < keys[0].frame);
  if (head.length) found.push({ first: Math.min(...head), last: keys[0].frame - 1, kind: "interpolated" });
  keys.forEach((k, i) => {
    const final = i + 1 === keys.length;
    const leaves = final && !k.outside && Number.isInteger(track.leaves) ? track.leaves : null;
    const end = !final ? keys[i + 1].frame - 1 : leaves !== null ? leaves - 1 : lastFrame;
    if (end >= k.frame)
      found.push({ first: k.frame, last: end, kind: k.outside ? "outside" : "interpolated" });
    if (leaves !== null && leaves <= lastFrame)
      found.push({ first: leaves, last: lastFrame, kind: "outside" });
  });
  return { spans: found, keyframes: keys, inbetween };
}

// JSON with sorted keys, to tell whether two tracks are the same.
export function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function same(a, b) {
  return canonical(a) === canonical(b);
}

// What differs between two versions of a track, in words, for the conflict dialog.
export function describeDifference(mine, theirs) {
  if (!theirs) return ["They deleted the track."];
  if (!mine) return ["You deleted the track; they changed it."];
  const lines = [];
  if (mine.label !== theirs.label) lines.push(`label: yours ${mine.label}, theirs ${theirs.label}`);
  const frames = new Set([...mine.keyframes, ...theirs.keyframes].map((k) => k.frame));
  const changed = [];
  for (const frame of [...frames].sort((a, b) => a - b)) {
    const a = keyframeAt(mine, frame);
    const b = keyframeAt(theirs, frame);
    if (!a) changed.push(`${frame} (only theirs)`);
    else if (!b) changed.push(`${frame} (only yours)`);
    else if (!same(a, b)) changed.push(`${frame} (different)`);
  }
  if (changed.length) lines.push(`keyframes: ${changed.join(", ")}`);
  if (!same(mine.attributes, theirs.attributes)) lines.push("track attributes differ");
  if (!lines.length) lines.push("in-between shapes differ");
  return lines;
}
