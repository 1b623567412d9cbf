"""Admin pages: the push log, filtered by state, technician, job and reason."""

from __future__ import annotations

from flask import render_template, request
from sqlalchemy import func, or_, select

from portal import params
from portal.admin import bp
from portal.domain.push.triggers import PushReason
from portal.extensions import db
from portal.models import Device, Job, Push, PushJob, PushState, Role, User

PAGE_SIZE = 100
STATES = [s.value for s in PushState]
REASONS = [r.value for r in PushReason]


def _filters() -> tuple[dict, dict, list]:
    """Read the filters from the query string; return (values, errors, SQL conditions).

    The state condition, if any, comes first, so the counts can leave it out.
    """
    args = request.args
    values = {k: (args.get(k) or "").strip() for k in ("state", "technician", "job", "reason")}
    errors: dict[str, str] = {}
    where: list = []
    if values["state"]:
        if values["state"] in STATES:
            where.append(Push.state == values["state"])
        else:
            errors["state"] = "Choose one of the listed states."
    if values["reason"]:
        if values["reason"] in REASONS:
            where.append(Push.reason == values["reason"])
        else:
            errors["reason"] = "Choose one of the listed reasons."
    if values["technician"]:
        if params.whole(values["technician"]) is not None:
            where.append(Push.technician_id == params.whole(values["technician"]))
        else:
            errors["technician"] = "Choose a technician from the list."
    if values["job"]:
        ref = values["job"]
        job_id = db.session.scalar(
            select(Job.id).where(
                or_(func.upper(Job.reference) == ref.upper(), Job.id == (params.whole(ref) or -1))
            )
        )
        if job_id is None:
            errors["job"] = f"There is no job {ref}."
        else:
            # Also the pushes of bursts over several jobs that included this one.
            where.append(Push.id.in_(select(PushJob.push_id).where(PushJob.job_id == job_id)))
    return values, errors, where


@bp.route("/pushes")
def pushes():
    """List the push log, newest first, with counts per state as a bar."""
    values, errors, where = _filters()
    if errors:
        # A bad filter shows its message and an empty list, never every push.
        rows, counts = [], {}
    else:
        # The bar counts every state under the other filters, so it shows what a click finds.
        state_free = where[1:] if values["state"] else where
        counts = dict(
            db.session.execute(
                select(Push.state, func.count()).where(*state_free).group_by(Push.state)
            ).all()
        )
        before = params.whole(request.args.get("before")) or 0
        query = (
            select(Push, Device, User, Job)
            .outerjoin(Device, Device.id == Push.device_id)
            .outerjoin(User, User.id == Push.technician_id)
            .outerjoin(Job, Job.id == Push.job_id)
            .where(*where)
            .order_by(Push.id.desc())
            .limit(PAGE_SIZE + 1)
        )
        if before > 0:
            query = query.where(Push.id < before)
        rows = db.session.execute(query).all()
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    total = sum(counts.values())
    technicians = db.session.scalars(
        select(User).where(User.role == Role.TECHNICIAN.value).order_by(User.name, User.email)
    ).all()
    return render_template(
        "admin/pushes.html",
        rows=rows,
        counts=[(s, counts.get(s, 0)) for s in STATES],
        total=total,
        values=values,
        errors=errors,
        states=STATES,
        reasons=REASONS,
        technicians=technicians,
        next_before=rows[-1][0].id if more and rows else None,
    ), (400 if errors else 200)
