"""The per-technician sync feed: appended in a transaction, positioned when it commits.

Why positions and not ids: ids come from one sequence when a row is inserted, but
transactions commit in another order. A writer that took id 100 and commits after the one
that took id 101 would put its change *below* a cursor a phone already holds, and that phone
would never see it. So every technician has a counter row (``sync_positions``), and the
entries a transaction wrote get their positions from it in the last step before the commit
(``UPDATE … RETURNING`` under the counter row's lock). A second writer for the same
technician waits on that lock until the first has committed, so position order is commit
order: whenever a reader sees position *p*, everything below *p* is visible too, and a pull
may hand out the last position it read as the next cursor, with no time window.

The lock is taken only at the commit, in technician order, after every other write of the
transaction, the status-count rows included (so it adds no deadlock and is held for the
commit alone); writers of different technicians never wait for each other. On SQLite
writers are serialized anyway.

Savepoints: an entry whose savepoint rolled back is no longer in the session and gets no
position. A root commit made while a savepoint is still open leaves its entries without a
position; :func:`repair` (run by the inbox checker) positions those later, which still
delivers them, since a position given later is above every cursor handed out before.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from sqlalchemy import event, func, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

# Imported first so its commit hook (the status-count rows) runs before ours: every commit
# then takes its row locks in one order, count rows before counter rows.
from portal.domain import counts  # noqa: F401
from portal.extensions import db
from portal.models import FeedEntry, FeedKind, SyncPosition

log = logging.getLogger(__name__)
_PENDING = "fieldsync_feed_pending"


def _append(technician_id: int, job_id: int, kind: FeedKind, message_id: int | None = None):
    entry = FeedEntry(
        technician_id=technician_id, job_id=job_id, kind=kind.value, message_id=message_id
    )
    db.session.add(entry)
    db.session.info.setdefault(_PENDING, []).append(entry)


def upsert(technician_id: int, job_id: int) -> None:
    """Tell the technician's devices the job changed (or arrived)."""
    _append(technician_id, job_id, FeedKind.UPSERT)


def remove(technician_id: int, job_id: int) -> None:
    """Tell the technician's devices the job left them."""
    _append(technician_id, job_id, FeedKind.REMOVE)


def action_result(technician_id: int, job_id: int, message_id: int) -> None:
    """Tell the technician's devices an uploaded action has a new outcome."""
    _append(technician_id, job_id, FeedKind.ACTION_RESULT, message_id)


def reserve(session: Session, technician_id: int, count: int) -> int:
    """Take ``count`` positions from the technician's counter; return the last one.

    The counter row stays locked until the transaction ends (that is the point).
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(SyncPosition).values(technician_id=technician_id, position=count)
    stmt = stmt.on_conflict_do_update(
        index_elements=[SyncPosition.technician_id],
        set_={"position": SyncPosition.position + count},
    ).returning(SyncPosition.position)
    return int(session.execute(stmt).scalar_one())


def _position(session: Session, entries: list[FeedEntry]) -> None:
    """Give ``entries`` consecutive positions per technician, technicians in id order."""
    by_technician: dict[int, list[FeedEntry]] = defaultdict(list)
    for entry in entries:
        by_technician[entry.technician_id].append(entry)
    for technician_id in sorted(by_technician):
        rows = sorted(by_technician[technician_id], key=lambda e: e.id)
        last = reserve(session, technician_id, len(rows))
        for offset, entry in enumerate(rows, start=last - len(rows) + 1):
            entry.position = offset


def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint is released; the root commit positions everything
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    # Every other write first, so the counter locks are the last ones this commit takes.
    session.flush()
    live = [e for e in pending if e.position is None and inspect(e).persistent]
    if live:
        _position(session, live)
        session.flush()


def _after_end(session: Session, transaction) -> None:
    if transaction.parent is None:
        left = session.info.pop(_PENDING, None)
        if left and any(e.position is None and inspect(e).persistent for e in left):
            log.warning("feed entries committed without a position; the checker will place them")


def repair(batch: int = 1000) -> int:
    """Position entries that committed without one; return how many."""
    fixed = 0
    while True:
        rows = list(
            db.session.scalars(
                select(FeedEntry)
                .where(FeedEntry.position.is_(None))
                .order_by(FeedEntry.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        )
        if not rows:
            db.session.rollback()
            return fixed
        _position(db.session, rows)
        db.session.commit()
        fixed += len(rows)


def last_position(technician_id: int) -> int:
    """Return the technician's last committed position (0 before their first entry)."""
    value = (
        db.session.connection()
        .execute(_LAST, {"technician_id": technician_id})
        .scalar_one_or_none()
    )
    return int(value or 0)


_LAST = select(SyncPosition.position).where(
    SyncPosition.technician_id == db.bindparam("technician_id")
)


def unpositioned_count() -> int:
    return int(db.session.scalar(select(func.count()).where(FeedEntry.position.is_(None))) or 0)


def init_app(app) -> None:
    """Hook positioning into every session's commit (idempotent)."""
    if not event.contains(Session, "before_commit", _before_commit):
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_transaction_end", _after_end)
