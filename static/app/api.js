// Calls to the device API (/api/v1) with the device's token. Every failure is one of:
// Offline (no answer at all), SignedOut (401), or ApiError (any other non-2xx).
const script = document.getElementById("app-script");
export const API = (script && script.dataset.api) || "/api/v1";
export const APP_VERSION = (script && script.dataset.version) || "1.0";

export class Offline extends Error {}
export class SignedOut extends Error {}
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `The server answered ${status}.`);
    this.status = status;
    this.body = body || {};
  }
}

let token = null;

export function setToken(value) {
  token = value;
}

export function hasToken() {
  return Boolean(token);
}

/** Send one request; return the Response of a 2xx, throw otherwise. */
export async function request(method, path, { json, form, query, headers, timeout = 30000 } = {}) {
  let url = API + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== null && v !== undefined) params.set(k, v);
    const qs = params.toString();
    if (qs) url += "?" + qs;
  }
  const init = { method, headers: { ...(headers || {}) }, cache: "no-store" };
  if (token) init.headers.Authorization = "Bearer " + token;
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (form) {
    init.body = form;
  }
  if (AbortSignal.timeout) init.signal = AbortSignal.timeout(timeout);
  let response;
  try {
    response = await fetch(url, init);
  } catch (e) {
    throw new Offline(e && e.name === "TimeoutError" ? "The server took too long." : "No network.");
  }
  if (response.ok || response.status === 304) return response;
  let body = null;
  try {
    body = await response.json();
  } catch (e) {
    body = null;
  }
  if (response.status === 401 && path !== "/auth/device") {
    token = null;
    throw new SignedOut((body && body.message) || "Signed out.");
  }
  throw new ApiError(response.status, body);
}

export async function getJson(path, options) {
  return (await request("GET", path, options)).json();
}

export async function sendJson(method, path, json, options = {}) {
  return (await request(method, path, { ...options, json })).json();
}
