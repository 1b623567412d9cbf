/* Form behaviour every page shares, without inline handlers (the pages' CSP refuses those):
   - <form data-confirm="Question?">: ask before sending;
   - <form data-confirm-unassign="Question?">: ask before sending it with no technician picked,
     and tell the server it was confirmed;
   - <input data-autosubmit>: send the form as soon as the value changes;
   - a form that could not be taken (signed out, expired) gets what was typed back: the
     server hands it to the next page as <script type="application/json" id="form-draft">. */
(function () {
  "use strict";
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.dataset) return;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      e.preventDefault();
      return;
    }
    var ask = form.dataset.confirmUnassign;
    var picked = form.elements.assignee ? form.elements.assignee.value : null;
    if (ask && (picked === "" || picked === "None")) {
      if (!window.confirm(ask)) e.preventDefault();
      else if (form.elements.confirm_unassign) form.elements.confirm_unassign.value = "1";
    }
  }, true);

  document.addEventListener("change", function (e) {
    var field = e.target;
    if (field && field.dataset && "autosubmit" in field.dataset && field.form) {
      field.form.submit();
    }
  });

  function restore(form, values) {
    var seen = {};
    values.forEach(function (pair) {
      var name = pair[0], value = pair[1];
      var fields = form.querySelectorAll("[name='" + name.replace(/'/g, "\\'") + "']");
      fields.forEach(function (field) {
        if (field.type === "file" || field.type === "submit") return;
        if (field.type === "checkbox" || field.type === "radio") {
          if (!seen[name]) fields.forEach(function (f) { f.checked = false; });
          if (field.value === value) field.checked = true;
        } else {
          field.value = value;
        }
        // Typed values: a live refresh keeps them (static/js/live.js).
        field.dispatchEvent(new Event("input", { bubbles: true }));
      });
      seen[name] = true;
    });
    var details = form.closest("details");
    if (details) details.open = true;
    var note = document.createElement("p");
    note.className = "flash flash-warning draft-note";
    note.setAttribute("role", "status");
    note.textContent = "What you typed before is back in this form: check it and send it again.";
    form.insertAdjacentElement("afterbegin", note);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var holder = document.getElementById("form-draft");
    if (!holder) return;
    var draft;
    try { draft = JSON.parse(holder.textContent); } catch (err) { return; }
    if (!draft || !draft.action || !draft.values) return;
    Array.prototype.forEach.call(document.forms, function (form) {
      if (new URL(form.action, window.location.href).pathname === draft.action) {
        restore(form, draft.values);
      }
    });
  });
})();
