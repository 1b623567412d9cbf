"""The inbox of device actions: list, message, job line; retry, discard, release, edit."""

from __future__ import annotations

import json

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from portal import localtime, params
from portal.access import requires
from portal.domain.errors import ValidationError
from portal.domain.inbox import queries as q
from portal.domain.inbox import repair
from portal.extensions import db
from portal.inbox import bp
from portal.models import InboxMessage, Job, Role, User

PER_PAGE = 50
MAX_PAGES = params.MAX_ID // PER_PAGE  # keeps the OFFSET inside the database's range


def _message(message_id: int, lock: bool = False) -> InboxMessage:
    message = db.session.get(InboxMessage, message_id, with_for_update=lock)
    if message is None:
        abort(404, "There is no such inbox message.")
    return message


def _back(default: str):
    target = request.form.get("next") or ""
    # Only local paths: never redirect off-site.
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(default)


@bp.route("/")
def index():
    zone = localtime.viewer_zone()
    flt = q.Filter.from_args(request.args, zone)
    page, note = params.page(request.args.get("page"), MAX_PAGES)
    rows, total = q.messages(flt, page, PER_PAGE)
    last = max((total + PER_PAGE - 1) // PER_PAGE, 1)
    if page > last:  # past the end: show the last page, and say so
        page, note = params.page(request.args.get("page"), last)
        rows, total = q.messages(flt, page, PER_PAGE)
    if note:
        flash(note, "warning")
    days = q.last_days(7, zone)
    return render_template(
        "inbox/index.html",
        flt=flt,
        rows=rows,
        total=total,
        page=page,
        pages=max((total + PER_PAGE - 1) // PER_PAGE, 1),
        counts=q.counts(flt),
        days=days,
        peak=max([d["total"] for d in days] + [1]),
        technicians=q.technicians(),
        categories=q.CATEGORIES,
        states=q.SHOWN,
        jobs={
            j.id: j
            for j in db.session.scalars(select(Job).where(Job.id.in_({m.job_id for m, _ in rows})))
        },
    )


@bp.post("/retry")
def retry_many():
    """Retry the selected failed messages, or every failed one the filter matches."""
    flt = q.Filter.from_args(request.form, localtime.viewer_zone())
    if request.form.get("scope") == "all":
        ids = q.matching_ids(flt, state="failed")
    else:
        ids = params.ids(request.form.getlist("ids"))
    done = 0
    for start in range(0, len(ids), 500):
        chunk = db.session.scalars(
            select(InboxMessage).where(InboxMessage.id.in_(ids[start : start + 500]))
        ).all()
        done += repair.retry(list(chunk), current_user)
        db.session.commit()
    if done:
        flash(f"{done} failed action{'s' if done != 1 else ''} queued for a retry.", "success")
    else:
        flash("Nothing to retry: select failed actions first.", "warning")
    return redirect(url_for("inbox.index", **flt.args()))


@bp.route("/messages/<int:message_id>")
def message(message_id: int):
    m = _message(message_id)
    return render_template(
        "inbox/message.html",
        m=m,
        shown=q.shown_state(m),
        job=db.session.get(Job, m.job_id),
        technician=db.session.get(User, m.technician_id),
        attempts=q.attempts(m.id),
        audit=q.audit(m.id),
        held=q.held_behind(m),
        pending_photo=q.pending_photo(m),
        payload_text=json.dumps(m.payload, indent=2, ensure_ascii=False),
    )


@bp.post("/messages/<int:message_id>/retry")
def retry(message_id: int):
    m = _message(message_id, lock=True)
    state = m.state
    if repair.retry([m], current_user):
        db.session.commit()
        flash("Queued for a retry.", "success")
    else:
        flash(f"Only a failed action can be retried; this one is {state}.", "warning")
    return _back(url_for("inbox.message", message_id=message_id))


@bp.post("/messages/<int:message_id>/discard")
def discard(message_id: int):
    m = _message(message_id, lock=True)
    try:
        repair.discard(m, current_user, request.form.get("note", ""))
    except ValidationError as exc:
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash("Discarded; the rest of the job's line goes on.", "success")
    return _back(url_for("inbox.message", message_id=message_id))


@bp.post("/messages/<int:message_id>/release")
def release(message_id: int):
    m = _message(message_id, lock=True)
    try:
        repair.release(m, current_user)
    except ValidationError as exc:
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash("Released: it no longer waits for its predecessor.", "success")
    return _back(url_for("inbox.message", message_id=message_id))


@bp.route("/messages/<int:message_id>/payload", methods=["GET", "POST"])
@requires(Role.SUPPORT)
def edit_payload(message_id: int):
    """Let support correct a failed message's payload (audited), then retry it."""
    m = _message(message_id, lock=request.method == "POST")
    text = json.dumps(m.payload, indent=2, ensure_ascii=False)
    error = None
    if request.method == "POST":
        text = request.form.get("payload", "")
        try:
            repair.edit_payload(m, text, current_user, request.form.get("note", ""))
        except ValidationError as exc:
            error = exc.message
            db.session.rollback()
        else:
            if request.form.get("then") == "retry":
                repair.retry([m], current_user)
            db.session.commit()
            flash(
                "Payload saved"
                + (" and queued for a retry." if request.form.get("then") == "retry" else "."),
                "success",
            )
            return redirect(url_for("inbox.message", message_id=message_id))
    status = 422 if error else 200
    return render_template("inbox/payload.html", m=m, text=text, error=error), status


@bp.route("/jobs/<int:job_id>")
def job_line(job_id: int):
    """Show a job's line: which actions ran, which failed, which are held behind it."""
    return render_template(
        "inbox/line.html",
        job_id=job_id,
        job=db.session.get(Job, job_id),
        rows=q.line(job_id),
    )
