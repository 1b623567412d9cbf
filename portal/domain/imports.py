"""Bulk import of jobs from CSV: create or update by ``reference``, streamed in chunks.

Each chunk's new jobs are written together through :mod:`portal.domain.jobs_bulk`, its
updates through :mod:`portal.domain.jobs`, all as import changes (history, feed), inside a
savepoint; if a row fails there, the chunk is redone row by row, each in its own savepoint:
a bad row is reported with its line number and reason and leaves nothing behind, while the
good rows land. The technicians' phones are woken once per technician for the whole import,
not once per row (:mod:`portal.domain.push.batch`). The file is read as a stream, so memory
does not grow with its size. Conventions: times are ISO 8601; a time with an
offset (``+02:00``, ``Z``) keeps it, a time without one is wall-clock time in the company's
zone (daylight saving exact: a time the clocks skip is a bad row, a repeated one is its first
occurrence); an empty ``assignee_email`` leaves an existing job's technician as it
is (a new job stays unassigned); an empty cell of another column leaves that field unchanged
on an update.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.domain import counts, jobs_bulk, timezones, wallclock
from portal.domain import jobs as job_ops
from portal.domain.errors import DomainError, ValidationError
from portal.domain.import_file import Row
from portal.domain.push import batch as push_batch
from portal.extensions import db
from portal.models import Job, Role, User

TEXT = ("title", "description", "customer", "address")
CHUNK = 500  # rows per savepoint (and per statement of new jobs) on the fast path


@dataclass
class RowError:
    line: int
    reference: str
    message: str
    field: str | None = None

    def __str__(self) -> str:
        where = f" ({self.field})" if self.field else ""
        ref = f" {self.reference}" if self.reference else ""
        return f"line {self.line}{ref}{where}: {self.message}"


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged


TIME_HELP = (
    "Times are ISO 8601, e.g. 2026-05-04T09:00. A time without an offset is read in the "
    "company's time zone ({zone}); a time with one (2026-05-04T09:00+02:00, or Z for +00:00) "
    "keeps it. A time that the clocks skip when daylight saving starts is refused; one they "
    "repeat when it ends means the first of the two."
)


def _time(raw: str, name: str, zone: ZoneInfo) -> datetime | None:
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"'{raw}' is not an ISO 8601 date and time.", name) from None
    return wallclock.from_local(value, zone, name)


class _Technicians:
    """Technicians by email, read in one statement (again after each commit)."""

    def __init__(self) -> None:
        self.reload()

    def reload(self) -> None:
        """Read them all: a commit expires them, and each would be read on its own."""
        rows = db.session.scalars(select(User).where(User.role == Role.TECHNICIAN.value))
        self.by_email = {u.email.lower(): u for u in rows}

    def get(self, email: str) -> User:
        user = self.by_email.get(email.lower())
        if user is None:
            raise ValidationError(f"No technician has the email {email}.", "assignee_email")
        if not user.active:
            raise ValidationError(f"The technician {email} is inactive.", "assignee_email")
        return user


@dataclass
class Plan:
    """A row that passed the checks that need no writing: what to set on which reference."""

    row: Row
    reference: str
    fields: dict[str, Any]
    technician: User | None


def _plan(row: Row, techs: _Technicians, zone: ZoneInfo) -> Plan:
    """Check a row's reference, times and technician; raise ValidationError on the first bad."""
    v = row.values
    reference = v.get("reference", "")
    if not reference:
        raise ValidationError("A reference is needed to create or update a job by it.", "reference")
    if len(reference) > 40:
        raise ValidationError("A reference has at most 40 characters.", "reference")
    fields: dict[str, Any] = {k: v[k] for k in TEXT if v.get(k)}
    for name in ("scheduled_start", "scheduled_end"):
        if v.get(name):
            fields[name] = _time(v[name], name, zone)
    start, end = fields.get("scheduled_start"), fields.get("scheduled_end")
    if start and end and end < start:
        raise ValidationError("The end must not be before the start.", "scheduled_end")
    tech = techs.get(v["assignee_email"]) if v.get("assignee_email") else None
    return Plan(row, reference, fields, tech)


def _existing(plans: list[Plan]) -> dict[str, Job]:
    """Load the jobs the plans name, in one query."""
    refs = {p.reference for p in plans}
    jobs = db.session.scalars(select(Job).where(Job.reference.in_(refs)))
    return {str(j.reference): j for j in jobs}


