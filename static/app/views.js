// The screens other than a job: sign-in, the job list (today, upcoming, earlier), settings.
import * as store from "./store.js";
import * as outbox from "./outbox.js";
import { el, localDay, statusLabel, when } from "./format.js";

export function signInView({ onSubmit, error, email, expired, unsent }) {
  const form = el(
    "form",
    { class: "card form", id: "signin", novalidate: true },
    el("h2", { text: "Sign in" }),
    expired ? el("p", { class: "notice", text: "Your sign-in ended. Sign in again to go on syncing." }) : null,
    unsent ? el("p", { class: "notice", text: `${unsent} unsent change${unsent === 1 ? " stays" : "s stay"} on this phone and ${unsent === 1 ? "is" : "are"} sent after you sign in.` }) : null,
    error ? el("p", { class: "error", role: "alert", text: error }) : null,
    el("label", { for: "email", text: "Email" }),
    el("input", { id: "email", name: "email", type: "email", autocomplete: "username", required: true, value: email || "" }),
    el("label", { for: "password", text: "Password" }),
    el("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true }),
    el("button", { type: "submit", class: "primary big", text: "Sign in" })
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const button = form.querySelector("button");
    button.disabled = true;
    button.textContent = "Signing in…";
    onSubmit(form.email.value.trim(), form.password.value).finally(() => {
      button.disabled = false;
      button.textContent = "Sign in";
    });
  });
  return form;
}

function jobCard(job, info) {
  const badges = [];
  if (info.unsent) badges.push(el("span", { class: "badge unsent-badge", text: `${info.unsent} unsent` }));
  if (info.problems) badges.push(el("span", { class: "badge problem-badge", text: "Not accepted" }));
  return el(
    "a",
    { class: `job-card status-${job.status}`, href: `#/job/${job.id}`, "data-job": job.id },
    el(
      "div",
      { class: "job-card-top" },
      el("span", { class: "when", text: when(job.scheduled_start, job.scheduled_end) }),
      el("span", { class: `status status-${job.status}`, text: statusLabel(job.status) })
    ),
    el("div", { class: "job-title", text: job.title }),
    el("div", { class: "job-sub", text: [job.reference, job.address].filter(Boolean).join(" · ") }),
    badges.length ? el("div", { class: "badges" }, badges) : null
  );
}

/** The list: today's jobs, then upcoming, then earlier open ones. */
export async function listView(onRefresh) {
  const jobs = await store.allJobs();
  const actions = await store.allActions();
  const byJob = new Map();
  for (const a of actions) {
    const list = byJob.get(a.job_id) || [];
    list.push(a);
    byJob.set(a.job_id, list);
  }
  const today = localDay(new Date());
  const groups = { today: [], upcoming: [], earlier: [], unscheduled: [] };
  const views = jobs.map((doc) => outbox.overlay(doc, (byJob.get(doc.id) || []).sort((a, b) => a.seq - b.seq)));
  views.sort((a, b) => (a.scheduled_start || "9999").localeCompare(b.scheduled_start || "9999"));
  for (const job of views) {
    if (!job.scheduled_start) groups.unscheduled.push(job);
    else {
      const day = localDay(new Date(job.scheduled_start));
      if (day === today) groups.today.push(job);
      else if (day > today) groups.upcoming.push(job);
      else if (job.status !== "finished") groups.earlier.push(job);
      else groups.earlier.push(job);
    }
  }
  const section = (key, title, empty) => {
    const list = groups[key];
    if (!list.length && !empty) return null;
    return el(
      "section",
      { class: "job-group", id: `group-${key}` },
      el("h2", { text: title }),
      list.length
        ? list.map((job) => {
            const mine = byJob.get(job.id) || [];
            return jobCard(job, {
              unsent: mine.filter((a) => a.state === "unsent").length,
              problems: mine.filter((a) => a.state === "failed" || a.state === "rejected").length,
            });
          })
        : el("p", { class: "empty", text: empty })
    );
  };
  return el(
    "div",
    { class: "list", id: "job-list" },
    el("button", { type: "button", class: "refresh big", id: "refresh", text: "↻ Sync now", onclick: onRefresh }),
    section("today", "Today", "No jobs today."),
    section("upcoming", "Upcoming", "Nothing planned yet."),
    section("earlier", "Earlier", null),
    section("unscheduled", "Not scheduled", null)
  );
}

export async function settingsView({ technician, textOnly, onTextOnly, onSignOut, version }) {
  const unsent = await outbox.unsentCount();
  const toggle = el("input", { type: "checkbox", id: "text-only", checked: textOnly });
  toggle.addEventListener("change", () => onTextOnly(toggle.checked));
  return el(
    "div",
    { class: "settings card" },
    el("h2", { text: "This phone" }),
    el("p", { text: technician ? `Signed in as ${technician.name || technician.email}` : "" }),
    el(
      "label",
      { class: "switch", for: "text-only" },
      toggle,
      el("span", { text: "Text only: photos and attachments wait for Wi-Fi or a good network" })
    ),
    el("button", {
      type: "button",
      class: "big danger",
      id: "sign-out",
      text: "Sign out",
      onclick: () => onSignOut(unsent),
    }),
    el("p", { class: "muted", text: `Fieldsync for technicians, version ${version}` })
  );
}
