"""Create and edit a job: every field, errors next to their field, no silent overwrite."""

from __future__ import annotations

from datetime import UTC

from flask import flash, redirect, render_template, request, url_for

from portal.dispatch import bp
from portal.dispatch import phone_words as words
from portal.dispatch.common import actor, conflict_rows, load_job, technician
from portal.dispatch.forms import JobForm, past_warning, version_of
from portal.dispatch.jobs_list import technicians
from portal.domain import jobs as job_ops
from portal.domain.errors import ConflictError, DomainError
from portal.extensions import db
from portal.models import Job, Status


def _form(job: Job | None = None) -> JobForm:
    form = JobForm(obj=job) if request.method == "GET" and job is not None else JobForm()
    form.assignee.choices = [(None, "Unassigned")] + [(t.id, t.display_name) for t in technicians()]
    if request.method == "GET" and job is not None:
        form.assignee.data = job.assignee_id
        form.version.data = str(job.version)
    return form


def _merge(form: JobForm, job: Job, changes: dict[str, list]) -> set[str]:
    """Take the others' changes into the form where this dispatcher left a field untouched.

    Return the fields both changed: there the dispatcher's value stays and must be decided.
    """
    posted = form.job_fields()
    picked = form.assignee.data
    posted_names = {None: None} | {t.id: t.display_name for t in technicians()}
    both = set()
    for key, (before, _now) in changes.items():
        if key in posted:
            mine = posted[key]
            # Times compare as UTC instants: history records them in UTC.
            mine = mine.astimezone(UTC).isoformat() if hasattr(mine, "astimezone") else mine
            mine = mine or None
            if mine == (before or None):
                getattr(form, key).data = getattr(job, key)
            else:
                both.add(key)
        elif key == "assignee":
            if posted_names.get(picked) == before:
                form.assignee.data = job.assignee_id
            else:
                both.add(key)
    return both


def _errors(exc: DomainError) -> dict[str, list[str]]:
    key = exc.field if exc.field and exc.field in JobForm.__dict__ else "_form"
    return {key: [exc.message]}


@bp.route("/jobs/new", methods=["GET", "POST"])
def job_new():
    form = _form()
    errors: dict[str, list[str]] = {}
    warning = None
    if form.validate_on_submit() and not (warning := past_warning(form, None)):
        tech = technician(form.assignee.data)
        try:
            job = job_ops.create(form.job_fields(), actor())
            if tech is not None:
                job_ops.assign(job, tech, actor())
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            errors = _errors(exc)
        else:
            flash(f"{job.reference} created.", "success")
            if tech is not None and (note := words.no_phone_warning(tech)):
                flash(note, "warning")
            return redirect(url_for("dispatch.job_detail", job_id=job.id))
    status = 422 if request.method == "POST" else 200
    return (
        render_template(
            "dispatch/job_form.html", form=form, job=None, errors=errors, warning=warning
        ),
        status,
    )


@bp.route("/jobs/<int:job_id>/edit", methods=["GET", "POST"])
def job_edit(job_id: int):
    job = load_job(job_id, for_update=request.method == "POST")
    if Status(job.status).final:
        # Finished and cancelled jobs are history: not even a typed URL opens their form.
        flash(f"{job.reference} is {Status(job.status).label.lower()}; it can no longer be edited.")
        return redirect(url_for("dispatch.job_detail", job_id=job.id))
    form = _form(job)
    errors: dict[str, list[str]] = {}
    conflict = None
    warning = None
    question = ""
    if job.assignee is not None and job.status in words.UNDER_WAY:
        question = words.unassign_question(job.reference, job.status, job.assignee)
    if form.validate_on_submit() and not (warning := past_warning(form, job.scheduled_start)):
        tech = technician(form.assignee.data)
        if tech is None and question and request.form.get("confirm_unassign") != "1":
            errors = {"assignee": [question + " Pick the technician again, or confirm."]}
        try:
            if errors:
                raise _Unconfirmed
            job_ops.update(job, form.job_fields(), actor(), version_of(form.version.data))
            if tech is not None or job.assignee_id is not None:
                job_ops.assign(job, tech, actor())
            db.session.commit()
        except ConflictError as exc:
            db.session.rollback()
            job = load_job(job_id)
            both = _merge(form, job, exc.changes)
            conflict = {"message": exc.message, "rows": conflict_rows(exc), "both": both}
            # Saving again now is a conscious decision over what was just shown.
            form.version.data = str(job.version)
        except DomainError as exc:
            db.session.rollback()
            errors = _errors(exc)
            job = load_job(job_id)
        except _Unconfirmed:
            pass
        else:
            flash(f"{job.reference} saved.", "success")
            if tech is not None and (note := words.no_phone_warning(tech)):
                flash(note, "warning")
            return redirect(url_for("dispatch.job_detail", job_id=job.id))
    status = 409 if conflict else (422 if request.method == "POST" else 200)
    return (
        render_template(
            "dispatch/job_form.html",
            form=form,
            job=job,
            errors=errors,
            conflict=conflict,
            warning=warning,
            unassign_question=question,
        ),
        status,
    )


class _Unconfirmed(Exception):
    """Unassigning a job under way was not confirmed: the form asks."""
