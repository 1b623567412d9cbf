"""A job's page and what a dispatcher does from it: assign, reschedule, status, cancel."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from portal.access import requires
from portal.dispatch import bp
from portal.dispatch import phone_words as words
from portal.dispatch.common import actor, flash_refusal, load_job, technician
from portal.dispatch.forms import AttachmentForm, ScheduleForm, past_warning, version_of
from portal.dispatch.history import timeline
from portal.dispatch.jobs_list import technicians
from portal.domain import files as file_ops
from portal.domain import jobs as job_ops
from portal.domain import transitions
from portal.domain.errors import DomainError, ValidationError
from portal.domain.inbox import phone_state
from portal.extensions import db
from portal.models import FileKind, Role, Status


def _back(job_id: int):
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(url_for("dispatch.job_detail", job_id=job_id))


def _page(job, schedule: ScheduleForm | None = None, warning: str | None = None) -> str:
    """Render the job's page; a refused reschedule keeps what was typed, with its message."""
    if schedule is None:
        schedule = ScheduleForm(
            data={
                "scheduled_start": job.scheduled_start,
                "scheduled_end": job.scheduled_end,
                "version": job.version,
            }
        )
    files = file_ops.files_of(job.id)
    fields = transitions.report_fields()
    known = {f.key for f in fields}
    return render_template(
        "dispatch/job_detail.html",
        job=job,
        schedule=schedule,
        schedule_warning=warning,
        upload=AttachmentForm(),
        attachments=[f for f in files if f.kind == FileKind.ATTACHMENT.value],
        photos=[f for f in files if f.kind == FileKind.PHOTO.value],
        pending_photos=file_ops.pending_photos(job.id),
        report_fields=fields,
        extra_report={k: v for k, v in (job.report or {}).items() if k not in known},
        targets=[t for t in transitions.allowed_targets(job.status, False) if t != "cancelled"],
        can_cancel="cancelled" in transitions.allowed_targets(job.status, False),
        technicians=technicians(),
        history=timeline(job.id),
        final=Status(job.status).final,
        phone_issues=phone_state.for_job(job.id),
        phone_line=phone_state.recent_line(job.id),
        phone_what=phone_state.what,
        assignee_has_phone=words.has_phone(job.assignee),
        unassign_question=(
            words.unassign_question(job.reference, job.status, job.assignee)
            if job.assignee is not None and job.status in words.UNDER_WAY
            else ""
        ),
    )


@bp.route("/jobs/<int:job_id>")
def job_detail(job_id: int):
    return _page(load_job(job_id))


@bp.route("/jobs/<int:job_id>/assign", methods=["POST"])
def job_assign(job_id: int):
    job = load_job(job_id, for_update=True)
    tech = technician(request.form.get("assignee"))
    if tech is None and request.form.get("assignee") not in (None, "", "None"):
        flash("Pick a technician from the list.", "error")
        return _back(job_id)
    previous = job.assignee
    if (
        tech is None
        and previous is not None
        and job.status in words.UNDER_WAY
        and request.form.get("confirm_unassign") != "1"
    ):
        # Taking a job from someone in the middle of it is asked first (the form does).
        flash(words.unassign_question(job.reference, job.status, previous), "warning")
        return _back(job_id)
    try:
        changed = job_ops.assign(job, tech, actor(), version_of(request.form.get("version")))
        db.session.commit()
    except DomainError as exc:
        flash_refusal(exc)
        return _back(job_id)
    if changed and tech is not None:
        flash(f"{job.reference} is now assigned to {tech.display_name}.", "success")
        if warning := words.no_phone_warning(tech):
            flash(warning, "warning")
    elif changed:
        flash(words.left_phone(job.reference, previous, "now unassigned"), "success")
    return _back(job_id)


@bp.route("/jobs/<int:job_id>/schedule", methods=["GET", "POST"])
def job_schedule(job_id: int):
    if request.method == "GET":  # a refused reschedule's page, reloaded or refreshed live
        return redirect(url_for("dispatch.job_detail", job_id=job_id))
    job = load_job(job_id, for_update=True)
    form = ScheduleForm()
    if not form.validate():
        # The page again, the typed times kept and the reason next to the field.
        return _page(job, form), 422
    warning = past_warning(form, job.scheduled_start)
    if warning:
        return _page(job, form, warning), 422
    fields = {
        "scheduled_start": form.scheduled_start.data,
        "scheduled_end": form.scheduled_end.data,
    }
    try:
        changes = job_ops.update(job, fields, actor(), version_of(form.version.data))
        db.session.commit()
    except DomainError as exc:
        flash_refusal(exc)
        return _back(job_id)
    flash(f"{job.reference} rescheduled." if changes else "The schedule is unchanged.", "success")
    return _back(job_id)


@bp.route("/jobs/<int:job_id>/status", methods=["POST"])
def job_status(job_id: int):
    job = load_job(job_id, for_update=True)
    target = request.form.get("to", "")
    try:
        if target not in transitions.allowed_targets(job.status, False):
            # Only offered targets are valid; a hand-made post gets the domain's own reason.
            transitions.check_transition(job.status, target, False)
            raise ValidationError(f"{job.status} → {target} is not allowed.", "status")
        job_ops.change_status(job, target, actor(), version_of(request.form.get("version")))
        db.session.commit()
    except DomainError as exc:
        flash_refusal(exc)
        return _back(job_id)
    flash(f"{job.reference} is now {Status(target).label.lower()}.", "success")
    return _back(job_id)


@bp.route("/jobs/<int:job_id>/cancel", methods=["POST"])
def job_cancel(job_id: int):
    job = load_job(job_id, for_update=True)
    previous = job.assignee
    try:
        job_ops.cancel(job, actor(), version_of(request.form.get("version")))
        db.session.commit()
    except DomainError as exc:
        flash_refusal(exc)
        return _back(job_id)
    flash(words.left_phone(job.reference, previous, "cancelled"), "success")
    return _back(job_id)


@bp.route("/jobs/<int:job_id>/pending-photos/<int:pending_id>/give-up", methods=["POST"])
@requires(Role.ADMIN)
def job_give_up_photo(job_id: int, pending_id: int):
    """Stop waiting for a photo whose phone will never send it (lost, reset)."""
    job = load_job(job_id, for_update=True)
    try:
        file_ops.give_up_photo(job, pending_id, actor())
        db.session.commit()
    except DomainError as exc:
        flash_refusal(exc)
        return _back(job_id)
    flash("No longer waiting for that photo; it is noted in the job's history.", "success")
    return _back(job_id)


@bp.route("/jobs/<int:job_id>/report", methods=["POST"])
def job_report(job_id: int):
    """Fill in report values on the technician's behalf (a repair of the job's data)."""
    job = load_job(job_id, for_update=True)
    values = {}
    for field in transitions.report_fields():
        raw = request.form.get(f"report-{field.key}")
        if raw is None:
            continue
        current = (job.report or {}).get(field.key)
        # An untouched empty input leaves the value alone; it never erases by accident.
        if raw.strip() == "" and current in (None, ""):
            continue
        values[field.key] = raw.strip() or None
    try:
        changes = job_ops.update_report(job, values, actor()) if values else {}
        db.session.commit()
    except DomainError as exc:
        flash_refusal(exc)
        return _back(job_id)
    flash("Report saved." if changes else "The report is unchanged.", "success")
    return _back(job_id)
