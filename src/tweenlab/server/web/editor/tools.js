// What a drag or a click on the canvas does: select/move/reshape, draw each kind, paint a mask,
// mark a review region. Each tool is an object of down/move/up (video-pixel points) made by
// makeTool(name, editor); a middle- or right-button drag pans in any tool, and so does a drag
// that the select tool starts on no shape. On the selected shape's vertex, alt+click or a
// right-click (CVAT's gestures) deletes it, or hides / shows it where it cannot go (a skeleton's
// point); dragging or clicking an edge's midpoint handle inserts a vertex there.
// The editor passes itself in as `ed`:
//   ed.stage, ed.items() -> [{number, shape}], ed.selected, ed.select(number),
//   ed.preview(number, shape | null), ed.commit(number, shape), ed.create(shape),
//   ed.setDraft(shape | null, caption), ed.setRegion(rect), ed.brush {radius, erase},
//   ed.useTool(name), ed.skeleton() -> the label's {nodes, edges} | null, ed.toast(text, kind)

import {
  KINDS,
  decodeMask,
  encodeMask,
  isMidpoint,
  makeBox,
  makeCuboid,
  makeSkeleton,
  paintDisc,
  partialSkeleton,
} from "./shapes.js";

const GRAB = 7; // CSS pixels within which a handle or an outline is grabbed

export function makeTool(name, ed) {
  const tool = TOOLS[name](ed);
  return withPan(tool, ed);
}

function withPan(tool, ed) {
  let pan = null;
  return {
    ...tool,
    down(point, event) {
      // a right-click on the selected shape's vertex is the tool's (delete it); elsewhere, pan
      if (event.button === 2 && !event.altKey && tool.vertex?.(point)) return;
      const grab = (event.button === 1 || event.button === 2) && !event.altKey;
      if (grab || tool.down?.(point, event) === "pan") {
        pan = { x: event.clientX, y: event.clientY, view: { ...ed.stage.view } };
      }
    },
    move(point, event) {
      if (pan) {
        const { view } = pan;
        ed.stage.setView({ x: view.x + event.clientX - pan.x, y: view.y + event.clientY - pan.y });
        return;
      }
      tool.move?.(point, event);
    },
    up(point, event) {
      if (pan) {
        pan = null;
        return;
      }
      tool.up?.(point, event);
    },
  };
}

function tolerance(ed) {
  return GRAB / ed.stage.view.zoom;
}

// The handle nearest point within reach (a vertex before an edge's midpoint at equal distance).
function handleUnder(ed, item, point) {
  const kind = KINDS[item.shape.kind];
  const near = tolerance(ed);
  let found = null;
  let best = Infinity;
  for (const h of kind.handles(item.shape, ed.stage.view.zoom)) {
    const distance = Math.hypot(h.x - point[0], h.y - point[1]) + (h.mid ? 1e-6 : 0);
    if (distance <= near && distance < best) [found, best] = [h, distance];
  }
  return found;
}

// The selected shape's vertex at point deleted (or hidden / shown where it cannot be deleted);
// false when there is no vertex of it there.
function vertexAction(ed, point) {
  const chosen = ed.items().find((i) => i.number === ed.selected);
  const handle = chosen && handleUnder(ed, chosen, point);
  if (!handle || isMidpoint(handle.id) || typeof handle.id !== "number") return false;
  const kind = KINDS[chosen.shape.kind];
  const changed =
    kind.removeVertex?.(chosen.shape, handle.id) ?? kind.toggleVisible?.(chosen.shape, handle.id);
  if (changed) ed.commit(chosen.number, changed);
  else if (kind.fixed) ed.toast(`a ${chosen.shape.kind}'s points cannot be deleted`);
  else ed.toast(`a ${chosen.shape.kind} needs at least ${kind.minimum} points`);
  return true;
}

function select(ed) {
  let drag = null; // {number, start, shape, handle, changed}
  return {
    name: "select",
    vertex: (point) => vertexAction(ed, point),
    down(point, event) {
      const items = ed.items();
      const chosen = items.find((i) => i.number === ed.selected);
      const handle = chosen && handleUnder(ed, chosen, point);
      if (event.altKey && vertexAction(ed, point)) return;
      if (event.button !== 0) return;
      if (chosen && handle) {
        const kind = KINDS[chosen.shape.kind];
        drag = { number: chosen.number, start: point, shape: chosen.shape, handle: handle.id };
        // a click on an edge's midpoint inserts a vertex there even without a drag
        if (handle.mid) drag.changed = kind.drag(chosen.shape, handle.id, [handle.x, handle.y]);
        return;
      }
      const hit = [...items]
        .reverse()
        .find((i) => KINDS[i.shape.kind]?.hit(i.shape, point, tolerance(ed)));
      ed.select(hit ? hit.number : null);
      drag = hit ? { number: hit.number, start: point, shape: hit.shape, handle: null } : null;
      return hit ? null : "pan";
    },
    move(point) {
      if (!drag) return;
      const kind = KINDS[drag.shape.kind];
      const shape =
        drag.handle === null
          ? kind.translate(drag.shape, point[0] - drag.start[0], point[1] - drag.start[1])
          : kind.drag(drag.shape, drag.handle, point);
      drag.changed = shape;
      ed.preview(drag.number, shape);
    },
    up() {
      if (drag?.changed) ed.commit(drag.number, drag.changed);
      else ed.preview(null, null);
      drag = null;
    },
  };
}

