"""What a device needs besides jobs: the configured transitions, report fields and rights,
and a job's history as the technician reads it."""

from __future__ import annotations

from flask import jsonify
from sqlalchemy import select

from portal.api import bp
from portal.api.common import ApiError, current_technician
from portal.domain import timezones, transitions
from portal.domain.sync.documents import iso, visible_to
from portal.extensions import db
from portal.models import Job, JobEvent, Right

# How many history entries a phone gets: the newest ones, enough for a job's day.
HISTORY_LIMIT = 100
VERBS = {
    "created": "Job created",
    "updated": "Job details changed",
    "assigned": "Assigned",
    "unassigned": "Unassigned",
    "status": "Status changed",
    "cancelled": "Cancelled",
    "report": "Report updated",
    "note": "Note",
}


@bp.get("/device/config")
def device_config():
    """Return the transitions a device may make, the report fields and this technician's rights."""
    technician = current_technician()
    rows = transitions.configured()
    body = {
        "transitions": sorted(
            ({"from": r.from_status, "to": r.to_status} for r in rows if not r.portal_only),
            key=lambda t: (t["from"], t["to"]),
        ),
        "report_fields": [
            {"key": f.key, "label": f.label, "type": f.type, "required_for": f.required_for}
            for f in transitions.report_fields()
        ],
        "rights": sorted(r.value for r in Right if technician.has_right(r)),
        "timezone": timezones.company_zone_name(),
    }
    db.session.rollback()  # end the read transaction
    return jsonify(body)


def _describe(event: JobEvent) -> str:
    verb = VERBS.get(event.kind, event.kind.replace("_", " ").capitalize())
    changes = event.changes or {}
    status = changes.get("status")
    if event.kind == "status" and isinstance(status, list | tuple) and len(status) == 2:
        return f"Status {status[0]} → {status[1]}".replace("_", " ")
    if event.note:
        return f"{verb}: {event.note}"
    return verb


@bp.get("/jobs/<int:job_id>/history")
def job_history(job_id: int):
    """Return the newest entries of one of the technician's jobs' history, newest first."""
    job = db.session.get(Job, job_id) if job_id <= 2**31 - 1 else None
    if not visible_to(job, current_technician().id):
        raise ApiError(404, "not_found", "No such job among yours.")
    events = db.session.scalars(
        select(JobEvent)
        .where(JobEvent.job_id == job_id)
        .order_by(JobEvent.at.desc(), JobEvent.id.desc())
        .limit(HISTORY_LIMIT)
    ).all()
    entries = [
        {
            "at": iso(e.at),
            "who": e.actor.display_name if e.actor is not None else "",
            "what": _describe(e),
        }
        for e in events
    ]
    db.session.rollback()
    return jsonify(job_id=job_id, history=entries)
