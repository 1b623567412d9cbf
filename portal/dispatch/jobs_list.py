"""The job list: filters, free-text search, sorting, pages, and per-status counts.

It stays fast at 100,000 jobs: filters and sorts run on indexed columns and stop after one
page (LIMIT), the total is counted only up to a cap, the per-status picture reads the
maintained counts table, and assignees come in one extra query (no N+1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from portal import localtime, params
from portal.dispatch import bp
from portal.domain import counts, wallclock
from portal.domain.inbox import phone_state
from portal.extensions import db
from portal.models import Job, Role, Status, User

PER_PAGE = 50
COUNT_CAP = 1000  # beyond this the list says "more than 1,000": counting further costs O(n)
SORTS = {
    "start": Job.scheduled_start,
    "reference": Job.reference,
    "title": Job.title,
    "customer": Job.customer,
    "status": Job.status,
    "updated": Job.updated_at,
}


@dataclass
class Filters:
    """What the dispatcher asked the list for (all from the query string)."""

    status: str = ""
    tech: str = ""  # a technician id, "none" for unassigned, "" for anyone
    start: date | None = None
    end: date | None = None
    q: str = ""
    sort: str = "start"
    desc: bool = False
    page: int = 1
    notes: list[str] = field(default_factory=list)  # what was made of odd input, for people

    @property
    def range_error(self) -> str:
        """Say why the dates cannot match anything (the To day before the From day)."""
        if self.start and self.end and self.end < self.start:
            return "The To date is before the From date: no day is in between."
        return ""

    @classmethod
    def from_args(cls, args) -> Filters:
        status = args.get("status", "")
        sort = args.get("sort", "start")
        notes: list[str] = []
        start, note = params.day(args.get("from"))
        notes += [note] if note else []
        end, note = params.day(args.get("to"))
        notes += [note] if note else []
        return cls(
            status=status if status in {s.value for s in Status} else "",
            tech=args.get("tech", "") if _tech_ok(args.get("tech", "")) else "",
            start=start,
            end=end,
            q=(args.get("q") or "").strip()[:100],
            sort=sort if sort in SORTS else "start",
            desc=args.get("dir") == "desc",
            page=max(1, min(_int(args.get("page"), 1), 10_000)),
            notes=notes,
        )

    def args(self, **override) -> dict:
        """Return the query-string arguments of these filters, with ``override`` applied."""
        out = {
            "status": self.status,
            "tech": self.tech,
            "from": self.start.isoformat() if self.start else "",
            "to": self.end.isoformat() if self.end else "",
            "q": self.q,
            "sort": self.sort if self.sort != "start" else "",
            "dir": "desc" if self.desc else "",
            "page": self.page if self.page != 1 else "",
        }
        out.update(override)
        return {k: v for k, v in out.items() if v not in ("", None)}

    @property
    def active(self) -> bool:
        return bool(self.status or self.tech or self.start or self.end or self.q)


def _tech_ok(raw: str) -> bool:
    return raw in ("", "none") or params.whole(raw) is not None


def _int(raw, default: int) -> int:
    value = params.whole(raw, minimum=0)
    return default if value is None else value


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """Return the instants the viewer's local ``day`` starts and ends (23 to 25 hours apart)."""
    return wallclock.day_bounds(day, localtime.viewer_zone())


def filtered(f: Filters) -> Select:
    """Return the SELECT of jobs matching ``f``, not yet ordered or limited."""
    query = select(Job)
    if f.status:
        query = query.where(Job.status == f.status)
    if f.tech == "none":
        query = query.where(Job.assignee_id.is_(None))
    elif f.tech:
        query = query.where(Job.assignee_id == int(f.tech))
    if f.start:
        query = query.where(Job.scheduled_start >= day_bounds(f.start)[0])
    if f.end:
        query = query.where(Job.scheduled_start < day_bounds(f.end)[1])
    if f.q:
        query = query.where(
            or_(
                *(
                    col.icontains(f.q, autoescape=True)
                    for col in (Job.reference, Job.title, Job.customer, Job.address)
                )
            )
        )
    return query


def page_of(f: Filters) -> tuple[list[Job], bool, int]:
    """Return (jobs of the page, whether a next page exists, matches counted up to the cap)."""
    base = filtered(f)
    column = SORTS[f.sort]
    order = (column.desc(), Job.id.desc()) if f.desc else (column.asc(), Job.id.asc())
    rows = list(
        db.session.scalars(
            base.options(selectinload(Job.assignee))
            .order_by(*order)
            .offset((f.page - 1) * PER_PAGE)
            .limit(PER_PAGE + 1)
        )
    )
    capped = base.with_only_columns(Job.id).order_by(None).limit(COUNT_CAP + 1).subquery()
    total = db.session.scalar(select(func.count()).select_from(capped)) or 0
    return rows[:PER_PAGE], len(rows) > PER_PAGE, total


def technicians() -> list[User]:
    """Return the active technicians, by name."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == Role.TECHNICIAN.value, User.active.is_(True))
            .order_by(User.name, User.email)
        )
    )


@bp.route("/")
def index():
    return redirect(url_for("dispatch.jobs"))


@bp.route("/jobs")
def jobs():
    f = Filters.from_args(request.args)
    for note in f.notes:
        flash(note, "warning")
    rows, has_next, total = page_of(f)
    by_status = counts.by_status()
    return render_template(
        "dispatch/jobs.html",
        jobs=rows,
        f=f,
        has_next=has_next,
        total=total,
        capped=total > COUNT_CAP,
        pages=max(1, -(-min(total, COUNT_CAP) // PER_PAGE)),
        per_page=PER_PAGE,
        counts=by_status,
        counts_total=sum(by_status.values()),
        technicians=technicians(),
        sorts=SORTS,
        labels={s.value: s.label for s in Status},
        phone=phone_state.for_jobs(j.id for j in rows),
        phone_summary=phone_state.summary,
    )
