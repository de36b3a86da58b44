// The dialog for a save that someone else's change overtook (409): what differs, and the choice
// of keeping mine (written again on their revision) or taking theirs. One at a time.

import { element } from "../app.js";
import { describeDifference } from "./model.js";

let queue = Promise.resolve();

export function askConflict(root, { number, mine, theirs, current }) {
  const asked = queue.then(() => show(root, { number, mine, theirs, current }));
  queue = asked.catch(() => {});
  return asked;
}

function show(root, { number, mine, theirs, current }) {
  return new Promise((resolve) => {
    const keep = element(
      "button",
      { type: "button", class: "primary", "data-testid": "keep-mine" },
      "Keep mine",
    );
    const take = element("button", { type: "button", "data-testid": "take-theirs" }, "Take theirs");
    const dialog = element(
      "div",
      { class: "editor-dialog", role: "alertdialog", "data-testid": "conflict" },
      element("h2", {}, `Track #${number} was changed by someone else`),
      element("p", {}, `It is now at revision ${current}. Your version and theirs differ in:`),
      element(
        "ul",
        {},
        describeDifference(mine, theirs).map((line) => element("li", {}, line)),
      ),
      element(
        "p",
        { class: "muted" },
        "Keep mine writes your version over theirs; take theirs drops your change.",
      ),
      element("div", { class: "actions" }, keep, take),
    );
    const done = (choice) => {
      dialog.remove();
      resolve(choice);
    };
    keep.addEventListener("click", () => done("mine"));
    take.addEventListener("click", () => done("theirs"));
    root.append(dialog);
    keep.focus();
  });
}
