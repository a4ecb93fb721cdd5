// A small client of phoned's JSON API: errors carry the server's message
// (and the field at fault); a 401 on a session route tells the app the
// session has ended.
export class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.status = status;
    this.field = field;
  }
}

let onUnauthorized = null;

// setUnauthorizedHandler registers what to do when a request answers 401
// (except the login itself and /api/me, which the app reads itself).
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export async function api(method, path, body) {
  const init = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, "phoned cannot be reached: check the network");
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    if (res.status === 401 && onUnauthorized && path !== "/api/login" && path !== "/api/me") onUnauthorized();
    throw new ApiError(res.status, (data && data.error) || `${method} ${path}: ${res.status}`, data && data.field);
  }
  return data;
}

// q builds a query string from an object, skipping empty values.
export function q(params) {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") s.set(k, v);
  const t = s.toString();
  return t ? "?" + t : "";
}
