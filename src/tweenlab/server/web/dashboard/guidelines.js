// The project's guidelines on its page: what annotators read (rendered, with the example frames),
// and for managers the Markdown to edit. ![caption](frame:VIDEO/FRAME) shows exactly that frame
// of one of the project's videos; the server refuses one that does not exist, naming its line.
import { element } from "../app.js";
import { mountGuidelines } from "../guidelines.js";
import { attempt, errorLine, section } from "./ui.js";

export function guidelinesSection(state) {
  const { api, toast } = state;
  const view = element("div");
  const show = async () => {
    view.replaceChildren();
    await mountGuidelines(view, { api, projectId: state.id });
  };
  const children = [view];
  if (state.may("manager")) {
    const text = element("textarea", {
      name: "guidelines",
      rows: 8,
      "data-testid": "guidelines-text",
    });
    text.value = state.project.guidelines || "";
    const error = errorLine("guidelines-error");
    const form = element(
      "form",
      { "data-testid": "guidelines-form" },
      element(
        "label",
        {},
        "Markdown (example frames: ![caption](frame:VIDEO/FRAME), e.g. frame:1/120)",
        text,
      ),
      element("button", { type: "submit", "data-testid": "save-guidelines" }, "Save guidelines"),
      error,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const saved = await attempt(error, null, () =>
        api.patch(`/projects/${state.id}`, { guidelines: text.value }),
      );
      if (saved) {
        state.project.guidelines = saved.guidelines;
        toast("Guidelines saved");
        await show();
      }
    });
    children.push(form);
  }
  show().catch((failure) => (view.textContent = String(failure.message || failure)));
  return section("Guidelines", "guidelines-section", ...children);
}
