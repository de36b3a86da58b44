// What the sections of one project page share: the project, the caller's role, its members,
// videos and tasks, loaded from the API and announced to the sections that listen, plus the
// things to stop when the page goes (job streams, timers).
const LOADERS = {
  members: (api, id) => api.get(`/projects/${id}/members`),
  videos: (api, id) => api.get(`/projects/${id}/videos`),
  tasks: (api, id) => api.get(`/projects/${id}/tasks`),
};

const RANKS = ["annotator", "reviewer", "manager", "owner"];

export function atLeast(role, wanted) {
  return RANKS.indexOf(role) >= RANKS.indexOf(wanted);
}

export class ProjectState {
  constructor(context, project) {
    this.api = context.api;
    this.toast = context.toast;
    this.user = context.user;
    this.project = project;
    this.id = project.id;
    this.role = project.role;
    this.members = [];
    this.videos = [];
    this.tasks = [];
    this.listeners = { members: [], videos: [], tasks: [] };
    this.stoppers = [];
  }

  may(role) {
    return atLeast(this.role, role) || Boolean(this.user && this.user.is_admin);
  }

  on(what, listener) {
    this.listeners[what].push(listener);
  }

  // Reload one list (or all) and tell the listeners.
  async load(...what) {
    const names = what.length ? what : Object.keys(LOADERS);
    await Promise.all(
      names.map(async (name) => {
        if (name === "members" && !this.may("annotator")) return;
        this[name] = await LOADERS[name](this.api, this.id);
        for (const listener of this.listeners[name]) listener(this[name]);
      }),
    );
  }

  whenGone(stop) {
    this.stoppers.push(stop);
  }

  stop() {
    for (const stop of this.stoppers.splice(0)) {
      try {
        stop();
      } catch (error) {
        console.warn(error);
      }
    }
  }
}
