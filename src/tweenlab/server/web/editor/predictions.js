// Predicted tracks: what an auto-labelling job wrote (native JSON source "auto", with the model's
// score) until a person accepts them (they become ordinary tracks) or rejects them (deleted).
// Editing a prediction keeps it one. Deciding is the server's (POST predictions/accept|reject),
// asked only once the editor's own edits are saved, so no pending edit meets a changed revision;
// the tracks are then loaded again.
//
//   isPrediction(track); badgeText(track)                  // "auto 0.82"
//   predictionBar(rows, on); predictionControls(row, on)   // panel parts; on: {accept, reject}
//   await decide(session, "accept" | "reject", numbers | null)   // null: all of them

import { element } from "../app.js";

export function isPrediction(track) {
  return track?.source === "auto";
}

export function badgeText(track) {
  return typeof track.score === "number" ? `auto ${track.score.toFixed(2)}` : "auto";
}

function button(text, testid, action, disabled) {
  const made = element("button", { type: "button", "data-testid": testid, disabled }, text);
  made.addEventListener("click", (event) => {
    event.stopPropagation();
    action();
  });
  return made;
}

// "N predictions: Accept all / Reject all", or "" when there is none.
export function predictionBar(rows, on, disabled) {
  const count = rows.filter((r) => isPrediction(r.track)).length;
  if (!count) return "";
  return element(
    "div",
    { class: "predictions", "data-testid": "predictions-bar", "data-count": count },
    element("span", {}, `${count} prediction${count === 1 ? "" : "s"}`),
    button("Accept all", "accept-all", () => on.accept(null), disabled),
    button("Reject all", "reject-all", () => on.reject(null), disabled),
  );
}

// The badge and the row's Accept / Reject, or [] for an ordinary track.
export function predictionControls(row, on, disabled) {
  if (!isPrediction(row.track)) return [];
  const badge = {
    class: "badge auto",
    "data-testid": "prediction-badge",
    title: "a model's prediction: accept it to make it an ordinary track",
  };
  return [
    element("span", badge, badgeText(row.track)),
    button("Accept", "accept-prediction", () => on.accept([row.number]), disabled),
    button("Reject", "reject-prediction", () => on.reject([row.number]), disabled),
  ];
}

export async function decide(session, verb, numbers) {
  const { sync, toast, task } = session;
  if (session.blocked) return toast(session.blocked, "error");
  await sync.settled();
  if (sync.status !== "saved")
    return toast(`${verb} waits until your edits are saved (${sync.status})`, "error");
  const path = `/projects/${task.project_id}/tasks/${task.id}/predictions/${verb}`;
  let answer;
  try {
    answer = await session.api.post(path, { tracks: numbers });
  } catch (error) {
    toast(String(error.message || error), "error");
    return session.refresh();
  }
  session.redoStack = [];
  if (verb === "reject") {
    for (const number of answer.tracks) session.states.forget(number);
    if (answer.tracks.includes(session.selected)) session.selected = null;
  }
  await session.refresh();
  const done = verb === "accept" ? "accepted" : "rejected";
  toast(`${answer.tracks.length} prediction${answer.tracks.length === 1 ? "" : "s"} ${done}`);
}
