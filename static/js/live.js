/* Live updates: one Socket.IO connection per page (WebSocket only, so it works behind
   several gunicorn processes without sticky sessions). Pages register handlers with
   Fieldsync.live.on(event, fn) and may follow a job with Fieldsync.live.watchJob(id).

   A refresh fetches the page again and morphs the fresh HTML into the named parts with
   idiomorph (static/js/vendor), so nothing a person is doing is lost:
   - a field someone typed in keeps its value; when the server's value under it changed
     meanwhile, a note next to it says who changed it and to what ("— review");
   - focus and the caret stay where they were; open <details> stay open (closed stay closed);
   - a form marked data-keep (it shows why it was not saved) is left alone;
   - flash messages live outside the refreshed parts, and the server does not consume them
     for a live request (portal/templating.py). */
(function () {
  "use strict";
  var handlers = {};
  var connectHandlers = [];
  var watched = [];
  var socket = null;
  var indicator = null;
  var typed = new WeakSet(); // fields the person has typed in or picked from
  var serverValue = new WeakMap(); // a typed field's value on the server, as last seen

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

  function isField(node) {
    if (node instanceof HTMLInputElement) return node.type !== "hidden" && node.type !== "submit";
    return node instanceof HTMLSelectElement || node instanceof HTMLTextAreaElement;
  }

  /* What the server's HTML says a field holds (its default), comparable across renders. */
  function defaultOf(field) {
    if (field instanceof HTMLSelectElement) {
      var picked = Array.prototype.filter.call(field.options, function (o) {
        return o.defaultSelected;
      });
      return picked.map(function (o) { return o.value; }).join("\n");
    }
    if (field.type === "checkbox" || field.type === "radio") return field.defaultChecked ? "on" : "";
    return field.defaultValue;
  }

  /* What a field shows now, to compare with the server's value. */
  function currentOf(field) {
    if (field instanceof HTMLSelectElement) {
      return Array.prototype.filter.call(field.options, function (o) { return o.selected; })
        .map(function (o) { return o.value; }).join("\n");
    }
    if (field.type === "checkbox" || field.type === "radio") return field.checked ? "on" : "";
    return field.value;
  }

  function shown(field) {
    if (field instanceof HTMLSelectElement) {
      var opts = Array.prototype.filter.call(field.options, function (o) { return o.defaultSelected; });
      if (!opts.length && field.options.length) opts = [field.options[0]];
      return opts.map(function (o) { return o.textContent.trim(); }).join(", ");
    }
    if (field.type === "checkbox" || field.type === "radio") return field.defaultChecked ? "ticked" : "not ticked";
    return field.defaultValue;
  }

  /* Someone changed the record under a field this person typed in: keep their value, say so. */
  function noteChange(field, fresh, who) {
    var before = serverValue.has(field) ? serverValue.get(field) : defaultOf(field);
    var now = defaultOf(fresh);
    serverValue.set(field, now);
    if (before === now) return;
    var holder = field.closest("label") || field;
    var note = holder.nextElementSibling;
    if (!(note && note.classList.contains("live-changed"))) {
      note = document.createElement("p");
      note.className = "live-changed";
      note.setAttribute("role", "status");
      holder.insertAdjacentElement("afterend", note);
    }
    if (currentOf(field) === now) {
      note.remove(); // they typed what the other person saved: nothing to review
      return;
    }
    var value = shown(fresh);
    note.textContent = "Changed by " + (who || "someone else") + " to “" +
      (value === "" ? "(empty)" : value) + "” while you were typing — review before saving.";
  }

  function morph(target, fresh, who) {
    Idiomorph.morph(target, fresh, {
      morphStyle: "outerHTML",
      ignoreActiveValue: true,
      restoreFocus: true,
      callbacks: {
        beforeNodeMorphed: function (old, next) {
          if (old.nodeType !== 1) return true;
          if (old.hasAttribute("data-keep")) return false; // shows why it was not saved
          if (isField(old) && typed.has(old)) {
            noteChange(old, next, who);
            return false;
          }
          return true;
        },
        beforeAttributeUpdated: function (name, el) {
          // Open or closed is the person's choice, not the server's.
          return !(name === "open" && el.tagName === "DETAILS");
        },
        beforeNodeRemoved: function (node) {
          return !(node.nodeType === 1 && node.classList.contains("live-changed"));
        },
      },
    });
  }

  document.addEventListener("input", function (e) { if (isField(e.target)) typed.add(e.target); }, true);
  document.addEventListener("change", function (e) { if (isField(e.target)) typed.add(e.target); }, true);

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
    /* Fetch the page again (same URL) and morph the parts `selector` names into this one. */
    refresh: function (selector) {
      return fetch(window.location.href, { headers: { "X-Requested-With": "live" } })
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) {
          if (!html) return;
          var doc = new DOMParser().parseFromString(html, "text/html");
          var by = doc.querySelector("[data-changed-by]");
          var who = by ? by.getAttribute("data-changed-by") : "";
          document.querySelectorAll(selector).forEach(function (el) {
            var fresh = el.id ? doc.getElementById(el.id) : null;
            if (fresh) morph(el, fresh, who);
          });
          // Counted, so that anyone (a test, a page script) can wait for a refresh to land.
          var root = document.documentElement;
          root.dataset.refreshes = String(Number(root.dataset.refreshes || 0) + 1);
          document.dispatchEvent(new CustomEvent("fieldsync:refreshed", { detail: selector }));
        });
    },
    /* The Socket.IO connection (null before the first handler asks for one). */
    socket: function () { return socket; },
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
