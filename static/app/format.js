// Times as the technician reads them: in the company's time zone (the API speaks UTC).
let zone = "UTC";

export function setZone(name) {
  if (!name) return;
  try {
    new Intl.DateTimeFormat("en", { timeZone: name });
    zone = name;
  } catch (e) {
    zone = "UTC";
  }
}

export function currentZone() {
  return zone;
}

function parts(date, options) {
  return new Intl.DateTimeFormat(undefined, { timeZone: zone, ...options }).format(date);
}

/** Return the company-local calendar day of a time, as YYYY-MM-DD. */
export function localDay(date) {
  return new Intl.DateTimeFormat("en-CA", {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).format(date);
}

/** "10:42" in the company's zone (the clock of the phone's language). */
export function clock(iso) {
  if (!iso) return "";
  return parts(new Date(iso), { hour: "2-digit", minute: "2-digit" });
}

/** "Today 9:00 – 11:00", "Tomorrow 8:00", "Mon 3 Jun 9:00". */
export function when(startIso, endIso) {
  if (!startIso) return "No time set";
  const start = new Date(startIso);
  const today = localDay(new Date());
  const tomorrow = localDay(new Date(Date.now() + 86400000));
  const day = localDay(start);
  let label;
  if (day === today) label = "Today";
  else if (day === tomorrow) label = "Tomorrow";
  else label = parts(start, { weekday: "short", day: "numeric", month: "short" });
  let text = `${label} ${clock(startIso)}`;
  if (endIso) text += ` – ${clock(endIso)}`;
  return text;
}

export function dateTime(iso) {
  if (!iso) return "";
  return parts(new Date(iso), {
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
  });
}

export const STATUS_LABELS = {
  new: "New",
  assigned: "Assigned",
  en_route: "On the way",
  started: "Started",
  paused: "Paused",
  finished: "Finished",
  cancelled: "Cancelled",
};

// What the button that moves a job to a status says.
export const STATUS_ACTIONS = {
  en_route: "On my way",
  started: "Start",
  paused: "Pause",
  finished: "Finish",
  assigned: "Back to assigned",
  cancelled: "Cancel",
};

export function statusLabel(status) {
  return STATUS_LABELS[status] || status;
}

export function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Create an element: el("p", {class: "x"}, "text", child...). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (v === true) node.setAttribute(k, "");
    else node.setAttribute(k, v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
