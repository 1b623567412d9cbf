// The job page: details, status buttons (configured transitions and this technician's
// rights), the report form (configured fields, required-for rules), notes, photos,
// attachments, what happened to each change, and the job's history.
import * as store from "./store.js";
import * as outbox from "./outbox.js";
import { STATUS_ACTIONS, dateTime, el, size, statusLabel, when } from "./format.js";

const TYPE_LABELS = { status_change: "Status change", report_update: "Report", photo_added: "Photo", note: "Note" };

function describe(action) {
  if (action.type === "status_change") return `Status → ${statusLabel(action.payload.to)}`;
  if (action.type === "report_update") return `Report: ${Object.keys(action.payload.fields || {}).join(", ")}`;
  if (action.type === "note") return `Note: “${action.payload.text}”`;
  return TYPE_LABELS[action.type] || action.type;
}

/** Say what became of an action, in plain words. */
export function outcome(action) {
  switch (action.state) {
    case "unsent":
      return "Not sent yet";
    case "accepted":
    case "duplicate":
    case "queued":
    case "processing":
      return "Sent; the office is taking it in";
    case "completed":
      return "Done";
    case "discarded":
      return "The office set this aside";
    case "rejected":
      return `Not accepted: ${action.message || "the server refused it"}`;
    case "failed":
      return `Not accepted: ${action.message || "it could not be applied"} The office will fix it; you need not do anything.`;
    default:
      return action.state;
  }
}

function allowedTargets(config, status) {
  if (!config) return [];
  return config.transitions.filter((t) => t.from === status).map((t) => t.to);
}

function missingFor(config, report, target) {
  return (config ? config.report_fields : []).filter((f) => {
    if (f.required_for !== target) return false;
    const v = report[f.key];
    return v === null || v === undefined || (typeof v === "string" && !v.trim());
  });
}

function reportInput(field, value, disabled) {
  const id = `field-${field.key}`;
  if (field.type === "boolean") {
    return el("input", { id, name: field.key, type: "checkbox", checked: value === true, disabled });
  }
  if (field.type === "number") {
    return el("input", { id, name: field.key, type: "number", inputmode: "decimal", step: "any", value: value ?? "", disabled });
  }
  const area = el("textarea", { id, name: field.key, rows: 3, disabled });
  area.value = value ?? "";
  return area;
}

function readField(form, field) {
  const input = form.elements[field.key];
  if (field.type === "boolean") return input.checked;
  if (field.type === "number") return input.value === "" ? null : Number(input.value);
  return input.value;
}

