// The single-page app: a hash router over the views, the header, and messages.
//   #/login                       sign in
//   #/                            projects (dashboard.js)
//   #/projects/P                  one project: videos, tasks, people, pay, export (dashboard.js)
//   #/projects/P/tasks/T          the editor (editor.js); #/projects/P/tasks/T/review to review
// A view module exports mount(root, params, context) and may return a function that unmounts
// it (stops timers, listeners, workers) before the next view comes.

import * as api from "./api.js";

const ROUTES = [
  [/^\/login$/, async () => ({ mount: mountLogin })],
  [/^\/$/, async () => ({ mount: (await import("./dashboard.js")).mountProjects })],
  [/^\/projects\/(\d+)$/, async () => ({ mount: (await import("./dashboard.js")).mountProject })],
  [
    /^\/projects\/(\d+)\/tasks\/(\d+)(\/review)?$/,
    async () => ({ mount: (await import("./editor.js")).mountEditor }),
  ],
];

const context = { user: null, api, toast, navigate };
let unmount = null;
let generation = 0; // counts routes: a view that finishes mounting after the next route began
// is unmounted at once, and it drew into a <main> no longer in the page

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

export function toast(message, kind = "info") {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.dataset.kind = kind;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (box.hidden = true), kind === "error" ? 8000 : 3000);
}

async function route() {
  const path = (location.hash || "#/").slice(1) || "/";
  const mine = ++generation;
  if (unmount) {
    try {
      await unmount();
    } catch (error) {
      console.error(error);
    }
    unmount = null;
  }
  if (!context.user && path !== "/login") {
    context.user = await api.me();
    if (!context.user) {
      sessionStorage.setItem("tweenlab.after", path);
      return navigate("#/login");
    }
  }
  if (mine !== generation) return;
  showUser();
  const root = element("main", { id: "app", "aria-live": "polite" });
  document.getElementById("app").replaceWith(root);
  for (const [pattern, load] of ROUTES) {
    const match = path.match(pattern);
    if (!match) continue;
    try {
      const view = await load();
      const done = (await view.mount(root, match.slice(1), context)) || null;
      if (mine === generation) unmount = done;
      else if (done) await done(); // left while it was mounting
    } catch (error) {
      console.error(error);
      root.replaceChildren(element("p", { class: "error" }, String(error.message || error)));
    }
    return;
  }
  root.replaceChildren(element("p", { class: "error" }, `no page ${path}`));
}

function showUser() {
  const who = document.getElementById("who");
  who.replaceChildren();
  if (!context.user) return;
  const out = element("button", { type: "button", "data-testid": "logout" }, "Sign out");
  out.addEventListener("click", async () => {
    await api.logout();
    context.user = null;
    navigate("#/login");
  });
  who.append(element("span", { "data-testid": "user" }, context.user.email), out);
}

function mountLogin(root) {
  root.className = "narrow";
  const email = element("input", { name: "email", type: "email", autocomplete: "username" });
  const password = element("input", {
    name: "password",
    type: "password",
    autocomplete: "current-password",
  });
  const error = element("p", { class: "error", "data-testid": "login-error" });
  const form = element(
    "form",
    { "data-testid": "login" },
    element("h1", {}, "Sign in"),
    element("label", {}, "E-mail", email),
    element("label", {}, "Password", password),
    element("button", { type: "submit" }, "Sign in"),
    error,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      context.user = await api.login(email.value, password.value);
      const after = sessionStorage.getItem("tweenlab.after") || "/";
      sessionStorage.removeItem("tweenlab.after");
      navigate(`#${after === "/login" ? "/" : after}`);
    } catch (failure) {
      error.textContent = failure instanceof api.ApiError ? api.ApiError.describe(failure.body) : String(failure);
    }
  });
  root.append(form);
  email.focus();
}

// element("div", {class: "x", onclick: f}, child, "text", ...) -> HTMLElement
export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (value === true) {
      node.setAttribute(name, "");
    } else {
      node.setAttribute(name, String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", route);
