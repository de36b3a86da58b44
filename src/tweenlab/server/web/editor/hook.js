// window.tweenlabEditor: read-only views of the editor's state for tests and debugging, and
// drawing helpers that drive the same tool code a mouse drag does (points in video pixels).

import { KINDS } from "./shapes.js";

export function testHook(session, sync, stage) {
  const copy = (value) => JSON.parse(JSON.stringify(value));
  const drag = (tool, x0, y0, x1, y1) => {
    session.useTool(tool);
    const event = { button: 0, clientX: 0, clientY: 0, detail: 1 };
    session.tool.down([x0, y0], event);
    session.tool.move([(x0 + x1) / 2, (y0 + y1) / 2], event);
    session.tool.move([x1, y1], event);
    session.tool.up([x1, y1], event);
  };
  return {
    get frame() {
      return session.frame;
    },
    get drawnFrame() {
      return session.drawnFrame;
    },
    get selected() {
      return session.selected;
    },
    get status() {
      return sync.status;
    },
    get view() {
      return { ...stage.view };
    },
    // the shape being drawn and its caption (a skeleton's next point), or null
    get draft() {
      return session.draft ? copy({ shape: session.draft, caption: session.draftCaption }) : null;
    },
    tracks: () =>
      copy(
        sync
          .tracks()
          .map(({ number, revision, dirty, track }) => ({ number, revision, dirty, track })),
      ),
    shown: () =>
      copy(
        session
          .items()
          .map(({ number, shape, source, predicted }) => ({ number, shape, source, predicted })),
      ),
    pendingCount: () => sync.pendingCount(),
    settled: () => sync.settled(),
    go: (frame) => session.go(frame),
    select: (number) => session.select(number),
    setView: (view) => stage.setView(view),
    // Draw a box / region through the same tool code a mouse drag drives (video pixels).
    drawBox: (x, y, w, h) => drag("box", x, y, x + w, y + h),
    drawRegion: (x, y, w, h) => drag("region", x, y, x + w, y + h),
    moveSelected: (dx, dy) => {
      const chosen = session.items().find((i) => i.selected);
      if (!chosen) throw new Error("nothing selected on this frame");
      const { x, y } = KINDS[chosen.shape.kind].bbox(chosen.shape);
      const inside =
        chosen.shape.kind === "box"
          ? [chosen.shape.x + chosen.shape.w / 2, chosen.shape.y + chosen.shape.h / 2]
          : [x, y];
      session.useTool("select");
      const event = { button: 0, clientX: 0, clientY: 0, detail: 1 };
      session.tool.down(inside, event);
      session.tool.move([inside[0] + dx, inside[1] + dy], event);
      session.tool.up([inside[0] + dx, inside[1] + dy], event);
    },
  };
}
