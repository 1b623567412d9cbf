"""The one writer of jobs: create, update, assign, change status, cancel, report, notes.

Every operation records a history event, bumps ``version``, appends to the technicians'
sync feed, and, after commit only, announces the change (live event, push). The portal,
the CSV import and the inbox processor all call these functions; none writes a job itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from sqlalchemy import select

from portal.domain import assignments, counts, transitions  # noqa: F401 (counts: listeners)
from portal.domain.errors import AuthorizationError, ConflictError, ValidationError
from portal.domain.push import triggers
from portal.domain.sync import feed
from portal.effects import after_commit
from portal.extensions import db
from portal.integrations import realtime
from portal.models import (
    Device,
    Job,
    JobEvent,
    ReportField,
    Status,
    User,
    utcnow,
)


class Origin(str, Enum):
    PORTAL = "portal"
    DEVICE = "device"
    IMPORT = "import"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a portal user, a technician's device, an import, the system."""

    user: User | None
    origin: Origin
    device: Device | None = None
    # The inbox message being applied, when the change comes from a device's action.
    message_id: int | None = None

    @property
    def from_device(self) -> bool:
        return self.origin is Origin.DEVICE

    @classmethod
    def portal(cls, user: User) -> Actor:
        return cls(user, Origin.PORTAL)

    @classmethod
    def on_device(cls, user: User, device: Device | None, message_id: int | None = None) -> Actor:
        return cls(user, Origin.DEVICE, device, message_id)


EDITABLE = ("title", "description", "customer", "address", "scheduled_start", "scheduled_end")
_TIMES = ("scheduled_start", "scheduled_end")
_LIMITS = {"title": 200, "customer": 200, "address": 400, "description": 20000}


