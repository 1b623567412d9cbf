"""A job's history as people read it: who, what (before → after), when.

Times read in the viewer's zone and format. A change of the schedule reads as what it is,
"rescheduled from Mon, May 4, 9:00 – 11:00 AM to …", both ends shown even when only one
changed (the history is replayed from the creation to know the other).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal import localtime
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
        moment = _moment(value)
        return localtime.fmt_when(moment) if moment else value
    if key == "status":
        try:
            return Status(value).label
        except ValueError:
            return str(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    return text if len(text) <= 160 else text[:157] + "…"


def _moment(value) -> datetime | None:
    """Return the aware time a history value (ISO 8601, UTC) stands for."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _schedule_text(before: tuple, after: tuple) -> str:
    """Say how the schedule moved: rescheduled from … to …, scheduled for …, unscheduled."""
    was, now = localtime.fmt_span(*before), localtime.fmt_span(*after)
    if before[0] is None and after[0] is None:
        return "changed the end of the schedule"
    if before[0] is None:
        return f"scheduled the job for {now}"
    if after[0] is None:
        return f"took the job off the schedule (was {was})"
    return f"rescheduled from {was} to {now}"


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
        .order_by(JobEvent.id)
    )
    labels = _report_labels()
    schedule: dict[str, datetime | None] = dict.fromkeys(TIMES)
    out = []
    for ev in events:
        changes = {
            k: pair
            for k, pair in (ev.changes or {}).items()
            if isinstance(pair, list) and len(pair) == 2
        }
        before = (schedule["scheduled_start"], schedule["scheduled_end"])
        for key in TIMES:
            if key in changes:
                schedule[key] = _moment(changes[key][1])
        verb = VERBS.get(ev.kind, ev.kind)
        moved = ev.kind != "created" and any(k in changes for k in TIMES)
        if moved:
            text = _schedule_text(before, (schedule["scheduled_start"], schedule["scheduled_end"]))
            others = [k for k in changes if k not in TIMES]
            verb = f"edited the job and {text}" if others else text
            changes = {k: v for k, v in changes.items() if k not in TIMES}
        rows = [
            (field_label(key, labels), show_value(key, pair[0]), show_value(key, pair[1]))
            for key, pair in changes.items()
        ]
        out.append(
            Entry(
                at=ev.at,
                who=who_of(ev),
                origin=ev.origin,
                kind="rescheduled" if moved and ev.kind == "updated" else ev.kind,
                verb=verb,
                changes=rows,
                note=ev.note or "",
            )
        )
    out.reverse()
    return out
