// One sync, as the reference client does it: photos first (good networks only, so a
// photo_added action finds its file), then the outbox in batches, then pull until up to
// date. A 410 cursor_expired (or a cursor this server does not know) starts over from no
// cursor and drops the jobs the fresh list no longer has; a 401 asks for a new sign-in and
// keeps everything unsent.
import * as api from "./api.js";
import * as outbox from "./outbox.js";
import * as store from "./store.js";
import { filesWait, networkClass, online } from "./network.js";

const BATCH = 100;
const CHUNK = 256 * 1024; // attachment bytes per ranged request: a cut download resumes
export const events = new EventTarget();

let running = null;
let again = false;

function changed(detail = {}) {
  events.dispatchEvent(new CustomEvent("changed", { detail }));
}

/** Sync now, or once more right after the sync under way; resolve when done. */
export function requestSync(reason = "manual") {
  if (running) {
    again = true;
    return running;
  }
  running = (async () => {
    do {
      again = false;
      await syncOnce(reason);
    } while (again);
  })().finally(() => {
    running = null;
  });
  return running;
}

export function syncing() {
  return Boolean(running);
}

async function syncOnce(reason) {
  if (!online()) {
    changed({ state: "offline" });
    return;
  }
  if (!api.hasToken()) {
    events.dispatchEvent(new CustomEvent("signin-needed"));
    return;
  }
  changed({ state: "syncing", reason });
  try {
    const textOnly = await store.get("text_only");
    if (!filesWait(textOnly)) await uploadFiles();
    await uploadActions();
    await pullAll();
    await store.set("last_sync", new Date().toISOString());
    await outbox.prune();
    await refreshConfig();
    if (!filesWait(textOnly)) await downloadAttachments();
    changed({ state: "done" });
  } catch (e) {
    if (e instanceof api.SignedOut) {
      await store.del("token");
      events.dispatchEvent(new CustomEvent("signin-needed", { detail: { expired: true } }));
      changed({ state: "signed-out" });
    } else if (e instanceof api.Offline) {
      changed({ state: "offline", error: e.message });
    } else {
      console.warn("sync failed", e);
      changed({ state: "error", error: e.message });
    }
  }
}

async function uploadFiles() {
  for (const file of await outbox.waitingFiles()) {
    if (filesWait(await store.get("text_only"))) return; // the network got slow meanwhile
    const form = new FormData();
    form.set("job_id", String(file.job_id));
    form.set("file_id", file.file_id);
    form.set("sha256", file.sha256);
    form.set("file", file.blob, file.name);
    let state = "sent";
    try {
      await api.request("POST", "/files", { form, timeout: 120000 });
    } catch (e) {
      if (!(e instanceof api.ApiError) || e.status === 429 || e.status >= 500) throw e;
      state = "refused"; // refused for good (job gone, not allowed): stop retrying it
    }
    const database = await store.db();
    const current = await database.get("files", file.file_id);
    if (current) await database.put("files", { ...current, state, error: state });
    changed();
  }
}

async function uploadActions() {
  for (;;) {
    const batch = (await outbox.unsentActions()).slice(0, BATCH);
    if (!batch.length) return;
    const remaining = (await outbox.unsentCount()) - batch.length;
    const body = await api.sendJson("POST", "/sync/push", {
      actions: batch.map(({ id, job_id, seq, type, payload, created_at }) => ({
        id,
        job_id,
        seq,
        type,
        payload,
        created_at,
      })),
      unsent_count: Math.max(0, remaining),
      network: networkClass(),
    });
    await outbox.markAnswered(body.results);
    changed();
  }
}

async function pullAll() {
  let cursor = (await store.get("cursor")) || null;
  let fresh = cursor ? (await store.get("fresh")) || null : [];
  for (;;) {
    let body;
    try {
      body = await api.getJson("/sync/pull", {
        query: { cursor, unsent_count: await outbox.unsentCount(), network: networkClass() },
      });
    } catch (e) {
      const expired = e instanceof api.ApiError && (e.status === 410 || (e.status === 400 && cursor));
      if (!expired) throw e;
      // Older than the history kept (or not this server's): sync again from the start.
      cursor = null;
      fresh = [];
      await store.set("fresh", fresh);
      await store.del("cursor");
      continue;
    }
    const database = await store.db();
    const tx = database.transaction(["jobs", "actions", "kv", "history"], "readwrite");
    const jobs = tx.objectStore("jobs");
    for (const doc of body.jobs) {
      jobs.put(doc);
      if (fresh) fresh.push(doc.id);
    }
    for (const id of body.removed) {
      jobs.delete(id);
      tx.objectStore("history").delete(id);
      if (fresh) fresh = fresh.filter((x) => x !== id);
    }
    await outbox.applyResults(tx.objectStore("actions"), body.action_results);
    if (!cursor) {
      // A first page from no cursor lists every action of this device not finished yet:
      // the others that the phone still waits on were finished while it was not listening.
      await outbox.settleUnlisted(tx.objectStore("actions"), body.action_results);
    }
    if (!body.has_more && fresh) {
      const keep = new Set(fresh);
      for (const id of await jobs.getAllKeys()) if (!keep.has(id)) jobs.delete(id);
      fresh = null;
    }
    const kv = tx.objectStore("kv");
    kv.put(body.cursor, "cursor");
    if (fresh) kv.put(fresh, "fresh");
    else kv.delete("fresh");
    if (body.timezone) kv.put(body.timezone, "timezone");
    await tx.done;
    cursor = body.cursor;
    changed();
    if (!body.has_more) return;
  }
}

async function refreshConfig() {
  const config = await api.getJson("/device/config");
  await store.set("config", config);
  await store.set("timezone", config.timezone);
}

/** Fetch one job's history (online only); keep it for offline use. */
export async function refreshHistory(jobId) {
  if (!online() || !api.hasToken()) return;
  try {
    const body = await api.getJson(`/jobs/${jobId}/history`);
    await (await store.db()).put("history", { job_id: jobId, entries: body.history });
    changed({ job: jobId });
  } catch (e) {
    if (!(e instanceof api.Offline) && !(e instanceof api.ApiError)) throw e;
  }
}

async function downloadAttachments() {
  const database = await store.db();
  for (const job of await store.allJobs()) {
    for (const meta of job.attachments || []) {
      const have = (await database.get("downloads", meta.id)) || {
        id: meta.id,
        job_id: job.id,
        name: meta.name,
        content_type: meta.content_type,
        size: meta.size,
        sha256: meta.sha256,
        chunks: [],
        received: 0,
      };
      if (have.sha256 !== meta.sha256) Object.assign(have, { chunks: [], received: 0, sha256: meta.sha256 });
      while (have.received < meta.size) {
        if (filesWait(await store.get("text_only"))) return;
        const end = Math.min(have.received + CHUNK, meta.size) - 1;
        const response = await api.request("GET", `/files/${meta.id}`, {
          headers: { Range: `bytes=${have.received}-${end}` },
          timeout: 120000,
        });
        const blob = await response.blob();
        if (response.status === 200) {
          have.chunks = [blob]; // the server sent the whole file
          have.received = blob.size;
        } else {
          have.chunks.push(blob);
          have.received += blob.size;
        }
        await database.put("downloads", have); // a cut download goes on from here
      }
      if (have.received >= meta.size && !have.done) {
        have.blob = new Blob(have.chunks, { type: meta.content_type });
        have.chunks = [];
        have.done = true;
        await database.put("downloads", have);
        changed({ job: job.id });
      }
    }
  }
}
