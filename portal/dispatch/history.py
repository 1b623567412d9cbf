"""A job's history as people read it: who, what (before → after), when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.domain import transitions
from portal.extensions import db
from portal.models import JobEvent, Status

LABELS = {
    "title": "Title",
    "description": "Description",
    "customer": "Customer",
    "address": "Address",
    "scheduled_start": "Scheduled start",
    "scheduled_end": "Scheduled end",
    "assignee": "Technician",
    "status": "Status",
    "file": "File",
}
VERBS = {
    "created": "created the job",
    "updated": "edited the job",
    "assigned": "assigned the job",
    "unassigned": "unassigned the job",
    "status": "changed the status",
    "cancelled": "cancelled the job",
    "report": "updated the report",
    "note": "added a note",
    "attachment": "attached a file",
    "photo": "added a photo",
    "photo_pending": "took a photo that is on its way from the phone",
    "photo_given_up": "stopped waiting for a photo from the phone",
}
TIMES = ("scheduled_start", "scheduled_end")


def field_label(key: str, report_labels: dict[str, str] | None = None) -> str:
    if key.startswith("report."):
        name = key.split(".", 1)[1]
        labels = report_labels if report_labels is not None else _report_labels()
        return labels.get(name, name)
    return LABELS.get(key, key.replace("_", " ").capitalize())


def show_value(key: str, value) -> str:
    """Render a before/after value for people."""
    if value is None or value == "":
        return "—"
    if key in TIMES and isinstance(value, str):
        try:
            return datetime.fromisoformat(value).strftime("%a %d %b %Y, %H:%M")
        except ValueError:
            return value
    if key == "status":
        try:
            return Status(value).label
        except ValueError:
            return str(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    return text if len(text) <= 160 else text[:157] + "…"


def _report_labels() -> dict[str, str]:
    return {f.key: f.label for f in transitions.report_fields()}


@dataclass
class Entry:
    at: datetime
    who: str
    origin: str
    kind: str
    verb: str
    changes: list[tuple[str, str, str]] = field(default_factory=list)
    note: str = ""


def who_of(event: JobEvent) -> str:
    name = event.actor.display_name if event.actor else None
    if event.origin == "device":
        return f"{name or 'a technician'}'s device"
    if event.origin == "import":
        return f"CSV import{f' by {name}' if name else ''}"
    if event.origin == "system":
        return "Fieldsync"
    return name or "someone"


def timeline(job_id: int) -> list[Entry]:
    """Return the job's history, newest first."""
    events = db.session.scalars(
        select(JobEvent)
        .options(selectinload(JobEvent.actor))
        .where(JobEvent.job_id == job_id)
        .order_by(JobEvent.id.desc())
    )
    labels = _report_labels()
    out = []
    for ev in events:
        rows = []
        for key, pair in (ev.changes or {}).items():
            if isinstance(pair, list) and len(pair) == 2:
                before, after = show_value(key, pair[0]), show_value(key, pair[1])
                rows.append((field_label(key, labels), before, after))
        out.append(
            Entry(
                at=ev.at,
                who=who_of(ev),
                origin=ev.origin,
                kind=ev.kind,
                verb=VERBS.get(ev.kind, ev.kind),
                changes=rows,
                note=ev.note or "",
            )
        )
    return out
