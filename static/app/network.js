// The network as the app sees it: offline, slow (2G/EDGE: text only) or good enough for
// files; and the technician's own "text only" choice.
const SLOW = new Set(["slow-2g", "2g"]);

export function online() {
  return navigator.onLine !== false;
}

/** Return the network class the API knows (see its `network` values). */
export function networkClass() {
  if (!online()) return "offline";
  const c = navigator.connection;
  if (!c) return "unknown";
  if (SLOW.has(c.effectiveType)) return "2g";
  if (c.type === "wifi") return "wifi";
  if (c.effectiveType === "3g") return "3g";
  if (c.effectiveType === "4g") return "lte";
  return "unknown";
}

export function slowNetwork() {
  const c = navigator.connection;
  return Boolean(c && SLOW.has(c.effectiveType));
}

/** Tell whether files (photo uploads, attachment downloads) wait for a better network. */
export function filesWait(textOnly) {
  return Boolean(textOnly) || slowNetwork();
}

/** Call `fn` whenever the network comes back or changes class. */
export function onChange(fn) {
  window.addEventListener("online", () => fn("online"));
  window.addEventListener("offline", () => fn("offline"));
  if (navigator.connection && navigator.connection.addEventListener) {
    navigator.connection.addEventListener("change", () => fn("change"));
  }
}
