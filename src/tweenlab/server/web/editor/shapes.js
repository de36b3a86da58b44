// The shape kinds as the editor sees them, one entry per kind in KINDS (never an if-chain on the
// kind): how a shape is drawn, hit, moved, and how its handles reshape it. Shapes are the native
// JSON objects (tweenlab.core.shapes): box {x, y, w, h, rotation} (degrees clockwise about the
// centre), polygon/polyline/cuboid/points {points: [[x, y], ...]}, mask {size: [h, w], counts}
// (COCO uncompressed RLE, zeros first, column by column). Coordinates are video pixels.
//
//   const kind = KINDS[shape.kind];
//   kind.draw(ctx, shape, {zoom, color, selected});
//   kind.hit(shape, point, tolerance) -> bool
//   kind.handles(shape, zoom) -> [{id, x, y, round, mid}]   (mid: an edge's midpoint)
//   kind.drag(shape, handleId, point) -> new shape      (a midpoint's drag inserts a vertex)
//   kind.translate(shape, dx, dy) -> new shape
//   kind.removeVertex?(shape, id) -> new shape | null   (polygon, polyline, points)
//   kind.toggleVisible?(shape, id) -> new shape | null  (points, skeleton: hide / show a point)

const RAD = Math.PI / 180;

function rotate([x, y], degrees) {
  const a = degrees * RAD;
  return [x * Math.cos(a) - y * Math.sin(a), x * Math.sin(a) + y * Math.cos(a)];
}

function distanceToSegment([px, py], [ax, ay], [bx, by]) {
  const dx = bx - ax;
  const dy = by - ay;
  const length = dx * dx + dy * dy;
  const t = length ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / length)) : 0;
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

