// The technician app: boot, screens by URL hash (#/, #/job/12, #/settings), the status bar
// ("3 unsent", "Last synced 10:42"), and the sync triggers: on open, every 2 minutes, on
// coming back online or to a faster network, after each status change, by hand, on a push.
import * as api from "./api.js";
import * as store from "./store.js";
import * as outbox from "./outbox.js";
import { events, refreshHistory, requestSync, syncing } from "./sync.js";
import { clock, el, setZone } from "./format.js";
import { filesWait, onChange, online, slowNetwork } from "./network.js";
import { listView, settingsView, signInView } from "./views.js";
import { jobView } from "./job_view.js";
import * as push from "./push.js";

const SYNC_EVERY_MS = 2 * 60 * 1000;
const script = document.getElementById("app-script");
const main = document.getElementById("main");
const $ = (id) => document.getElementById(id);

const state = { technician: null, config: null, textOnly: false, signIn: null, lastError: "", syncState: "" };
let dirty = false; // a form on the screen has edits not yet saved: do not redraw under it

function deviceId() {
  return store.get("device_id").then(async (id) => {
    if (id) return id;
    const fresh = "web-" + (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2));
    await store.set("device_id", fresh);
    return fresh;
  });
}

function route() {
  const hash = location.hash || "#/";
  const job = hash.match(/^#\/job\/(\d+)/);
  if (job) return { name: "job", id: Number(job[1]) };
  if (hash.startsWith("#/settings")) return { name: "settings" };
  return { name: "list" };
}

async function updateBar() {
  const signedIn = api.hasToken() || Boolean(state.technician && !state.signIn);
  $("status").hidden = !state.technician;
  $("sync-now").hidden = !state.technician;
  const unsent = await outbox.unsentCount();
  $("unsent").textContent = unsent ? `${unsent} unsent` : "All sent";
  $("unsent").className = unsent ? "unsent has-unsent" : "unsent";
  const last = await store.get("last_sync");
  $("last-sync").textContent = last ? `Last synced ${clock(last)}` : "Not synced yet";
  const waiting = (await outbox.waitingFiles()).length;
  let net = "";
  if (!online()) net = "Offline";
  else if (state.textOnly) net = "Text only";
  else if (slowNetwork()) net = "Slow network: text only";
  if (syncing()) net = net ? `${net} · syncing…` : "Syncing…";
  $("net").textContent = net;
  $("net").className = online() ? "net" : "net offline";
  const messages = [];
  if (waiting && filesWait(state.textOnly)) messages.push(`${waiting} photo${waiting === 1 ? "" : "s"} waiting for a better network`);
  if (state.lastError) messages.push(state.lastError);
  $("message").textContent = messages.join(" · ");
  $("message").hidden = !messages.length;
  document.body.dataset.signedIn = signedIn ? "yes" : "no";
}

let renders = 0; // renders started: only the newest may put its view on the screen

async function render() {
  if (dirty) return updateBar();
  const mine = ++renders;
  const r = route();
  let view;
  $("back").hidden = r.name === "list" || !state.technician;
  if (!state.technician || state.signIn) {
    $("title").textContent = "Fieldsync";
    view = signInView({
      ...(state.signIn || {}),
      email: state.technician ? state.technician.email : "",
      unsent: await outbox.unsentCount(),
      onSubmit: signIn,
    });
  } else if (r.name === "job") {
    $("title").textContent = "Job";
    view = await jobView(r.id, {
      config: state.config,
      filesWait: filesWait(state.textOnly),
      act,
      addPhoto,
    });
  } else if (r.name === "settings") {
    $("title").textContent = "Settings";
    view = await settingsView({
      technician: state.technician,
      textOnly: state.textOnly,
      version: api.APP_VERSION,
      onTextOnly: setTextOnly,
      onSignOut: signOut,
    });
  } else {
    $("title").textContent = "My jobs";
    view = await listView(() => requestSync("manual"));
    view.append(el("a", { href: "#/settings", class: "settings-link", text: "Settings" }));
  }
  if (dirty) return updateBar(); // the technician started typing while this was built
  // A newer render started while this one waited on the store (the technician went to
  // another screen, or a sync ended): its view is the right one, this one is stale.
  if (mine !== renders) return;
  main.replaceChildren(view);
  await updateBar();
}

let renderQueued = null;
function rerender() {
  if (!renderQueued) {
    renderQueued = Promise.resolve().then(() => {
      renderQueued = null;
      return render();
    });
  }
  return renderQueued;
}

async function act(jobId, type, payload, { sync = false } = {}) {
  await outbox.record(jobId, type, payload);
  dirty = false;
  await rerender();
  if (sync) requestSync("status change");
}

async function addPhoto(jobId, file) {
  await outbox.addPhoto(jobId, file);
  dirty = false;
  await rerender();
}

async function setTextOnly(value) {
  state.textOnly = value;
  await store.set("text_only", value);
  await rerender();
  if (!value) requestSync("text only off");
}

async function signIn(email, password) {
  try {
    const body = await api.sendJson("POST", "/auth/device", {
      email,
      password,
      device_id: await deviceId(),
      platform: "web",
      app_version: api.APP_VERSION,
    });
    const previous = await store.get("technician");
    if (previous && previous.id !== body.technician.id) {
      const unsent = await outbox.unsentCount();
      const who = previous.name || previous.email;
      if (unsent && !window.confirm(`${unsent} change${unsent === 1 ? "" : "s"} by ${who} not sent yet will be deleted from this phone. Sign in anyway?`)) {
        state.signIn = { ...(state.signIn || {}), error: `Sign in as ${previous.email} to send ${who}'s changes first.` };
        await rerender();
        return;
      }
      await store.forgetTechnician();
    }
    await store.set("token", body.token);
    await store.set("technician", body.technician);
    if (body.timezone) {
      await store.set("timezone", body.timezone);
      setZone(body.timezone);
    }
    api.setToken(body.token);
    await push.forget(); // a new sign-in is a new device token: register the push token again
    state.technician = body.technician;
    state.signIn = null;
    state.config = (await store.get("config")) || null;
    await rerender();
    requestSync("sign-in");
    push.register();
  } catch (e) {
    let error = e.message;
    if (e instanceof api.Offline) error = "No network: signing in needs one.";
    state.signIn = { ...(state.signIn || {}), error };
    await rerender();
  }
}

async function signOut(unsent) {
  if (unsent && !window.confirm(`${unsent} change${unsent === 1 ? " is" : "s are"} not sent yet. They stay on this phone and are sent when you sign in again (someone else signing in here deletes them). Sign out?`)) return;
  await store.del("token");
  api.setToken(null);
  state.signIn = { error: "" };
  location.hash = "#/";
  await rerender();
}

function watchForms() {
  main.addEventListener("input", (event) => {
    if (event.target.closest("form#report, form#note-form")) dirty = true;
  });
  main.addEventListener("submit", () => {
    dirty = false;
  });
}

async function boot() {
  // Ask the browser not to evict the outbox and photos under storage pressure.
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
  if ("serviceWorker" in navigator && script.dataset.sw) {
    navigator.serviceWorker.register(script.dataset.sw, { scope: script.dataset.sw.replace(/sw\.js$/, "") }).catch((e) => console.warn("service worker", e));
    navigator.serviceWorker.addEventListener("message", (event) => {
      const data = event.data || {};
      if (data.type === "sync") requestSync(data.reason || "push");
      if (data.type === "open" && data.job_id) location.hash = `#/job/${data.job_id}`;
    });
  }
  const token = await store.get("token");
  state.technician = (await store.get("technician")) || null;
  state.config = (await store.get("config")) || null;
  state.textOnly = Boolean(await store.get("text_only"));
  setZone(await store.get("timezone"));
  if (token) api.setToken(token);
  else if (state.technician) state.signIn = { error: "" };
  watchForms();

  events.addEventListener("changed", async (event) => {
    const detail = event.detail || {};
    if (detail.state) state.syncState = detail.state;
    if (detail.state === "done") {
      state.lastError = "";
      // How many syncs ended well since the app opened (tests wait on it).
      document.body.dataset.syncs = String(Number(document.body.dataset.syncs || 0) + 1);
      const r = route();
      if (r.name === "job") refreshHistory(r.id); // the open job's history may have grown
    }
    if (detail.state === "error") state.lastError = `Sync failed: ${detail.error}. It will try again.`;
    state.config = (await store.get("config")) || state.config;
    setZone(await store.get("timezone"));
    await rerender();
  });
  events.addEventListener("signin-needed", async (event) => {
    const expired = Boolean(event.detail && event.detail.expired);
    if (state.signIn && !expired) return; // already asking (perhaps saying why): keep it
    state.signIn = { expired, error: "" };
    dirty = false;
    await rerender();
  });
  window.addEventListener("hashchange", async () => {
    dirty = false;
    await rerender();
    const r = route();
    if (r.name === "job") refreshHistory(r.id);
  });
  $("sync-now").addEventListener("click", () => requestSync("manual"));
  $("back").addEventListener("click", () => {
    location.hash = "#/";
  });
  onChange((what) => {
    rerender();
    if (what !== "offline") requestSync(what === "online" ? "online" : "network");
  });
  setInterval(() => requestSync("timer"), SYNC_EVERY_MS);
  // Coming back to the app (from the home screen or another app) counts as opening it.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") requestSync("open");
  });
  await rerender();
  if (api.hasToken()) {
    push.register();
    await requestSync("open");
    const r = route();
    if (r.name === "job") refreshHistory(r.id);
  }
}

boot().catch((e) => {
  console.error(e);
  main.replaceChildren(el("p", { class: "error", text: `The app could not start: ${e.message}` }));
});