def _apply(plan: Plan, actor: job_ops.Actor, known: dict[str, Job]) -> tuple[str, Job]:
    """Create or update one job; return ('created' | 'updated' | 'unchanged', the job)."""
    job = known.get(plan.reference)
    if job is None:
        job = job_ops.create(plan.fields, actor, reference=plan.reference)
        if plan.technician is not None:
            job_ops.assign(job, plan.technician, actor)
        return "created", job
    changed = bool(job_ops.update(job, plan.fields, actor))
    if plan.technician is not None:
        changed = job_ops.assign(job, plan.technician, actor) or changed
    return ("updated" if changed else "unchanged"), job


def _row_error(row: Row, exc: Exception) -> RowError:
    if isinstance(exc, DomainError):
        return RowError(row.line, row.values.get("reference", ""), exc.message, exc.field)
    # e.g. the same reference created meanwhile by someone else: this row only fails.
    return RowError(
        row.line,
        row.values.get("reference", ""),
        "conflicts with a job saved meanwhile; import the file again.",
    )


def _fast(plans: list[Plan], actor: job_ops.Actor) -> list[tuple[Plan, str | Exception]]:
    """Apply a chunk: its new jobs in one batch, then its updates one by one, in file order.

    A reference named twice in the chunk goes the one-by-one way both times, so each row
    sees the one before it. Raise on the first row the domain refuses (the caller redoes the
    chunk row by row).
    """
    known = _existing(plans)
    named = Counter(p.reference for p in plans)
    new: list[jobs_bulk.NewJob] = []
    new_plans: list[Plan] = []
    done: dict[int, str | Exception] = {}
    for plan in plans:
        if plan.reference in known or named[plan.reference] > 1:
            continue
        try:
            new.append(jobs_bulk.prepare(plan.fields, plan.reference, plan.technician))
            new_plans.append(plan)
        except DomainError as exc:
            done[id(plan)] = exc  # reported as this row's error; nothing was written for it
    jobs_bulk.create_many(new, actor)
    for plan in new_plans:
        done[id(plan)] = "created"
    for plan in plans:
        if id(plan) not in done:
            outcome, job = _apply(plan, actor, known)
            known[plan.reference] = job
            done[id(plan)] = outcome
    return [(plan, done[id(plan)]) for plan in plans]


def _run_chunk(plans: list[Plan], actor: job_ops.Actor) -> list[tuple[Plan, str | Exception]]:
    """Apply a chunk in one savepoint; if a row fails there, redo the chunk row by row.

    The fast path costs a few statements per chunk; the slow path gives each row its own
    savepoint so a failing row leaves nothing behind.
    """
    mark = push_batch.mark()
    try:
        with counts.savepoint():
            return _fast(plans, actor)
    except (DomainError, IntegrityError):
        push_batch.forget_since(mark)
    known = _existing(plans)
    results: list[tuple[Plan, str | Exception]] = []
    for plan in plans:
        mark = push_batch.mark()
        try:
            with counts.savepoint():
                outcome, job = _apply(plan, actor, known)
        except (DomainError, IntegrityError) as exc:
            push_batch.forget_since(mark)
            results.append((plan, exc))
        else:
            known[plan.reference] = job
            results.append((plan, outcome))
    return results


def import_rows(
    rows: Iterable[Row],
    actor: job_ops.Actor,
    progress: Callable[[int], None] | None = None,
    commit_every: int | None = None,
) -> ImportResult:
    """Import parsed rows; bad rows are collected, good ones land.

    ``commit_every`` commits after about that many rows (the CLI, for long files); without
    it the caller commits once (a portal request). The pushes to the technicians' phones are
    written in the last transaction, which the caller commits.
    """
    with push_batch.coalesced():
        return _import(rows, actor, progress, commit_every)


def _import(
    rows: Iterable[Row],
    actor: job_ops.Actor,
    progress: Callable[[int], None] | None,
    commit_every: int | None,
) -> ImportResult:
    result = ImportResult()
    techs = _Technicians()
    zone = timezones.company_zone()
    tally: Counter[Any] = Counter()
    estimates = jobs_bulk.Estimates()
    since_commit = 0
    for chunk in _chunks(rows, CHUNK):
        plans = []
        for row in chunk:
            try:
                plans.append(_plan(row, techs, zone))
            except DomainError as exc:
                result.errors.append(_row_error(row, exc))
        before = tally["created"]
        for plan, outcome in _run_chunk(plans, actor):
            if isinstance(outcome, Exception):
                result.errors.append(_row_error(plan.row, outcome))
            else:
                tally[outcome] += 1
        estimates.created(tally["created"] - before)
        push_batch.settle()
        since_commit += len(chunk)
        if commit_every and since_commit >= commit_every:
            db.session.commit()
            techs.reload()
            since_commit = 0
        if progress:
            progress(len(chunk))
    result.errors.sort(key=lambda e: e.line)
    result.created, result.updated, result.unchanged = (
        tally["created"],
        tally["updated"],
        tally["unchanged"],
    )
    return result


def _chunks(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
