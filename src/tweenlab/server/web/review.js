// The review panel the editor shows in review mode (#/projects/P/tasks/T/review): the task's
// issues (a click jumps to the issue's frame), a new issue pinned to the frame on screen and the
// selected region with its first comment, replies, resolving, and Accept / Reject (a rejected
// task goes back to its annotator with its open issues). After every change the editor gets the
// issues to draw as pins (ctx.setMarkers).
//
// export function mountReview(panel, ctx) -> unmount()
//   ctx = {api, projectId, taskId, task, currentFrame(), selectedRegion() /* {x,y,w,h} | null */,
//          jump(frame), setMarkers([{id, frame, region, resolved}]), refresh()}
import { element } from "./app.js";

const REVIEWABLE = new Set(["submitted", "in_review"]);

export function mountReview(panel, ctx) {
  const view = new ReviewPanel(panel, ctx);
  view.start();
  return () => view.stop();
}

class ReviewPanel {
  constructor(panel, ctx) {
    this.panel = panel;
    this.ctx = ctx;
    this.task = ctx.task || { state: "new", actions: [] }; // reload() fetches the real one
    this.issues = [];
    this.alive = true;
    this.base = `/projects/${ctx.projectId}/tasks/${ctx.taskId}`;
    this.frameSize = null;
  }

  start() {
    this.state = element("span", { class: "badge", "data-testid": "review-state" });
    this.list = element("div", { class: "issues", "data-testid": "issue-list" });
    this.error = element("p", { class: "error", role: "alert", "data-testid": "review-error" });
    this.root = element(
      "section",
      { class: "review-panel", "data-testid": "review-panel" },
      element("h2", {}, "Review ", this.state),
      this.newIssueForm(),
      this.list,
      this.verdict(),
      this.error,
    );
    this.panel.append(this.root);
    this.showTask();
    this.reload();
  }

  stop() {
    this.alive = false;
    this.root.remove();
  }

  // Runs a change, shows what the server refused, and redraws issues and pins after it.
  async change(action) {
    this.error.textContent = "";
    try {
      await action();
    } catch (error) {
      console.warn(error);
      this.error.textContent = describe(error);
    }
    await this.reload();
  }

  async reload() {
    try {
      const [issues, task] = await Promise.all([
        this.ctx.api.get(`${this.base}/issues`),
        this.ctx.api.get(this.base), // its state and actions may have moved meanwhile
      ]);
      if (!this.alive) return;
      this.task = task;
      this.showTask();
      this.issues = issues;
      this.list.replaceChildren(...issues.map((issue) => this.issueRow(issue)));
      if (!issues.length) this.list.append(element("p", { class: "muted" }, "No issues."));
    } catch (error) {
      this.error.textContent = describe(error);
    }
    this.ctx.setMarkers(
      this.issues.map((i) => ({
        id: i.id,
        frame: i.frame,
        region: i.region,
        resolved: i.resolved,
      })),
    );
  }