function insidePolygon([x, y], points) {
  let inside = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const [xi, yi] = points[i];
    const [xj, yj] = points[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function bboxOfPoints(points) {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  return { x, y, w: Math.max(...xs) - x, h: Math.max(...ys) - y };
}

// -- box ---------------------------------------------------------------------------------------

const BOX_HANDLES = {
  nw: [-1, -1],
  n: [0, -1],
  ne: [1, -1],
  e: [1, 0],
  se: [1, 1],
  s: [0, 1],
  sw: [-1, 1],
  w: [-1, 0],
};

function boxCentre(box) {
  return [box.x + box.w / 2, box.y + box.h / 2];
}

function boxLocal(box, [px, py]) {
  const [cx, cy] = boxCentre(box);
  return rotate([px - cx, py - cy], -(box.rotation || 0));
}

function boxCorners(box) {
  const [cx, cy] = boxCentre(box);
  return [
    [-1, -1],
    [1, -1],
    [1, 1],
    [-1, 1],
  ].map(([sx, sy]) => {
    const [x, y] = rotate([(sx * box.w) / 2, (sy * box.h) / 2], box.rotation || 0);
    return [cx + x, cy + y];
  });
}

const box = {
  label: "Box",
  draw(ctx, shape, style) {
    ctx.beginPath();
    boxCorners(shape).forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    ctx.closePath();
    fillAndStroke(ctx, style);
  },
  hit(shape, point, tolerance) {
    const [x, y] = boxLocal(shape, point);
    return Math.abs(x) <= shape.w / 2 + tolerance && Math.abs(y) <= shape.h / 2 + tolerance;
  },
  handles(shape, zoom) {
    const [cx, cy] = boxCentre(shape);
    const found = Object.entries(BOX_HANDLES).map(([id, [sx, sy]]) => {
      const [x, y] = rotate([(sx * shape.w) / 2, (sy * shape.h) / 2], shape.rotation || 0);
      return { id, x: cx + x, y: cy + y };
    });
    const [rx, ry] = rotate([0, -shape.h / 2 - 24 / zoom], shape.rotation || 0);
    found.push({ id: "rotate", x: cx + rx, y: cy + ry, round: true });
    return found;
  },
  drag(shape, id, point) {
    const rotation = shape.rotation || 0;
    const [cx, cy] = boxCentre(shape);
    if (id === "rotate") {
      let degrees = Math.atan2(point[0] - cx, -(point[1] - cy)) / RAD;
      if (degrees > 180) degrees -= 360;
      return { ...shape, rotation: Math.round(degrees * 10) / 10 };
    }
    const [sx, sy] = BOX_HANDLES[id];
    const [lx, ly] = boxLocal(shape, point);
    // the opposite side stays where it is; the dragged one follows the pointer
    let left = -shape.w / 2;
    let right = shape.w / 2;
    let top = -shape.h / 2;
    let bottom = shape.h / 2;
    if (sx < 0) left = lx;
    if (sx > 0) right = lx;
    if (sy < 0) top = ly;
    if (sy > 0) bottom = ly;
    const w = Math.abs(right - left);
    const h = Math.abs(bottom - top);
    const [ox, oy] = rotate([(left + right) / 2, (top + bottom) / 2], rotation);
    return { ...shape, x: cx + ox - w / 2, y: cy + oy - h / 2, w, h };
  },
  translate(shape, dx, dy) {
    return { ...shape, x: shape.x + dx, y: shape.y + dy };
  },
  bbox(shape) {
    return bboxOfPoints(boxCorners(shape));
  },
};

export function makeBox(x0, y0, x1, y1) {
  return {
    kind: "box",
    x: Math.min(x0, x1),
    y: Math.min(y0, y1),
    w: Math.abs(x1 - x0),
    h: Math.abs(y1 - y0),
    rotation: 0,
  };
}

// -- shapes made of points ---------------------------------------------------------------------

// The midpoint handles of a polygon's or polyline's edges: dragging one (or clicking it) puts a
// new vertex there, as CVAT does. Their ids are "mid:i" for the edge from vertex i.
const MID = "mid:";

function midpoints(points, closed) {
  const found = [];
  const edges = closed ? points.length : points.length - 1;
  for (let i = 0; i < edges; i += 1) {
    const [ax, ay] = points[i];
    const [bx, by] = points[(i + 1) % points.length];
    found.push({ id: `${MID}${i}`, x: (ax + bx) / 2, y: (ay + by) / 2, round: true, mid: true });
  }
  return found;
}

export function isMidpoint(id) {
  return typeof id === "string" && id.startsWith(MID);
}

function withVisible(shape, visible) {
  return { ...shape, visible: shape.points.map((_, i) => visible[i] ?? true) };
}

function pointKind({ label, closed, minimum, lines = true, fixed = false, insert = false }) {
  return {
    label,
    closed,
    minimum,
    fixed,
    draw(ctx, shape, style) {
      const points = shape.points;
      if (lines && points.length) {
        ctx.beginPath();
        points.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
        if (closed) ctx.closePath();
        if (closed) fillAndStroke(ctx, style);
        else stroke(ctx, style);
      }
      const radius = (lines ? 2.5 : 4) / style.zoom;
      for (const [x, y] of points) {
        ctx.beginPath();
        ctx.arc(x, y, radius, 0, 2 * Math.PI);
        ctx.fillStyle = style.color;
        ctx.fill();
      }
    },
    hit(shape, point, tolerance) {
      const points = shape.points;
      if (points.some((p) => Math.hypot(p[0] - point[0], p[1] - point[1]) <= tolerance * 1.5)) {
        return true;
      }
      if (!lines) return false;
      if (closed && insidePolygon(point, points)) return true;
      for (let i = 1; i < points.length + (closed ? 1 : 0); i += 1) {
        const a = points[i - 1];
        const b = points[i % points.length];
        if (distanceToSegment(point, a, b) <= tolerance) return true;
      }
      return false;
    },
    handles(shape, zoom) {
      const vertices = shape.points.map(([x, y], i) => ({ id: i, x, y }));
      if (!insert) return vertices;
      // a midpoint too close to a vertex at this zoom would hide it: left out
      const room = 14 / (zoom || 1);
      const mids = midpoints(shape.points, closed).filter((m) =>
        shape.points.every(([x, y]) => Math.hypot(x - m.x, y - m.y) >= room),
      );
      return [...vertices, ...mids];
    },
    drag(shape, id, point) {
      if (isMidpoint(id)) {
        const at = Number(id.slice(MID.length)) + 1;
        const points = [...shape.points];
        points.splice(at, 0, [point[0], point[1]]);
        return { ...shape, points };
      }
      const points = shape.points.map((p, i) => (i === id ? [point[0], point[1]] : p));
      return { ...shape, points };
    },
    translate(shape, dx, dy) {
      return { ...shape, points: shape.points.map(([x, y]) => [x + dx, y + dy]) };
    },
    bbox(shape) {
      return bboxOfPoints(shape.points);
    },
    // A vertex removed, or null where the kind would fall below its minimum.
    removeVertex(shape, id) {
      if (fixed || isMidpoint(id) || shape.points.length <= minimum) return null;
      const keep = (_, i) => i !== id;
      const next = { ...shape, points: shape.points.filter(keep) };
      if (shape.visible) next.visible = shape.visible.filter(keep);
      return next;
    },
  };
}

// -- skeleton ----------------------------------------------------------------------------------

// Named points (shape.nodes) joined by shape.edges ([i, j] pairs); a hidden point (visible
// false) keeps its place and is drawn hollow, its edges not at all.
const skeleton = {
  ...pointKind({ label: "Skeleton", closed: false, minimum: 1, lines: false, fixed: true }),
  draw(ctx, shape, style) {
    const p = shape.points;
    const shown = shape.visible || p.map(() => true);
    ctx.beginPath();
    for (const [a, b] of shape.edges || []) {
      if (!p[a] || !p[b] || !shown[a] || !shown[b]) continue;
      ctx.moveTo(...p[a]);
      ctx.lineTo(...p[b]);
    }
    stroke(ctx, style);
    const radius = 3.5 / style.zoom;
    p.forEach(([x, y], i) => {
      ctx.beginPath();
      ctx.arc(x, y, radius, 0, 2 * Math.PI);
      if (shown[i]) {
        ctx.fillStyle = style.color;
        ctx.fill();
      } else {
        ctx.lineWidth = 1 / style.zoom;
        ctx.strokeStyle = style.color;
        ctx.stroke();
      }
    });
    if (style.selected || style.dashed) names(ctx, shape, style);
  },
  hit(shape, point, tolerance) {
    const p = shape.points;
    if (p.some((q) => Math.hypot(q[0] - point[0], q[1] - point[1]) <= tolerance * 1.5)) return true;
    return (shape.edges || []).some(
      ([a, b]) => p[a] && p[b] && distanceToSegment(point, p[a], p[b]) <= tolerance,
    );
  },
  toggleVisible(shape, id) {
    if (isMidpoint(id) || !shape.points[id]) return null;
    const visible = shape.points.map((_, i) => shape.visible?.[i] ?? true);
    visible[id] = !visible[id];
    return withVisible(shape, visible);
  },
};

// Each shown point's name beside it, the same size at any zoom.
function names(ctx, shape, style) {
  ctx.font = `${10 / style.zoom}px sans-serif`;
  ctx.fillStyle = style.color;
  ctx.textBaseline = "bottom";
  shape.points.forEach(([x, y], i) => {
    const shown = shape.visible?.[i] ?? true;
    if (shape.nodes?.[i] && shown) {
      ctx.fillText(shape.nodes[i], x + 5 / style.zoom, y - 3 / style.zoom);
    }
  });
}

// A skeleton of the label's points (spec: {nodes, edges}) from the first points placed: the
// points not placed yet are hidden, in a row right of the last one placed, apart enough to be
// grabbed one by one.
export function makeSkeleton(spec, placed) {
  const nodes = spec.nodes;
  const [x, y] = placed[placed.length - 1]?.point || [0, 0];
  const points = nodes.map((_, i) => placed[i]?.point || [x + 12 * (i - placed.length + 1), y]);
  const visible = nodes.map((_, i) => Boolean(placed[i] && !placed[i].hidden));
  return { kind: "skeleton", points, visible, nodes: [...nodes], edges: spec.edges || [] };
}

// While drawing: only the points placed so far and the edges between them.
export function partialSkeleton(spec, placed) {
  const n = placed.length;
  return {
    kind: "skeleton",
    points: placed.map((p) => p.point),
    visible: placed.map((p) => !p.hidden),
    nodes: spec.nodes.slice(0, n),
    edges: (spec.edges || []).filter(([a, b]) => a < n && b < n),
  };
}

const cuboid = {
  ...pointKind({ label: "Cuboid", closed: false, minimum: 8, fixed: true }),
  draw(ctx, shape, style) {
    const p = shape.points;
    const faces = [
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ];
    for (const face of faces) {
      ctx.beginPath();
      face.forEach((i, k) => (k ? ctx.lineTo(...p[i]) : ctx.moveTo(...p[i])));
      ctx.closePath();
      fillAndStroke(ctx, style);
    }
    ctx.beginPath();
    for (let i = 0; i < 4; i += 1) {
      ctx.moveTo(...p[i]);
      ctx.lineTo(...p[i + 4]);
    }
    stroke(ctx, style);
  },
  hit(shape, point, tolerance) {
    const p = shape.points;
    return (
      insidePolygon(point, p.slice(0, 4)) ||
      insidePolygon(point, p.slice(4)) ||
      p.some((q) => Math.hypot(q[0] - point[0], q[1] - point[1]) <= tolerance * 1.5)
    );
  },
};

// A 2D cuboid from a dragged front face; the back face starts up and to the right of it.
export function makeCuboid(x0, y0, x1, y1) {
  const front = makeBox(x0, y0, x1, y1);
  const dx = front.w * 0.3;
  const dy = -front.h * 0.3;
  const face = [
    [front.x, front.y],
    [front.x + front.w, front.y],
    [front.x + front.w, front.y + front.h],
    [front.x, front.y + front.h],
  ];
  return { kind: "cuboid", points: [...face, ...face.map(([x, y]) => [x + dx, y + dy])] };
}

// -- mask --------------------------------------------------------------------------------------

const dense = new WeakMap(); // mask shape -> {data: Uint8Array (column-major), canvas per colour}

// The mask's pixels, column by column (index x * height + y), 1 where set.
export function decodeMask(shape) {
  let found = dense.get(shape);
  if (found) return found.data;
  const [height, width] = shape.size;
  const data = new Uint8Array(height * width);
  let at = 0;
  shape.counts.forEach((run, i) => {
    if (i % 2) data.fill(1, at, at + run);
    at += run;
  });
  found = { data, images: new Map() };
  dense.set(shape, found);
  return data;
}

export function encodeMask(data, height, width) {
  const counts = [];
  let value = 0;
  let run = 0;
  for (let i = 0; i < data.length; i += 1) {
    const bit = data[i] ? 1 : 0;
    if (bit === value) run += 1;
    else {
      counts.push(run);
      value = bit;
      run = 1;
    }
  }
  counts.push(run);
  return { kind: "mask", size: [height, width], counts };
}

function maskImage(shape, color) {
  decodeMask(shape);
  const found = dense.get(shape);
  let canvas = found.images.get(color);
  if (canvas) return canvas;
  const [height, width] = shape.size;
  canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const g = canvas.getContext("2d");
  const image = g.createImageData(width, height);
  const [r, gg, b] = rgb(color);
  for (let x = 0; x < width; x += 1) {
    for (let y = 0; y < height; y += 1) {
      if (!found.data[x * height + y]) continue;
      const o = (y * width + x) * 4;
      image.data[o] = r;
      image.data[o + 1] = gg;
      image.data[o + 2] = b;
      image.data[o + 3] = 110;
    }
  }
  g.putImageData(image, 0, 0);
  found.images.set(color, canvas);
  return canvas;
}

const mask = {
  label: "Mask",
  draw(ctx, shape, style) {
    ctx.drawImage(maskImage(shape, style.color), 0, 0);
    if (style.selected) {
      const b = mask.bbox(shape);
      ctx.setLineDash([4 / style.zoom, 4 / style.zoom]);
      ctx.strokeStyle = style.color;
      ctx.lineWidth = 1 / style.zoom;
      ctx.strokeRect(b.x, b.y, b.w, b.h);
      ctx.setLineDash([]);
    }
  },
  hit(shape, [px, py]) {
    const [height, width] = shape.size;
    const x = Math.floor(px);
    const y = Math.floor(py);
    if (x < 0 || y < 0 || x >= width || y >= height) return false;
    return decodeMask(shape)[x * height + y] === 1;
  },
  handles() {
    return [];
  },
  drag(shape) {
    return shape;
  },
  translate(shape, dx, dy) {
    const [height, width] = shape.size;
    const source = decodeMask(shape);
    const moved = new Uint8Array(source.length);
    const ix = Math.round(dx);
    const iy = Math.round(dy);
    for (let x = 0; x < width; x += 1) {
      const tx = x + ix;
      if (tx < 0 || tx >= width) continue;
      for (let y = 0; y < height; y += 1) {
        const ty = y + iy;
        if (ty >= 0 && ty < height && source[x * height + y]) moved[tx * height + ty] = 1;
      }
    }
    return encodeMask(moved, height, width);
  },
  bbox(shape) {
    const [height, width] = shape.size;
    const data = decodeMask(shape);
    let x0 = width;
    let y0 = height;
    let x1 = -1;
    let y1 = -1;
    for (let x = 0; x < width; x += 1) {
      for (let y = 0; y < height; y += 1) {
        if (!data[x * height + y]) continue;
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
    }
    return x1 < 0 ? { x: 0, y: 0, w: 0, h: 0 } : { x: x0, y: y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
  },
};

// Paint (or erase) a disc into a mask's column-major pixels.
export function paintDisc(data, height, width, [cx, cy], radius, value) {
  const r = Math.max(0.5, radius);
  for (
    let x = Math.max(0, Math.floor(cx - r));
    x <= Math.min(width - 1, Math.ceil(cx + r));
    x += 1
  ) {
    for (
      let y = Math.max(0, Math.floor(cy - r));
      y <= Math.min(height - 1, Math.ceil(cy + r));
      y += 1
    ) {
      if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r) data[x * height + y] = value;
    }
  }
}

// -- drawing helpers ---------------------------------------------------------------------------

// Lines: solid; dashed while occluded or not yet the server's; dotted for a model's prediction.
function dashes(style) {
  if (style.predicted) return [1.5 / style.zoom, 3 / style.zoom];
  return style.dashed ? [6 / style.zoom, 4 / style.zoom] : [];
}

function stroke(ctx, style) {
  ctx.lineWidth = (style.selected ? 2.5 : style.predicted ? 2 : 1.5) / style.zoom;
  ctx.strokeStyle = style.color;
  ctx.setLineDash(dashes(style));
  ctx.stroke();
  ctx.setLineDash([]);
}

function fillAndStroke(ctx, style) {
  ctx.fillStyle = withAlpha(style.color, style.selected ? 0.22 : 0.1);
  ctx.fill();
  stroke(ctx, style);
}

function rgb(color) {
  const hex = /^#([0-9a-f]{6})$/i.exec(color || "");
  if (!hex) return [47, 111, 237];
  const value = parseInt(hex[1], 16);
  return [(value >> 16) & 255, (value >> 8) & 255, value & 255];
}

function withAlpha(color, alpha) {
  const [r, g, b] = rgb(color);
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

export const KINDS = {
  box,
  polygon: pointKind({ label: "Polygon", closed: true, minimum: 3, insert: true }),
  polyline: pointKind({ label: "Polyline", closed: false, minimum: 2, insert: true }),
  points: {
    ...pointKind({ label: "Points", closed: false, minimum: 1, lines: false }),
    toggleVisible: skeleton.toggleVisible,
  },
  skeleton,
  cuboid,
  mask,
};

// The kinds a person draws (a skeleton only for a label whose schema names its points).
export const DRAWN = ["box", "polygon", "polyline", "points", "skeleton", "cuboid", "mask"];

export const PALETTE = [
  "#2f6fed",
  "#e8590c",
  "#2b8a3e",
  "#c2255c",
  "#7048e8",
  "#0b7285",
  "#e67700",
];
