"""Per-status job counts, kept in step with every change so the job list reads them cheaply.

Every flush that inserts, deletes or re-statuses a job adds to a per-transaction tally; just
before commit the tally is applied as upserts in status order (one consistent lock order, so
concurrent writers cannot deadlock on it, and the rows are locked only at the very end).
Whatever writes jobs through the ORM is counted, whichever part of the system it is in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import delete, event, func, insert, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction

from portal.extensions import db
from portal.models import Job, JobStatusCount, Status

_KEY = "fieldsync_status_deltas"


def _tally(session: Session, _ctx: Any) -> None:
    deltas: Counter[Any] = session.info.setdefault(_KEY, Counter())
    for obj in session.new:
        if isinstance(obj, Job) and obj.status:
            deltas[obj.status] += 1
    for obj in session.deleted:
        if isinstance(obj, Job):
            history = inspect(obj).attrs.status.history
            old = (history.deleted or history.unchanged or [obj.status])[0]
            deltas[old] -= 1
    for obj in session.dirty:
        if isinstance(obj, Job) and obj not in session.deleted:
            history = inspect(obj).attrs.status.history
            if history.added and history.deleted and history.added[0] != history.deleted[0]:
                deltas[history.deleted[0]] -= 1
                deltas[history.added[0]] += 1


def _apply(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint is released: the root commit applies the whole tally
    if session.info.get(_KEY) or session.new or session.dirty or session.deleted:
        session.flush()
    deltas: Counter[Any] | None = session.info.pop(_KEY, None)
    if not deltas:
        return
    dialect = session.connection().dialect.name
    make_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for status in sorted(deltas):
        delta = deltas[status]
        if delta == 0:
            continue
        stmt = make_insert(JobStatusCount).values(status=status, count=delta)
        stmt = stmt.on_conflict_do_update(
            index_elements=["status"], set_={"count": JobStatusCount.count + delta}
        )
        session.execute(stmt)


def _drop(session: Session, *_args: Any) -> None:
    session.info.pop(_KEY, None)


def _end(session: Session, transaction: SessionTransaction) -> None:
    # Whatever way the outermost transaction ended (commit, rollback, close), its tally ends.
    if transaction.parent is None:
        session.info.pop(_KEY, None)


def add(status: str, n: int) -> None:
    """Count ``n`` jobs of ``status`` written without ORM objects (bulk inserts)."""
    deltas: Counter[str] = db.session.info.setdefault(_KEY, Counter())
    deltas[status] += n


@contextmanager
def savepoint() -> Iterator[None]:
    """Run a block in a SAVEPOINT; if it fails, its jobs leave the pending counts too."""
    db.session.flush()
    saved: Counter[str] = Counter(db.session.info.get(_KEY, Counter()))
    try:
        with db.session.begin_nested():
            yield
    except BaseException:
        db.session.info[_KEY] = saved
        raise


def install() -> None:
    """Hook the tally into every session (idempotent)."""
    if not event.contains(Session, "after_flush", _tally):
        event.listen(Session, "after_flush", _tally)
        event.listen(Session, "before_commit", _apply)
        event.listen(Session, "after_rollback", _drop)
        event.listen(Session, "after_transaction_end", _end)


def by_status() -> dict[str, int]:
    """Return {status: count} for every status (0 where none), in lifecycle order."""
    rows = dict(db.session.execute(select(JobStatusCount.status, JobStatusCount.count)).all())
    return {s.value: max(int(rows.get(s.value, 0)), 0) for s in Status}


def recount() -> dict[str, int]:
    """Rebuild the counts from the jobs themselves (after bulk loads that bypass the ORM)."""
    rows = db.session.execute(select(Job.status, func.count()).group_by(Job.status)).all()
    db.session.execute(delete(JobStatusCount))
    if rows:
        db.session.execute(insert(JobStatusCount), [{"status": s, "count": n} for s, n in rows])
    return {s: n for s, n in rows}


install()