def get_for_update(job_id: int) -> Job | None:
    """Load a job and lock its row until commit (PostgreSQL; SQLite locks the database)."""
    return db.session.get(Job, job_id, with_for_update=True, populate_existing=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate editable fields; raise ValidationError naming the first bad one."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if key not in EDITABLE:
            raise ValidationError(f"'{key}' cannot be edited.", key)
        if key in ("scheduled_start", "scheduled_end"):
            if value is not None and not isinstance(value, datetime):
                raise ValidationError("Give a date and time.", key)
            if value is not None and value.tzinfo is None:
                raise ValidationError("The time needs a time zone.", key)
            if value is not None:
                value = value.astimezone(UTC)  # stored, compared and sent in UTC
        else:
            value = (value or "").strip()
            if len(value) > _LIMITS[key]:
                raise ValidationError(f"At most {_LIMITS[key]} characters.", key)
        out[key] = value
    if "title" in out and not out["title"]:
        raise ValidationError("A job needs a title.", "title")
    return out


def _check_schedule(job: Job) -> None:
    if job.scheduled_start and job.scheduled_end and job.scheduled_end < job.scheduled_start:
        raise ValidationError("The end must not be before the start.", "scheduled_end")


def _check_version(job: Job, expected: int | None) -> None:
    if expected is None or expected == job.version:
        return
    events = db.session.scalars(
        select(JobEvent)
        .where(JobEvent.job_id == job.id, JobEvent.version > expected)
        .order_by(JobEvent.id)
    ).all()
    changes: dict[str, list] = {}
    who = set()
    for ev in events:
        who.add(ev.actor.display_name if ev.actor else ev.origin)
        for field, pair in (ev.changes or {}).items():
            if isinstance(pair, list) and len(pair) == 2:
                before = changes.get(field, pair)[0]
                changes[field] = [before, pair[1]]
    # Times by name only: the page shows their values in the reader's zone, from ``changes``.
    summary = (
        ", ".join(
            k.replace("_", " ") if k in _TIMES else f"{k}: {v[0]!r} → {v[1]!r}"
            for k, v in changes.items()
        )
        or "its data"
    )
    raise ConflictError(
        f"{job.reference} was changed by {', '.join(sorted(who)) or 'someone'} since you opened "
        f"it ({summary}). Nothing was saved; review the current values and save again.",
        None,
        changes,
    )


def _record(job: Job, actor: Actor, kind: str, changes: dict, note: str = "") -> JobEvent:
    """Bump the version, write history, feed the assignee, announce after commit."""
    job.version = (job.version or 0) + 1
    job.updated_at = utcnow()
    event = JobEvent(
        job_id=job.id,
        origin=actor.origin.value,
        actor_id=actor.user.id if actor.user else None,
        device_id=actor.device.id if actor.device else None,
        kind=kind,
        version=job.version,
        changes={k: [_jsonable(a), _jsonable(b)] for k, (a, b) in changes.items()},
        note=note,
        message_id=actor.message_id,
    )
    db.session.add(event)
    if job.assignee_id is not None and job.status != Status.CANCELLED.value:
        feed.upsert(job.assignee_id, job.id)
    after_commit(_announce, job.id)
    return event


def _announce(job_id: int) -> None:
    data = {"job_id": job_id}
    realtime.emit("job_changed", data, realtime.Room.JOBS)
    realtime.emit("job_changed", data, realtime.Room.job(job_id))


def _assign_reference(job: Job) -> None:
    candidate = f"J-{job.id:06d}"
    n = 1
    while db.session.scalar(select(Job.id).where(Job.reference == candidate)) is not None:
        n += 1
        candidate = f"J-{job.id:06d}-{n}"
    job.reference = candidate


def create(fields: dict[str, Any], actor: Actor, reference: str | None = None) -> Job:
    """Create a job in status ``new``; a reference like J-000123 is given when none is."""
    clean = _clean({k: fields.get(k) for k in EDITABLE if k in fields})
    if not clean.get("title"):
        raise ValidationError("A job needs a title.", "title")
    job = Job(status=Status.NEW.value, version=0, report={}, **clean)
    _check_schedule(job)
    if reference:
        job.reference = reference.strip()
    db.session.add(job)
    db.session.flush()
    if not job.reference:
        _assign_reference(job)
    _record(job, actor, "created", {k: (None, v) for k, v in clean.items() if v})
    return job


def update(
    job: Job, fields: dict[str, Any], actor: Actor, expected_version: int | None = None
) -> dict[str, list]:
    """Change editable fields; return {field: [before, after]} (empty when nothing changed)."""
    _check_version(job, expected_version)
    if job.status == Status.CANCELLED.value:
        raise ValidationError("A cancelled job cannot be edited.")
    clean = _clean(fields)
    changes = {k: (getattr(job, k), v) for k, v in clean.items() if getattr(job, k) != v}
    if not changes:
        return {}
    for k, (_, v) in changes.items():
        setattr(job, k, v)
    _check_schedule(job)
    _record(job, actor, "updated", changes)
    if job.assignee_id is not None:
        triggers.job_changed(job, job.assignee_id, triggers.PushReason.CHANGED, actor.from_device)
    return {k: [_jsonable(a), _jsonable(b)] for k, (a, b) in changes.items()}


def assign(
    job: Job, technician: User | None, actor: Actor, expected_version: int | None = None
) -> bool:
    """Give the job to ``technician`` (None unassigns); return whether anything changed."""
    _check_version(job, expected_version)
    if actor.from_device:
        raise AuthorizationError("Jobs are assigned in the portal, not from a device.")
    if technician is not None and (not technician.is_technician or not technician.active):
        raise ValidationError("Jobs can be assigned to active technicians only.", "assignee")
    previous = job.assignee_id
    new_id = technician.id if technician else None
    if previous == new_id:
        # Checked first: saving a finished job's form with the same technician is no reassignment.
        return False
    if Status(job.status).final:
        raise ValidationError(f"A {job.status} job cannot be reassigned.", "assignee")
    changes: dict[str, tuple] = {
        "assignee": (
            job.assignee.display_name if job.assignee else None,
            technician.display_name if technician else None,
        )
    }
    job.assignee_id = new_id
    job.assignee = technician
    if technician is not None:
        assignments.remember(job.id, technician.id)
    if technician is not None and job.status == Status.NEW.value:
        changes["status"] = (job.status, Status.ASSIGNED.value)
        job.status = Status.ASSIGNED.value
    elif technician is None and job.status == Status.ASSIGNED.value:
        # Work not yet begun returns to the pool; begun work keeps its status for the next one.
        changes["status"] = (job.status, Status.NEW.value)
        job.status = Status.NEW.value
    _record(job, actor, "assigned" if technician else "unassigned", changes)
    if previous is not None:
        feed.remove(previous, job.id)
        triggers.job_changed(job, previous, triggers.PushReason.UNASSIGNED, actor.from_device)
    if technician is not None:
        triggers.job_changed(job, technician.id, triggers.PushReason.ASSIGNED, actor.from_device)
    return True


def change_status(job: Job, target: str, actor: Actor, expected_version: int | None = None) -> None:
    """Move the job along a configured transition, checking required report fields."""
    _check_version(job, expected_version)
    if target == Status.CANCELLED.value and actor.from_device:
        raise AuthorizationError("Jobs are cancelled in the portal, not from a device.")
    if actor.from_device and job.assignee_id != actor.user.id:
        raise AuthorizationError(f"{job.reference} is not assigned to {actor.user.display_name}.")
    if target == Status.ASSIGNED.value and job.assignee_id is None:
        raise ValidationError("Assign a technician to make the job assigned.", "status")
    if target == job.status:
        return
    transitions.check_transition(job.status, target, actor.from_device)
    transitions.check_required_fields(job, target)
    before = job.status
    job.status = target
    _record(
        job, actor, "cancelled" if target == "cancelled" else "status", {"status": (before, target)}
    )
    if job.assignee_id is None:
        return
    if target == Status.CANCELLED.value:
        feed.remove(job.assignee_id, job.id)
        triggers.job_changed(job, job.assignee_id, triggers.PushReason.CANCELLED, actor.from_device)
    elif target in triggers.STATUS_PUSH:
        triggers.job_changed(job, job.assignee_id, triggers.PushReason.STATUS, actor.from_device)
    else:
        triggers.job_changed(job, job.assignee_id, triggers.PushReason.CHANGED, actor.from_device)


def cancel(job: Job, actor: Actor, expected_version: int | None = None) -> None:
    """Cancel the job; it leaves the technician's phone."""
    change_status(job, Status.CANCELLED.value, actor, expected_version)


def update_report(job: Job, values: dict[str, Any], actor: Actor) -> dict[str, list]:
    """Set report field values (typed by the configured fields); unknown keys are refused."""
    if not isinstance(values, dict) or not values:
        raise ValidationError("Give at least one report field.", "fields")
    if actor.from_device and job.assignee_id != actor.user.id:
        raise AuthorizationError(f"{job.reference} is not assigned to {actor.user.display_name}.")
    if job.status == Status.CANCELLED.value:
        raise ValidationError("The report of a cancelled job cannot change.")
    known = {f.key: f for f in db.session.scalars(select(ReportField))}
    report = dict(job.report or {})
    changes: dict[str, tuple] = {}
    for key, raw in values.items():
        field = known.get(key)
        if field is None:
            raise ValidationError(f"There is no report field '{key}'.", key)
        value = transitions.coerce_report_value(field, raw)
        if report.get(key) != value:
            changes[f"report.{key}"] = (report.get(key), value)
            report[key] = value
    if not changes:
        return {}
    job.report = report
    _record(job, actor, "report", changes)
    if job.assignee_id is not None:
        triggers.job_changed(job, job.assignee_id, triggers.PushReason.CHANGED, actor.from_device)
    return {k: list(v) for k, v in changes.items()}


def add_note(job: Job, text: str, actor: Actor) -> None:
    """Add a note to the job's history."""
    text = (text or "").strip()
    if not text:
        raise ValidationError("A note needs text.", "text")
    if len(text) > 5000:
        raise ValidationError("A note has at most 5000 characters.", "text")
    if actor.from_device and job.assignee_id != actor.user.id:
        raise AuthorizationError(f"{job.reference} is not assigned to {actor.user.display_name}.")
    _record(job, actor, "note", {}, note=text)


def photo_pending(job: Job, file_id: str, actor: Actor) -> None:
    """Record that the phone took a photo whose file is still on its way."""
    _record(job, actor, "photo_pending", {"file": (None, file_id)})


def photo_given_up(job: Job, file_id: str, actor: Actor) -> None:
    """Record that someone stopped waiting for a photo that never arrived."""
    _record(job, actor, "photo_given_up", {"file": (file_id, None)})


def file_added(job: Job, name: str, kind: str, actor: Actor) -> None:
    """Record that a file (attachment or photo) now belongs to the job."""
    _record(job, actor, kind, {"file": (None, name)})
    if job.assignee_id is not None:
        triggers.job_changed(job, job.assignee_id, triggers.PushReason.CHANGED, actor.from_device)
