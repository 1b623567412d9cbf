"""Create many jobs at once (the CSV import): what ``jobs.create`` and ``jobs.assign`` write,
one statement per table for the whole batch instead of several per job.

Each job gets the same rows as through the one-by-one functions: the job (version 1, or 2
and ``assigned`` with a technician), its ``created`` (and ``assigned``) history events, the
technician's assignment record and sync feed entry, and its status in the counts. Browsers
hear one ``job_changed`` per commit instead of one per job; the technicians' phones are woken
once per technician (see :mod:`portal.domain.push.batch`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite

from portal.domain import counts
from portal.domain.errors import ValidationError

# The field rules of a single create: one definition, whichever way jobs are made.
from portal.domain.jobs import EDITABLE, Actor, _check_schedule, _clean, _jsonable
from portal.domain.push import batch as push_batch
from portal.domain.push.triggers import PushReason
from portal.domain.sync import feed
from portal.effects import after_commit
from portal.extensions import db
from portal.integrations import realtime
from portal.models import Job, JobAssignment, JobEvent, Status, User, utcnow


def _table(model: type[Any]) -> Table:
    """Return a mapped class's table (typed as a Table: the stubs say FromClause)."""
    table: Table = model.__table__
    return table


@dataclass
class NewJob:
    """One job to create, checked: its jobs row, its cleaned fields, its technician."""

    row: dict[str, Any]
    clean: dict[str, Any]
    technician: User | None


def prepare(fields: dict[str, Any], reference: str, technician: User | None = None) -> NewJob:
    """Check a job to create as ``jobs.create`` and ``jobs.assign`` do; raise ValidationError."""
    clean = _clean({k: fields.get(k) for k in EDITABLE if k in fields})
    if not clean.get("title"):
        raise ValidationError("A job needs a title.", "title")
    if technician is not None and (not technician.is_technician or not technician.active):
        raise ValidationError("Jobs can be assigned to active technicians only.", "assignee")
    values = {"description": "", "customer": "", "address": "", "scheduled_start": None,
              "scheduled_end": None} | clean  # fmt: skip
    _check_schedule(Job(scheduled_start=values["scheduled_start"],
                        scheduled_end=values["scheduled_end"]))  # fmt: skip
    row = values | {
        "reference": reference.strip(),
        "status": (Status.ASSIGNED if technician else Status.NEW).value,
        "assignee_id": technician.id if technician else None,
        "version": 2 if technician else 1,
        "report": {},
    }
    return NewJob(row, clean, technician)


def create_many(items: list[NewJob], actor: Actor) -> list[int]:
    """Create the prepared jobs (each assigned to its technician, if any); return their ids."""
    if not items:
        return []
    now = utcnow()
    rows = [item.row | {"created_at": now, "updated_at": now} for item in items]
    # By reference afterwards, not RETURNING: SQLite would insert row by row to keep the order.
    # The core, not the ORM's bulk path: a third of the Python per row (no objects either way).
    conn = db.session.connection()
    conn.execute(insert(_table(Job)), rows)
    refs = [row["reference"] for row in rows]
    found = dict(
        db.session.execute(select(Job.reference, Job.id).where(Job.reference.in_(refs))).all()
    )
    ids = [found[r] for r in refs]
    who = {"origin": actor.origin.value, "actor_id": actor.user.id if actor.user else None,
           "device_id": None, "note": "", "message_id": None, "at": now}  # fmt: skip
    events, assigned = [], []
    for job_id, item in zip(ids, items, strict=True):
        created = {k: [None, _jsonable(v)] for k, v in item.clean.items() if v}
        events.append(who | {"job_id": job_id, "kind": "created", "version": 1,
                             "changes": created})  # fmt: skip
        tech = item.technician
        if tech is not None:
            changes = {"assignee": [None, tech.display_name],
                       "status": [Status.NEW.value, Status.ASSIGNED.value]}  # fmt: skip
            events.append(who | {"job_id": job_id, "kind": "assigned", "version": 2,
                                 "changes": changes})  # fmt: skip
            assigned.append((job_id, tech.id, item.row["reference"]))
    conn.execute(insert(_table(JobEvent)), events)
    if assigned:
        pg = db.session.get_bind().dialect.name == "postgresql"
        stmt = (postgresql.insert if pg else sqlite.insert)(JobAssignment).on_conflict_do_nothing()
        conn.execute(
            stmt,
            [{"job_id": j, "technician_id": t, "first_assigned_at": now} for j, t, _ in assigned],
        )
    for status, n in Counter(row["status"] for row in rows).items():
        counts.add(status, n)
    for job_id, technician_id, reference in assigned:
        feed.upsert(technician_id, job_id)
        push_batch.job_changed(technician_id, job_id, reference, PushReason.ASSIGNED)
    after_commit(announce_jobs)
    return ids


def announce_jobs() -> None:
    """Tell open job lists and boards that jobs changed (one event for a whole batch)."""
    realtime.emit("job_changed", {"job_id": None}, realtime.Room.JOBS)


class Estimates:
    """Keep PostgreSQL's idea of the size of ``jobs`` in step with a large import.

    Each chunk looks up its references by the unique index, but a planner that believes the
    table empty (a new database, or one far smaller than the import) reads the whole table
    instead, every chunk: a 100,000-row import into an empty database ran at a fifth of its
    speed. Autovacuum analyzes only after the fact, so the import does it whenever the rows
    it created outnumber the planner's estimate (a handful of times for any size).
    """

    FLOOR = 1000  # below this a sequential read is as good as the index

    def __init__(self) -> None:
        self.pg = db.session.get_bind().dialect.name == "postgresql"
        self.known = self.unseen = 0
        if self.pg:
            estimate = db.session.scalar(
                text("SELECT reltuples FROM pg_class WHERE oid = 'jobs'::regclass")
            )
            self.known = max(int(estimate or 0), 0)

    def created(self, rows: int) -> None:
        """Note ``rows`` new jobs; analyze ``jobs`` once the planner's picture is stale."""
        if not self.pg:
            return
        self.unseen += rows
        if self.unseen > max(self.known, self.FLOOR):
            db.session.execute(text("ANALYZE jobs"))
            self.known += self.unseen
            self.unseen = 0
