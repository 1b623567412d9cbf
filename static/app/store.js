// The phone's own copy of everything, in IndexedDB (through idb): jobs, the outbox and the
// results of sent actions, photos not yet uploaded, downloaded attachments, settings.
import { openDB } from "./vendor/idb/index.js";

const DB_NAME = "fieldsync";
let dbPromise = null;

export function db() {
  if (!dbPromise) {
    dbPromise = openDB(DB_NAME, 1, {
      upgrade(database) {
        database.createObjectStore("kv");
        database.createObjectStore("jobs", { keyPath: "id" });
        const actions = database.createObjectStore("actions", { keyPath: "id" });
        actions.createIndex("by_job", "job_id");
        actions.createIndex("by_state", "state");
        const files = database.createObjectStore("files", { keyPath: "file_id" });
        files.createIndex("by_job", "job_id");
        database.createObjectStore("downloads", { keyPath: "id" });
        database.createObjectStore("history", { keyPath: "job_id" });
      },
    });
  }
  return dbPromise;
}

export async function get(key) {
  return (await db()).get("kv", key);
}

export async function set(key, value) {
  return (await db()).put("kv", value, key);
}

export async function del(key) {
  return (await db()).delete("kv", key);
}

export async function allJobs() {
  return (await db()).getAll("jobs");
}

export async function job(id) {
  return (await db()).get("jobs", id);
}

export async function actionsOf(jobId) {
  const list = await (await db()).getAllFromIndex("actions", "by_job", jobId);
  return list.sort((a, b) => a.seq - b.seq);
}

export async function allActions() {
  return (await db()).getAll("actions");
}

export async function filesOf(jobId) {
  return (await db()).getAllFromIndex("files", "by_job", jobId);
}

export async function allFiles() {
  return (await db()).getAll("files");
}

// Local data that belongs to one technician: cleared when someone else signs in here.
const PER_TECHNICIAN = ["jobs", "actions", "files", "downloads", "history"];
const PER_TECHNICIAN_KEYS = ["cursor", "fresh", "config", "last_sync", "seqs"];

export async function forgetTechnician() {
  const database = await db();
  const tx = database.transaction([...PER_TECHNICIAN, "kv"], "readwrite");
  for (const name of PER_TECHNICIAN) tx.objectStore(name).clear();
  for (const key of PER_TECHNICIAN_KEYS) tx.objectStore("kv").delete(key);
  await tx.done;
}
