// The admin API as the console uses it: the token lives in this tab's sessionStorage and is sent as a
// bearer token; without one the browser's admin client certificate (if any) authenticates the calls.

const TOKEN_KEY = 'attestmesh.token';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(t) {
  if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY);
}

export function authHeaders() {
  const t = token();
  return t ? { Authorization: 'Bearer ' + t } : {};
}

let onUnauthenticated = () => {};
export function whenUnauthenticated(f) { onUnauthenticated = f; }

/** Calls the API; answers {body, headers}; throws ApiError with the server's message. */
export async function call(method, path, body, contentType) {
  const headers = Object.assign({ Accept: 'application/json' }, authHeaders());
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = contentType || 'application/json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const r = await fetch(path, init);
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
  if (!r.ok) {
    if (r.status === 401) onUnauthenticated();
    const problems = json && Array.isArray(json.problems) && json.problems.length ? ': ' + json.problems.join('; ') : '';
    throw new ApiError(r.status, (json && json.error ? json.error : r.status + ' ' + r.statusText) + problems);
  }
  return { body: json, headers: r.headers };
}

export async function get(path) {
  return (await call('GET', path)).body;
}