  newIssueForm() {
    const text = element("textarea", {
      rows: 2,
      placeholder: "What is wrong here?",
      "data-testid": "new-issue-text",
    });
    const where = element("p", { class: "muted", "data-testid": "new-issue-where" });
    const describeWhere = () => {
      const region = this.ctx.selectedRegion();
      where.textContent = `Pinned to frame ${this.ctx.currentFrame()}, ${
        region ? `region ${fmtRegion(region)}` : "the whole frame (select a region to narrow it)"
      }`;
    };
    text.addEventListener("focus", describeWhere);
    const button = element("button", { type: "submit", "data-testid": "new-issue" }, "Add issue");
    const form = element("form", { class: "new-issue" }, text, where, button);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      describeWhere();
      if (!text.value.trim()) return void (this.error.textContent = "say what is wrong first");
      this.change(async () => {
        const region = this.ctx.selectedRegion() || (await this.wholeFrame());
        const body = { frame: this.ctx.currentFrame(), region, text: text.value.trim() };
        await this.ctx.api.post(`${this.base}/issues`, body);
        text.value = "";
      });
    });
    return form;
  }

  // The whole frame as a region, for an issue with no region selected.
  async wholeFrame() {
    if (!this.frameSize) {
      const path = `/projects/${this.ctx.projectId}/videos/${this.task.video_id}`;
      const video = await this.ctx.api.get(path);
      this.frameSize = { w: video.width, h: video.height };
    }
    return { x: 0, y: 0, ...this.frameSize };
  }

  issueRow(issue) {
    const row = element(
      "div",
      {
        class: `issue${issue.resolved ? " resolved" : ""}`,
        "data-testid": "issue-row",
        "data-issue": issue.id,
        "data-frame": issue.frame,
        "data-resolved": String(issue.resolved),
        title: `frame ${issue.frame}, region ${fmtRegion(issue.region)}`,
      },
      element(
        "div",
        {},
        element("strong", {}, `Frame ${issue.frame}`),
        " ",
        element("span", { "data-testid": "issue-text" }, issue.text),
        issue.resolved ? element("span", { class: "badge state-accepted" }, " resolved") : null,
      ),
      element(
        "ul",
        { class: "comments" },
        issue.comments.map((c) => element("li", { "data-testid": "issue-comment-text" }, c.text)),
      ),
      this.commentForm(issue),
    );
    row.addEventListener("click", (event) => {
      if (event.target.closest("form, button, input, textarea")) return;
      this.ctx.jump(issue.frame);
    });
    return row;
  }

  commentForm(issue) {
    const text = element("input", { placeholder: "Reply", "data-testid": "issue-comment" });
    const send = element(
      "button",
      { type: "submit", "data-testid": "issue-comment-send" },
      "Reply",
    );
    const form = element("form", { class: "row" }, text, send);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!text.value.trim()) return;
      const path = `${this.base}/issues/${issue.id}/comments`;
      this.change(() => this.ctx.api.post(path, { text: text.value.trim() }));
    });
    if (!issue.resolved) {
      const resolve = element(
        "button",
        { type: "button", "data-testid": "resolve-issue" },
        "Resolve",
      );
      resolve.addEventListener("click", () =>
        this.change(() => this.ctx.api.post(`${this.base}/issues/${issue.id}/resolve`)),
      );
      form.append(resolve);
    }
    return form;
  }

  verdict() {
    this.note = element("input", {
      placeholder: "Why (sent with a rejection)",
      "data-testid": "reject-note",
    });
    const button = (action, text) =>
      element("button", { type: "button", class: action, "data-testid": `${action}-task` }, text);
    this.accept = button("accept", "Accept");
    this.reject = button("reject", "Reject");
    this.accept.addEventListener("click", () => this.decide("accept"));
    this.reject.addEventListener("click", () => this.decide("reject"));
    return element(
      "div",
      { class: "verdict-box" },
      this.note,
      element("div", { class: "verdict" }, this.accept, this.reject),
    );
  }

  // Accept or reject, taking the task for review first when it is only submitted.
  decide(action) {
    return this.change(async () => {
      if (!this.task.actions.includes(action) && this.task.actions.includes("take_review")) {
        this.task = await this.ctx.api.post(`${this.base}/actions/take_review`, {});
      }
      const body = action === "reject" ? { note: this.note.value.trim() } : {};
      this.task = await this.ctx.api.post(`${this.base}/actions/${action}`, body);
      this.note.value = "";
      this.showTask();
      await this.ctx.refresh();
    });
  }

  showTask() {
    this.state.textContent = this.task.state.replace("_", " ");
    this.state.className = `badge state-${this.task.state}`;
    this.root.dataset.state = this.task.state;
    const may = (action) =>
      this.task.actions.includes(action) ||
      (REVIEWABLE.has(this.task.state) && this.task.actions.includes("take_review"));
    this.accept.disabled = !may("accept");
    this.reject.disabled = !may("reject");
  }
}

function fmtRegion(region) {
  const r = (v) => Math.round(v);
  return `${r(region.w)}×${r(region.h)} at (${r(region.x)}, ${r(region.y)})`;
}

function describe(error) {
  const detail = error && error.body && error.body.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((e) => e.msg).join("; ");
  return String((error && error.message) || error);
}
