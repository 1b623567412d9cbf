/* The technician app's service worker: keeps the app shell for offline use and turns a
   push ("sync now") into a sync. Device API calls are never cached here: the page stores
   what it needs in IndexedDB. */
const BUILD = {{ build|tojson }};
const CACHE = "fieldsync-app-" + BUILD;
const SHELL = {{ shell_urls|tojson }};
const SHELL_PAGE = SHELL[0];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(
          names
            .filter((name) => name.startsWith("fieldsync-app-") && name !== CACHE)
            .map((name) => caches.delete(name))
        )
      )
      .then(() => self.clients.claim())
  );
});

function isShellRequest(request) {
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || request.method !== "GET") return false;
  if (request.mode === "navigate") return url.pathname.startsWith(SHELL_PAGE);
  return SHELL.includes(url.pathname);
}

self.addEventListener("fetch", (event) => {
  if (!isShellRequest(event.request)) return; // the API and everything else: the network
  const navigate = event.request.mode === "navigate";
  // The shell from the cache first (the app opens at once, with or without a network);
  // the network refreshes the cache for the next start.
  event.respondWith(
    caches.open(CACHE).then(async (cache) => {
      const key = navigate ? SHELL_PAGE : event.request;
      const cached = await cache.match(key, { ignoreSearch: true });
      const fresh = fetch(event.request)
        .then((response) => {
          if (response.ok && !navigate) cache.put(event.request, response.clone());
          return response;
        })
        .catch(() => null);
      if (cached) {
        event.waitUntil(fresh);
        return cached;
      }
      return (await fresh) || Response.error();
    })
  );
});

async function tellClients(message) {
  const clients = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  clients.forEach((client) => client.postMessage(message));
  return clients.length;
}

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (e) {
    data = {};
  }
  const payload = data.data || data;
  event.waitUntil(
    tellClients({ type: "sync", reason: "push", job_id: payload.job_id || null }).then(
      (open) => {
        const note = data.notification || {};
        if (open && !note.title) return undefined;
        return self.registration.showNotification(note.title || "Fieldsync", {
          body: note.body || "Your jobs changed.",
          tag: "job-" + (payload.job_id || "all"),
          data: { job_id: payload.job_id || null },
        });
      }
    )
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const jobId = (event.notification.data || {}).job_id;
  const target = SHELL_PAGE + (jobId ? "#/job/" + jobId : "");
  event.waitUntil(
    self.clients.matchAll({ type: "window" }).then((clients) => {
      const open = clients.find((c) => new URL(c.url).pathname.startsWith(SHELL_PAGE));
      if (open) {
        open.postMessage({ type: "open", job_id: jobId, reason: "push" });
        return open.focus();
      }
      return self.clients.openWindow(target);
    })
  );
});
