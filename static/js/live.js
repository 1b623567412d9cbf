/* Live updates: one Socket.IO connection per page (WebSocket only, so it works behind
   several gunicorn processes without sticky sessions). Pages register handlers with
   Fieldsync.live.on(event, fn) and may follow a job with Fieldsync.live.watchJob(id). */
(function () {
  "use strict";
  var handlers = {};
  var connectHandlers = [];
  var watched = [];
  var socket = null;
  var indicator = null;

  function setState(state) {
    document.documentElement.dataset.live = state;
    if (indicator) {
      indicator.className = "live-dot live-" + state;
      indicator.title = state === "on" ? "Live updates on" : "Live updates reconnecting";
    }
  }

  function connect() {
    if (socket || typeof io === "undefined") return;
    socket = io({ transports: ["websocket"], reconnectionDelayMax: 5000 });
    socket.on("connect", function () {
      setState("on");
      watched.forEach(function (id) { socket.emit("watch_job", { job_id: id }); });
      // Events sent while this page was loading or offline are lost: catch up now.
      connectHandlers.forEach(function (fn) {
        try { fn(); } catch (e) { console.error(e); }
      });
    });
    socket.on("disconnect", function () { setState("off"); });
    socket.onAny(function (event, data) {
      (handlers[event] || []).forEach(function (fn) {
        try { fn(data); } catch (e) { console.error(e); }
      });
    });
  }

  window.Fieldsync = window.Fieldsync || {};
  window.Fieldsync.live = {
    on: function (event, fn) {
      (handlers[event] = handlers[event] || []).push(fn);
      connect();
    },
    /* Call fn on every (re)connection, to refresh what may have changed unseen. */
    onConnect: function (fn) {
      connectHandlers.push(fn);
      connect();
    },
    watchJob: function (id) {
      watched.push(id);
      connect();
      if (socket && socket.connected) socket.emit("watch_job", { job_id: id });
    },
    /* Reload a fragment of the page from the server (same URL) and swap it in. */
    refresh: function (selector) {
      return fetch(window.location.href, { headers: { "X-Requested-With": "live" } })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          document.querySelectorAll(selector).forEach(function (el) {
            var fresh = el.id ? doc.getElementById(el.id) : null;
            if (fresh) el.replaceWith(fresh);
          });
          document.dispatchEvent(new CustomEvent("fieldsync:refreshed", { detail: selector }));
        });
    },
    /* Call fn at most once per `ms` while events keep arriving. */
    debounce: function (fn, ms) {
      var t = null;
      return function () {
        if (t) return;
        t = setTimeout(function () { t = null; fn(); }, ms || 300);
      };
    },
  };

  document.addEventListener("DOMContentLoaded", function () {
    indicator = document.getElementById("live-indicator");
    setState("off");
    connect();
  });
})();