export async function jobView(jobId, ctx) {
  const doc = await store.job(jobId);
  if (!doc) {
    return el(
      "div",
      { class: "card", id: "job-gone" },
      el("h2", { text: "This job is not on your phone" }),
      el("p", { text: "It may have been given to someone else or cancelled." }),
      el("a", { href: "#/", class: "big button", text: "Back to jobs" })
    );
  }
  const actions = await store.actionsOf(jobId);
  const files = await store.filesOf(jobId);
  const history = await (await store.db()).get("history", jobId);
  const downloads = await Promise.all((doc.attachments || []).map((a) => store.db().then((d) => d.get("downloads", a.id))));
  const job = outbox.overlay(doc, actions);
  const config = ctx.config;
  const rights = new Set(config ? config.rights : []);
  const problems = actions.filter((a) => a.state === "failed" || a.state === "rejected");

  const page = el("div", { class: "job", id: "job", "data-job": jobId, "data-status": job.status });
  page.append(
    el(
      "section",
      { class: "card head" },
      el("div", { class: "ref", text: doc.reference || `#${doc.id}` }),
      el("h2", { class: "job-title", text: doc.title }),
      el("span", { class: `status big-status status-${job.status}`, id: "job-status", text: statusLabel(job.status) }),
      job.pendingStatus ? el("span", { class: "muted", text: " (not confirmed yet)" }) : null
    )
  );
  if (problems.length) {
    page.append(
      el(
        "section",
        { class: "card problems", id: "problems", role: "alert" },
        el("h3", { text: "Changes the office has not accepted" }),
        problems.map((a) => el("p", { class: "problem" }, el("strong", { text: describe(a) + ": " }), outcome(a)))
      )
    );
  }

  // Status buttons: only the configured transitions from the status shown, and only with the right.
  const statusBox = el("section", { class: "card actions", id: "status-buttons" });
  if (!config) statusBox.append(el("p", { class: "muted", text: "Sync once to load what you may do." }));
  else if (!rights.has("change_status")) statusBox.append(el("p", { class: "muted", text: "You may not change the status of jobs." }));
  else {
    const targets = allowedTargets(config, job.status);
    if (!targets.length) statusBox.append(el("p", { class: "muted", text: `No status change from ${statusLabel(job.status)}.` }));
    const error = el("p", { class: "error", id: "status-error", role: "alert", hidden: true });
    for (const target of targets) {
      statusBox.append(
        el("button", {
          type: "button",
          class: `big status-button to-${target}`,
          "data-to": target,
          text: STATUS_ACTIONS[target] || statusLabel(target),
          onclick: async () => {
            const missing = missingFor(config, job.report, target);
            if (missing.length) {
              error.textContent = `Fill in ${missing.map((f) => f.label).join(", ")} first.`;
              error.hidden = false;
              return;
            }
            await ctx.act(jobId, "status_change", { to: target }, { sync: true });
          },
        })
      );
    }
    statusBox.append(error);
  }
  page.append(statusBox);

  page.append(
    el(
      "section",
      { class: "card details" },
      el("h3", { text: "Details" }),
      el("dl", {},
        el("dt", { text: "When" }), el("dd", { text: when(doc.scheduled_start, doc.scheduled_end) }),
        el("dt", { text: "Address" }),
        el("dd", {}, doc.address ? el("a", { href: `https://maps.google.com/?q=${encodeURIComponent(doc.address)}`, rel: "noopener", target: "_blank", text: doc.address }) : "—"),
        el("dt", { text: "Contact" }), el("dd", { text: doc.customer || "—" }),
        el("dt", { text: "Description" }), el("dd", { class: "description", text: doc.description || "—" })
      )
    )
  );

  // The report form.
  if (config && config.report_fields.length) {
    const canEdit = rights.has("edit_report");
    const form = el("form", { class: "card form", id: "report", novalidate: true }, el("h3", { text: "Report" }));
    for (const field of config.report_fields) {
      const label = el("label", { for: `field-${field.key}` }, field.label);
      if (field.required_for) label.append(el("span", { class: "required", text: ` needed to ${field.required_for === "finished" ? "finish" : statusLabel(field.required_for).toLowerCase()}` }));
      const input = reportInput(field, job.report[field.key], !canEdit);
      form.append(field.type === "boolean" ? el("div", { class: "check" }, input, label) : el("div", { class: "field" }, label, input));
    }
    const saved = el("p", { class: "muted", id: "report-saved", hidden: true, text: "Saved on the phone." });
    if (canEdit) form.append(el("button", { type: "submit", class: "big primary", text: "Save report" }), saved);
    else form.append(el("p", { class: "muted", text: "You may not edit reports." }));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const fields = {};
      for (const field of config.report_fields) {
        const value = readField(form, field);
        const before = job.report[field.key] ?? (field.type === "boolean" ? false : field.type === "number" ? null : "");
        if (value !== before) fields[field.key] = value;
      }
      if (!Object.keys(fields).length) return;
      await ctx.act(jobId, "report_update", { fields });
    });
    page.append(form);
  }

  // Photos: taken with the camera, kept on the phone until a good network sends them.
  const photos = el("section", { class: "card photos", id: "photos" }, el("h3", { text: "Photos" }));
  const grid = el("div", { class: "photo-grid" });
  for (const f of files) {
    const url = URL.createObjectURL(f.blob);
    const state = f.state === "sent" ? "Sent" : f.state === "refused" ? "Not accepted" : ctx.filesWait ? "Waiting for a better network" : "Waiting to be sent";
    grid.append(el("figure", { class: `photo photo-${f.state}`, "data-file": f.file_id }, el("img", { src: url, alt: "Photo" }), el("figcaption", { text: state })));
  }
  const fromOthers = (doc.photos || []).length - files.filter((f) => f.state === "sent").length;
  photos.append(grid);
  if (fromOthers > 0) photos.append(el("p", { class: "muted", text: `${fromOthers} more photo${fromOthers === 1 ? "" : "s"} on the server.` }));
  if (rights.has("upload_photos")) {
    const input = el("input", { type: "file", accept: "image/*", capture: "environment", id: "photo-input", class: "visually-hidden" });
    input.addEventListener("change", async () => {
      for (const file of input.files) await ctx.addPhoto(jobId, file);
      input.value = "";
    });
    photos.append(el("label", { for: "photo-input", class: "big button", text: "📷 Take a photo" }), input);
  }
  page.append(photos);

  // Notes.
  if (rights.has("add_notes")) {
    const note = el("form", { class: "card form", id: "note-form" }, el("h3", { text: "Note" }));
    const area = el("textarea", { id: "note-text", name: "text", rows: 3, placeholder: "What the office should know" });
    note.append(area, el("button", { type: "submit", class: "big", text: "Add note" }));
    note.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = area.value.trim();
      if (!text) return;
      await ctx.act(jobId, "note", { text });
    });
    page.append(note);
  }

  // Attachments from the office.
  if ((doc.attachments || []).length) {
    const list = el("ul", { class: "attachments" });
    doc.attachments.forEach((a, i) => {
      const d = downloads[i];
      let state;
      if (d && d.done) state = el("a", { href: URL.createObjectURL(d.blob), download: a.name, class: "button", text: "Open" });
      else if (ctx.filesWait) state = el("span", { class: "waiting", text: "Waiting for a better network" });
      else state = el("span", { class: "muted", text: d ? `Downloading ${Math.round((100 * d.received) / Math.max(1, a.size))}%` : "Downloads at the next sync" });
      list.append(el("li", { "data-attachment": a.id }, el("span", { text: `${a.name} (${size(a.size)}) ` }), state));
    });
    page.append(el("section", { class: "card", id: "attachments" }, el("h3", { text: "Attachments" }), list));
  }

  // The technician's own changes and what became of them.
  if (actions.length) {
    page.append(
      el(
        "section",
        { class: "card", id: "changes" },
        el("h3", { text: "Your changes" }),
        el(
          "ol",
          { class: "changes" },
          [...actions].reverse().map((a) =>
            el("li", { class: `change state-${a.state}`, "data-action": a.id, "data-state": a.state },
              el("div", { text: describe(a) }),
              el("div", { class: "outcome", text: `${dateTime(a.created_at)} · ${outcome(a)}` }))
          )
        )
      )
    );
  }

  page.append(
    el(
      "section",
      { class: "card", id: "history" },
      el("h3", { text: "History" }),
      history && history.entries.length
        ? el("ol", { class: "history" }, history.entries.map((h) => el("li", {}, el("span", { class: "muted", text: `${dateTime(h.at)} ` }), `${h.who ? h.who + ": " : ""}${h.what}`)))
        : el("p", { class: "muted", text: "Shown once the phone is online." })
    )
  );
  return page;
}
