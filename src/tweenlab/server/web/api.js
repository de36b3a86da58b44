// The REST API as the pages see it: JSON in and out, the browser session's cookie, and the
// CSRF token every unsafe request carries (from the sign-in answer, or /api/auth/me after a
// reload). Errors become ApiError with the status and the server's JSON body.

const CSRF_KEY = "tweenlab.csrf";

export class ApiError extends Error {
  constructor(status, body, method, path) {
    super(`${method} ${path}: ${status} ${ApiError.describe(body)}`);
    this.status = status;
    this.body = body;
  }

  // The server answers {"detail": "..."} or {"detail": [{"loc": [...], "msg": "..."}]}.
  static describe(body) {
    if (!body || body.detail === undefined) return typeof body === "string" ? body : "";
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) {
      return body.detail.map((e) => `${(e.loc || []).join(".")}: ${e.msg}`).join("; ");
    }
    return JSON.stringify(body.detail);
  }
}

let csrf = sessionStorage.getItem(CSRF_KEY);

function rememberCsrf(token) {
  csrf = token || null;
  if (csrf) sessionStorage.setItem(CSRF_KEY, csrf);
  else sessionStorage.removeItem(CSRF_KEY);
}

// request("PUT", "/projects/1/...", {json, headers, raw}) -> parsed JSON (or the Response
// when raw is set). Paths are under /api.
export async function request(method, path, options = {}) {
  const headers = { ...(options.headers || {}) };
  let body = options.body;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.json);
  }
  if (!["GET", "HEAD"].includes(method) && csrf) headers["X-CSRF-Token"] = csrf;
  const response = await fetch(`/api${path}`, {
    method,
    headers,
    body,
    credentials: "same-origin",
    signal: options.signal,
  });
  if (options.raw && response.ok) return response;
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new ApiError(response.status, data, method, path);
  return data;
}

export const get = (path, options) => request("GET", path, options);
export const post = (path, json, options = {}) => request("POST", path, { ...options, json });
export const put = (path, json, options = {}) => request("PUT", path, { ...options, json });
export const patch = (path, json, options = {}) => request("PATCH", path, { ...options, json });
export const del = (path, options) => request("DELETE", path, options);

export async function login(email, password) {
  const answer = await post("/auth/login", { email, password });
  rememberCsrf(answer.csrf_token);
  return answer.user;
}

export async function logout() {
  try {
    await request("POST", "/auth/logout");
  } finally {
    rememberCsrf(null);
  }
}

// The signed-in user, or null.
export async function me() {
  try {
    const answer = await get("/auth/me");
    if (answer.csrf_token) rememberCsrf(answer.csrf_token);
    return answer.user;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}