function dragShape(make, minimum = 2) {
  return (ed) => {
    let start = null;
    return {
      down(point, event) {
        if (event.button === 0) start = point;
      },
      move(point) {
        if (start) ed.setDraft(make(...start, ...point));
      },
      up(point) {
        if (!start) return;
        const shape = make(...start, ...point);
        start = null;
        ed.setDraft(null);
        const { w, h } = KINDS[shape.kind].bbox(shape);
        if (w >= minimum && h >= minimum) ed.create(shape);
      },
    };
  };
}

function clickShape(kind) {
  return (ed) => {
    let points = [];
    const draft = (extra) => {
      const all = extra ? [...points, extra] : points;
      if (!all.length) return ed.setDraft(null);
      const shape = { kind, points: all };
      if (kind === "points") shape.visible = all.map(() => true);
      ed.setDraft(shape);
    };
    const tool = {
      down(point, event) {
        if (event.button !== 0) return;
        const first = points[0];
        const closing =
          kind === "polygon" &&
          points.length >= 3 &&
          Math.hypot(first[0] - point[0], first[1] - point[1]) <= tolerance(ed);
        if (closing || (event.detail >= 2 && points.length >= KINDS[kind].minimum))
          return tool.finish();
        points.push(point);
        draft();
      },
      hover(point) {
        if (points.length) draft(point);
      },
      finish() {
        const enough = points.length >= KINDS[kind].minimum;
        const shape = { kind, points };
        if (kind === "points") shape.visible = points.map(() => true);
        points = [];
        ed.setDraft(null);
        if (enough) ed.create(shape);
      },
      cancel() {
        points = [];
        ed.setDraft(null);
      },
    };
    return tool;
  };
}

// A skeleton of the label's named points, placed in their order by clicks (shift+click places
// one hidden, e.g. an occluded joint where it is guessed to be); the last click, or Enter with
// the rest left hidden, makes the shape. Edges are drawn as soon as both their points are placed.
function skeletonTool(ed) {
  let placed = []; // [{point, hidden}]
  const spec = () => ed.skeleton();
  const draft = (hover) => {
    const found = spec();
    if (!found) return ed.setDraft(null);
    const all =
      hover && placed.length < found.nodes.length ? [...placed, { point: hover }] : placed;
    const next = found.nodes[placed.length];
    const caption = next
      ? `${next} (${placed.length + 1} of ${found.nodes.length}; shift+click: hidden)`
      : null;
    ed.setDraft(all.length ? partialSkeleton(found, all) : null, caption);
  };
  const tool = {
    down(point, event) {
      if (event.button !== 0) return;
      const found = spec();
      if (!found) {
        ed.toast("this label has no skeleton points: name them in the project's schema", "error");
        return;
      }
      placed.push({ point, hidden: event.shiftKey });
      if (placed.length >= found.nodes.length) return tool.finish();
      draft(null);
    },
    hover(point) {
      draft(point);
    },
    finish() {
      const found = spec();
      const done = placed;
      placed = [];
      ed.setDraft(null);
      if (!found || !done.length) return;
      ed.create(makeSkeleton(found, done));
    },
    cancel() {
      placed = [];
      ed.setDraft(null);
    },
  };
  return tool;
}

function brush(ed) {
  let paint = null; // {number, data, height, width, erase, last}
  // discs along the segment from the last point, close enough to leave no gap between them
  const dab = (point) => {
    const radius = ed.brush.radius;
    const [x0, y0] = paint.last || point;
    const steps = Math.max(1, Math.ceil(Math.hypot(point[0] - x0, point[1] - y0) / (radius / 4)));
    for (let i = paint.last ? 1 : 0; i <= steps; i += 1) {
      const at = [x0 + ((point[0] - x0) * i) / steps, y0 + ((point[1] - y0) * i) / steps];
      paintDisc(paint.data, paint.height, paint.width, at, radius, paint.erase ? 0 : 1);
    }
    paint.last = point;
    ed.setDraft(encodeMask(paint.data, paint.height, paint.width));
  };
  return {
    down(point, event) {
      if (event.button !== 0) return;
      const mine = ed.items().find((i) => i.number === ed.selected && i.shape.kind === "mask");
      const height = ed.stage.height;
      const width = ed.stage.width;
      const data = mine ? decodeMask(mine.shape).slice() : new Uint8Array(height * width);
      paint = {
        number: mine?.number ?? null,
        data,
        height,
        width,
        erase: ed.brush.erase || event.shiftKey,
      };
      if (mine) ed.preview(mine.number, false); // the draft stands in for it
      dab(point);
    },
    move(point) {
      if (paint) dab(point);
    },
    up() {
      if (!paint) return;
      const shape = encodeMask(paint.data, paint.height, paint.width);
      const { number } = paint;
      paint = null;
      ed.setDraft(null);
      const empty = shape.counts.length === 1;
      if (number !== null) ed.commit(number, shape);
      else if (!empty) ed.create(shape);
      else ed.preview(null, null);
    },
  };
}

function region(ed) {
  let start = null;
  return {
    down(point, event) {
      if (event.button === 0) start = point;
    },
    move(point) {
      if (start) ed.setRegion(makeBox(...start, ...point));
    },
    up(point) {
      if (!start) return;
      const { x, y, w, h } = makeBox(...start, ...point);
      start = null;
      ed.setRegion(w >= 2 && h >= 2 ? { x, y, w, h } : null);
    },
  };
}

const TOOLS = {
  select,
  box: dragShape(makeBox),
  cuboid: dragShape(makeCuboid),
  polygon: clickShape("polygon"),
  polyline: clickShape("polyline"),
  points: clickShape("points"),
  skeleton: skeletonTool,
  mask: brush,
  region,
};
