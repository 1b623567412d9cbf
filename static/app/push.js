// Web push: where the deployment set it up (README, "Web push"), get this browser's FCM
// registration token from its provider module and register it with the server, once per
// sign-in and again whenever the token changes. Without it the app still syncs on every
// other trigger.
import * as api from "./api.js";
import * as store from "./store.js";

const script = document.getElementById("app-script");

export function configured() {
  return Boolean(script && script.dataset.push);
}

/** Register the push token if there is one and the server does not have it yet. */
export async function register() {
  if (!configured() || !api.hasToken()) return;
  try {
    const provider = await import(script.dataset.push);
    const registration = "serviceWorker" in navigator ? await navigator.serviceWorker.getRegistration() : undefined;
    const token = await provider.getToken(registration);
    if (!token || token === (await store.get("push_token"))) return;
    await api.sendJson("PUT", "/device/push-token", { push_token: token });
    await store.set("push_token", token);
  } catch (e) {
    console.warn("push registration failed; syncing without pushes", e);
  }
}

/** Forget the registered token: a new sign-in registers it again. */
export async function forget() {
  await store.del("push_token");
}
