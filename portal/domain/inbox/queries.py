"""Read the inbox: filtered lists, counts per state, the last days by state, a job's line.

Two states are shown but not stored: *held* (queued behind a failed action of the same
device on the same job) and *waiting* (queued while its predecessor has not arrived); they
are computed in SQL so the list can be filtered by them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, exists, func, literal, select
from sqlalchemy.orm import aliased

from portal import params
from portal.domain import wallclock
from portal.extensions import db
from portal.models import (
    ErrorCategory,
    InboxAttempt,
    InboxAudit,
    InboxMessage,
    MessageState,
    PendingPhoto,
    User,
)

UTC_ZONE = ZoneInfo("UTC")
STORED = [s.value for s in MessageState]


class Shown(str, Enum):
    """A message's state as the inbox shows it: the stored states, and held and waiting."""

    QUEUED = MessageState.QUEUED.value
    WAITING = "waiting"  # queued while its predecessor has not arrived
    HELD = "held"  # queued behind a failed action of the same device on the job
    PROCESSING = MessageState.PROCESSING.value
    FAILED = MessageState.FAILED.value
    COMPLETED = MessageState.COMPLETED.value
    DISCARDED = MessageState.DISCARDED.value


SHOWN = [s.value for s in Shown]
CATEGORIES = [c.value for c in ErrorCategory]

_other = aliased(InboxMessage)
_failed_in_job = exists().where(
    _other.job_id == InboxMessage.job_id,
    _other.device_id.is_not_distinct_from(InboxMessage.device_id),
    _other.seq < InboxMessage.seq,
    _other.state == MessageState.FAILED.value,
)
_queued = InboxMessage.state == MessageState.QUEUED.value
IS_HELD = and_(_queued, _failed_in_job)
IS_WAITING = and_(_queued, ~_failed_in_job, InboxMessage.wait_reason.is_not(None))
SHOWN_STATE = case(
    (IS_HELD, literal(Shown.HELD.value)),
    (IS_WAITING, literal(Shown.WAITING.value)),
    else_=InboxMessage.state,
)


@dataclass
class Filter:
    """What the list shows; built from the query string, so a filter is a shareable URL."""

    state: str = ""
    category: str = ""
    technician: int | None = None
    job: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    has_errors: bool = False
    # Still waiting (queued, held, waiting, processing) after INBOX_OVERDUE_MINUTES.
    overdue: bool = False
    # The zone whose local days date_from and date_to are (the viewer's); not a URL argument.
    zone: ZoneInfo = field(default=UTC_ZONE, compare=False, repr=False, metadata={"arg": False})

    @classmethod
    def from_args(cls, args: Mapping[str, Any], zone: ZoneInfo = UTC_ZONE) -> Filter:
        def as_int(name: str) -> int | None:
            return params.whole((args.get(name) or "").strip().lstrip("#"))

        def as_date(name: str) -> date | None:
            return params.day(args.get(name))[0]  # out of range: clamped

        state = args.get("state", "")
        category = args.get("category", "")
        return cls(
            state=state if state in SHOWN else "",
            category=category if category in CATEGORIES else "",
            technician=as_int("technician"),
            job=as_int("job"),
            date_from=as_date("date_from"),
            date_to=as_date("date_to"),
            has_errors=args.get("has_errors") in ("1", "on", "true"),
            overdue=args.get("overdue") in ("1", "on", "true"),
            zone=zone,
        )

    def args(self) -> dict[str, str]:
        """Return the non-empty filter values as query-string arguments."""
        out = {}
        for f in fields(self):
            if f.metadata.get("arg") is False:
                continue
            value = getattr(self, f.name)
            if value not in (None, "", False):
                out[f.name] = "1" if value is True else str(value)
        return out

    def apply(self, query: Select[Any], skip_state: bool = False) -> Select[Any]:
        if self.state and not skip_state:
            if self.state == Shown.HELD.value:
                query = query.where(IS_HELD)
            elif self.state == Shown.WAITING.value:
                query = query.where(IS_WAITING)
            elif self.state == Shown.QUEUED.value:
                query = query.where(_queued, ~IS_HELD, ~IS_WAITING)
            else:
                query = query.where(InboxMessage.state == self.state)
        if self.category:
            query = query.where(InboxMessage.error_category == self.category)
        if self.technician:
            query = query.where(InboxMessage.technician_id == self.technician)
        if self.job:
            query = query.where(InboxMessage.job_id == self.job)
        if self.date_from:
            start = wallclock.day_bounds(self.date_from, self.zone)[0]
            query = query.where(InboxMessage.received_at >= start)
        if self.date_to:
            end = wallclock.day_bounds(self.date_to, self.zone)[1]
            query = query.where(InboxMessage.received_at < end)
        if self.has_errors:
            query = query.where(InboxMessage.error_category.is_not(None))
        if self.overdue:
            from portal.domain.inbox.unstick import is_overdue_clause

            query = query.where(is_overdue_clause())
        return query


