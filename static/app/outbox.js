// The outbox: everything the technician does becomes an action with a client UUID and the
// job's next seq (1, 2, 3... per job on this device), kept until the server has answered.
// The job as the phone shows it is the server's copy with the not-yet-applied actions on top.
import { db } from "./store.js";

// States of an action on the phone: "unsent" (in the outbox), then the upload's answer
// (accepted, duplicate, rejected), then the inbox's outcome from a later pull.
export const IN_FLIGHT = new Set(["unsent", "accepted", "duplicate", "queued", "processing"]);
const UPLOADED = new Set(["accepted", "duplicate", "queued", "processing"]);

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Record one action (and the photo it refers to) in one transaction; return it. */
export async function record(jobId, type, payload, photo = null) {
  const database = await db();
  const tx = database.transaction(["kv", "actions", "files"], "readwrite");
  const kv = tx.objectStore("kv");
  const seqs = (await kv.get("seqs")) || {};
  const seq = (seqs[jobId] || 0) + 1;
  seqs[jobId] = seq;
  const action = {
    id: uuid(),
    job_id: jobId,
    seq,
    type,
    payload,
    created_at: new Date().toISOString(),
    state: "unsent",
  };
  kv.put(seqs, "seqs");
  tx.objectStore("actions").put(action);
  if (photo) tx.objectStore("files").put({ ...photo, job_id: jobId, state: "waiting" });
  await tx.done;
  return action;
}

/** Keep a photo: its bytes wait on the phone, its photo_added action goes in the outbox. */
export async function addPhoto(jobId, file) {
  const body = await file.arrayBuffer();
  const digest = await crypto.subtle.digest("SHA-256", body);
  const sha256 = [...new Uint8Array(digest)].map((x) => x.toString(16).padStart(2, "0")).join("");
  const fileId = "f-" + uuid().replace(/-/g, "");
  const contentType = file.type || "image/jpeg";
  const ext = contentType === "image/png" ? "png" : "jpg";
  const photo = {
    file_id: fileId,
    blob: new Blob([body], { type: contentType }),
    name: file.name || `${fileId}.${ext}`,
    content_type: contentType,
    sha256,
    size: body.byteLength,
    taken_at: new Date().toISOString(),
  };
  return record(jobId, "photo_added", { file_id: fileId }, photo);
}

/** Return the actions waiting to be uploaded, in the order they were made. */
export async function unsentActions() {
  const list = await (await db()).getAllFromIndex("actions", "by_state", "unsent");
  return list.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.seq - b.seq);
}

/** Return the photos whose bytes are still on the phone. */
export async function waitingFiles() {
  return (await (await db()).getAll("files")).filter((f) => f.state === "waiting");
}

/** Count what is not safely on the server yet: unsent actions, and photos not uploaded
    whose action already went (a photo and its action count once). */
export async function unsentCount() {
  const actions = await unsentActions();
  const files = await waitingFiles();
  const pendingActions = new Set(
    actions.filter((a) => a.type === "photo_added").map((a) => a.payload.file_id)
  );
  return actions.length + files.filter((f) => !pendingActions.has(f.file_id)).length;
}

/** Store the upload's answers: every answered action leaves the outbox. */
export async function markAnswered(results) {
  const database = await db();
  const tx = database.transaction("actions", "readwrite");
  for (const result of results) {
    if (!result.id) continue;
    const action = await tx.store.get(result.id);
    if (!action || action.state !== "unsent") continue;
    action.state = result.state;
    action.answered_at = new Date().toISOString();
    if (result.state === "rejected") {
      action.error = result.error || "rejected";
      action.message = result.message || "";
    }
    tx.store.put(action);
  }
  await tx.done;
}

/** Apply the inbox's outcomes (action_results of a pull) to the actions they belong to. */
export function applyResults(store, results) {
  return Promise.all(
    results.map(async (result) => {
      const action = await store.get(result.id);
      if (!action || action.state === "unsent" || action.state === "rejected") return;
      action.state = result.state;
      action.category = result.category || null;
      action.message = result.message || "";
      action.updated_at = result.updated_at;
      store.put(action);
    })
  );
}

/** Mark uploaded actions that a fresh sync's open list leaves out as done. */
export async function settleUnlisted(store, results) {
  const listed = new Set(results.map((r) => r.id));
  for (const action of await store.getAll()) {
    if (UPLOADED.has(action.state) && !listed.has(action.id)) {
      action.state = "completed";
      store.put(action);
    }
  }
}

// Finished actions and sent photos are kept this long for the job page, then dropped.
const KEEP_MS = 7 * 24 * 3600 * 1000;

/** Drop finished actions and sent photos older than a week, and those of jobs gone. */
export async function prune() {
  const database = await db();
  const jobs = new Set(await database.getAllKeys("jobs"));
  const cutoff = new Date(Date.now() - KEEP_MS).toISOString();
  const tx = database.transaction(["actions", "files"], "readwrite");
  for (const action of await tx.objectStore("actions").getAll()) {
    const finished = !IN_FLIGHT.has(action.state);
    if (finished && (action.created_at < cutoff || !jobs.has(action.job_id))) {
      tx.objectStore("actions").delete(action.id);
    }
  }
  for (const file of await tx.objectStore("files").getAll()) {
    if (file.state !== "waiting" && (file.taken_at < cutoff || !jobs.has(file.job_id))) {
      tx.objectStore("files").delete(file.file_id);
    }
  }
  await tx.done;
}

/** Return the job as the phone shows it: the server's copy plus what is not applied yet. */
export function overlay(doc, actions) {
  const view = { ...doc, report: { ...(doc.report || {}) }, pendingStatus: null };
  for (const action of actions) {
    if (!IN_FLIGHT.has(action.state)) continue;
    if (action.type === "status_change") {
      view.status = action.payload.to;
      view.pendingStatus = action.payload.to;
    } else if (action.type === "report_update") {
      Object.assign(view.report, action.payload.fields || {});
    }
  }
  return view;
}

export function uploaded(action) {
  return UPLOADED.has(action.state);
}
