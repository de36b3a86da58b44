// What each shortcut of shortcuts.js does in the editor.

import { nextOf } from "./guidance.js";
import { nextKeyframe } from "./model.js";

export function keyActions(session, toggleHelp, review) {
  const withSelected = (command) => () => {
    if (session.selected === null) return false;
    command(session.selected);
  };
  return {
    next: () => session.step(1),
    previous: () => session.step(-1),
    next10: () => session.step(10),
    previous10: () => session.step(-10),
    play: (event) => !event.repeat && session.play(),
    nextKeyframe: () => jumpKeyframe(session, 1),
    previousKeyframe: () => jumpKeyframe(session, -1),
    nextSuggested: () => jumpSuggested(session, 1),
    previousSuggested: () => jumpSuggested(session, -1),
    nextCut: () => jumpTo(session, nextOf(session.guidance.cuts, session.frame, 1)),
    previousCut: () => jumpTo(session, nextOf(session.guidance.cuts, session.frame, -1)),
    newShape: () => session.useTool(session.drawKind),
    selectTool: () => session.useTool("select"),
    finish: () => (session.tool.finish ? session.tool.finish() : false),
    keyframe: withSelected((n) => session.toggle(n, "keyframe")),
    outside: withSelected((n) => session.toggle(n, "outside")),
    occluded: withSelected((n) => session.toggle(n, "occluded")),
    deleteFrame: withSelected((n) => session.deleteFrame(n)),
    deleteFrom: withSelected((n) => session.deleteFrom(n)),
    copyNext: withSelected((n) => session.copyToNext(n)),
    eraser: () => {
      session.brush.erase = !session.brush.erase;
      session.onChange?.();
    },
    regionTool: () => review && session.useTool("region"),
    fit: () => session.stage.fit(),
    actualSize: () => session.stage.setView({ zoom: 1 }),
    undo: () => session.undo(),
    redo: () => session.redo(),
    help: toggleHelp,
  };
}

function jumpKeyframe(session, direction) {
  const tracks = session.sync
    .tracks()
    .filter((r) => session.selected === null || r.number === session.selected);
  const found = nextKeyframe(
    tracks.map((r) => r.track),
    session.frame,
    direction,
  );
  if (found !== null) session.step(found - session.frame);
}

// The next suggested keyframe: the selected track's (its least confident frames), or with none
// selected any track's and the video analysis's.
function jumpSuggested(session, direction) {
  const { guidance, sync } = session;
  const records = sync.tracks();
  const chosen = records.filter((r) => r.number === session.selected);
  const frames = (chosen.length ? chosen : records).flatMap(
    (r) => guidance.track(r.number, r.revision)?.suggested || [],
  );
  if (!chosen.length) frames.push(...guidance.suggested);
  jumpTo(session, nextOf(frames, session.frame, direction));
}

function jumpTo(session, frame) {
  if (frame === null) return session.toast("no mark that way");
  session.step(frame - session.frame);
}