def messages(flt: Filter, page: int = 1, per_page: int = 50) -> tuple[list[Any], int]:
    """Return ([(message, shown state)], total) for one page of the filtered list."""
    base = flt.apply(select(InboxMessage, SHOWN_STATE.label("shown")))
    total = db.session.scalar(flt.apply(select(func.count(InboxMessage.id)))) or 0
    rows = db.session.execute(
        base.order_by(InboxMessage.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return [(r[0], r[1]) for r in rows], total


def matching_ids(flt: Filter, state: str | None = None) -> list[int]:
    """Return the ids of messages the filter matches (optionally only in stored ``state``)."""
    query = flt.apply(select(InboxMessage.id))
    if state:
        query = query.where(InboxMessage.state == state)
    return list(db.session.scalars(query.order_by(InboxMessage.id)))


def counts(flt: Filter | None = None) -> dict[str, int]:
    """Return the number of messages per shown state (under the filter, ignoring its state)."""
    query = select(SHOWN_STATE, func.count(InboxMessage.id)).group_by(SHOWN_STATE)
    if flt is not None:
        query = flt.apply(query, skip_state=True)
    found: dict[str, int] = {state: n for state, n in db.session.execute(query).all()}
    return {s: int(found.get(s, 0)) for s in SHOWN}


def last_days(days: int = 7, zone: ZoneInfo = UTC_ZONE) -> list[dict[str, Any]]:
    """Return, per local day of ``zone`` of the last ``days`` (oldest first), counts per state.

    Days are bucketed by their UTC bounds in SQL (portable, and exact on 23- and 25-hour
    daylight-saving days), not by a database's own idea of dates.
    """
    first = wallclock.today(zone) - timedelta(days=days - 1)
    listed = [first + timedelta(days=i) for i in range(days)]
    starts = [wallclock.day_bounds(d, zone)[0] for d in listed]
    end = wallclock.day_bounds(listed[-1], zone)[1]
    whens = [(InboxMessage.received_at < bound, i) for i, bound in enumerate(starts[1:])]
    bucket = case(*whens, else_=days - 1) if whens else literal(0)
    # Grouped outside: PostgreSQL cannot tell that two CASEs with bound values are the same.
    received = (
        select(bucket.label("day"), InboxMessage.state.label("state"))
        .where(InboxMessage.received_at >= starts[0], InboxMessage.received_at < end)
        .subquery()
    )
    rows = db.session.execute(
        select(received.c.day, received.c.state, func.count()).group_by(
            received.c.day, received.c.state
        )
    ).all()
    table = {d: dict.fromkeys(STORED, 0) for d in listed}
    for i, state, n in rows:
        key = listed[int(i)]
        if state in table[key]:
            table[key][state] = int(n)
    return [{"day": d, "counts": c, "total": sum(c.values())} for d, c in table.items()]


def line(job_id: int) -> list[tuple[InboxMessage, str]]:
    """Return every message of a job's line in order, with its shown state."""
    rows = db.session.execute(
        select(InboxMessage, SHOWN_STATE)
        .where(InboxMessage.job_id == job_id)
        .order_by(InboxMessage.device_id, InboxMessage.seq, InboxMessage.id)
    ).all()
    return [(r[0], r[1]) for r in rows]


def shown_state(message: InboxMessage) -> str:
    return db.session.scalar(select(SHOWN_STATE).where(InboxMessage.id == message.id)) or ""


def held_behind(message: InboxMessage) -> list[InboxMessage]:
    """Return the queued actions of the same device on the job that this failure holds back."""
    if message.state != MessageState.FAILED.value:
        return []
    return list(
        db.session.scalars(
            select(InboxMessage)
            .where(
                InboxMessage.job_id == message.job_id,
                InboxMessage.device_id.is_not_distinct_from(message.device_id),
                InboxMessage.seq > message.seq,
                _queued,
            )
            .order_by(InboxMessage.seq, InboxMessage.id)
        )
    )


def pending_photo(message: InboxMessage) -> PendingPhoto | None:
    """Return the photo this action announced, while its file is still on the phone."""
    return db.session.scalar(select(PendingPhoto).where(PendingPhoto.message_id == message.id))


def attempts(message_id: int) -> list[InboxAttempt]:
    return list(
        db.session.scalars(
            select(InboxAttempt)
            .where(InboxAttempt.message_id == message_id)
            .order_by(InboxAttempt.id.desc())
        )
    )


def audit(message_id: int) -> list[InboxAudit]:
    return list(
        db.session.scalars(
            select(InboxAudit).where(InboxAudit.message_id == message_id).order_by(InboxAudit.id)
        )
    )


def technicians() -> list[User]:
    return list(
        db.session.scalars(select(User).where(User.role == "technician").order_by(User.name))
    )
