"""The per-technician sync feed: gathered during a transaction, written as it commits.

Why positions and not ids: ids come from one sequence when a row is inserted, but
transactions commit in another order. A writer that took id 100 and commits after the one
that took id 101 would put its change *below* a cursor a phone already holds, and that phone
would never see it. So every technician has a counter row (``sync_positions``), and a
transaction's entries are written in the last step before its commit, with positions taken
from that counter (``INSERT … ON CONFLICT DO UPDATE … RETURNING``). The counter row stays
locked until the commit is done, so a second writer for the same technician takes its
positions only after the first has committed: position order is commit order. Whenever a
reader sees position *p*, everything below *p* is visible too, and a pull may hand out the
last position it read as the next cursor, with no time window.

The lock is taken only at the commit, in technician order, after every other write of the
transaction, the status-count rows included (so it adds no deadlock and is held for the
commit alone); writers of different technicians never wait for each other. On SQLite
writers are serialized anyway.

Savepoints: an entry asked for inside a savepoint that rolls back is forgotten with it, the
same rule as ``portal.effects``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, event, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

# Imported first so its commit hook (the status-count rows) runs before ours: every commit
# then takes its row locks in one order, count rows before counter rows.
from portal.domain import counts  # noqa: F401
from portal.effects import inside
from portal.extensions import db
from portal.models import FeedEntry, FeedKind, SyncPosition, utcnow

log = logging.getLogger(__name__)
_PENDING = "fieldsync_feed_pending"


class _Entry(NamedTuple):
    technician_id: int
    job_id: int
    kind: str
    message_id: int | None
    created_at: datetime
    savepoint: Any  # the savepoint it was asked for in (None: the transaction itself)


def _append(technician_id: int, job_id: int, kind: FeedKind, message_id: int | None = None):
    session = db.session()
    entry = _Entry(
        technician_id,
        job_id,
        kind.value,
        message_id,
        utcnow(),
        session.get_nested_transaction(),
    )
    session.info.setdefault(_PENDING, []).append(entry)


def upsert(technician_id: int, job_id: int) -> None:
    """Tell the technician's devices the job changed (or arrived)."""
    _append(technician_id, job_id, FeedKind.UPSERT)


def remove(technician_id: int, job_id: int) -> None:
    """Tell the technician's devices the job left them."""
    _append(technician_id, job_id, FeedKind.REMOVE)


def action_result(technician_id: int, job_id: int, message_id: int) -> None:
    """Tell the technician's devices an uploaded action has a new outcome."""
    _append(technician_id, job_id, FeedKind.ACTION_RESULT, message_id)


def _reserve_statement(dialect: str):
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = make(SyncPosition).values(
        technician_id=bindparam("technician_id"), position=bindparam("count")
    )
    return stmt.on_conflict_do_update(
        index_elements=[SyncPosition.technician_id],
        set_={"position": SyncPosition.position + stmt.excluded.position},
    ).returning(SyncPosition.position)


_RESERVE = {name: _reserve_statement(name) for name in ("postgresql", "sqlite")}
_INSERT = insert(FeedEntry)


def reserve(conn: Any, technician_id: int, count: int) -> int:
    """Take ``count`` positions from the technician's counter; return the last one.

    The counter row stays locked until the transaction ends (that is the point).
    """
    stmt = _RESERVE[conn.dialect.name]
    return int(conn.execute(stmt, {"technician_id": technician_id, "count": count}).scalar_one())


def _write(conn: Any, entries: list[_Entry]) -> None:
    """Insert ``entries`` with consecutive positions per technician, technicians in order."""
    by_technician: dict[int, list[_Entry]] = defaultdict(list)
    for entry in entries:
        by_technician[entry.technician_id].append(entry)
    rows = []
    for technician_id in sorted(by_technician):
        mine = by_technician[technician_id]
        last = reserve(conn, technician_id, len(mine))
        for position, e in enumerate(mine, start=last - len(mine) + 1):
            rows.append(
                {
                    "technician_id": technician_id,
                    "position": position,
                    "job_id": e.job_id,
                    "kind": e.kind,
                    "message_id": e.message_id,
                    "created_at": e.created_at,
                }
            )
    conn.execute(_INSERT, rows)


def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint is released; the root commit writes everything
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    # Every other write first, so the counter locks are the last ones this commit takes.
    session.flush()
    _write(session.connection(), pending)


def _after_rollback(session: Session) -> None:
    savepoint = session.get_nested_transaction()
    if savepoint is None:
        session.info.pop(_PENDING, None)
        return
    pending = session.info.get(_PENDING) or []
    pending[:] = [e for e in pending if not inside(e.savepoint, savepoint)]


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    left = session.info.pop(_PENDING, None)
    if left:
        # Only a root transaction committed while a savepoint of it was still open gets
        # here: its entries are written now, in their own transaction. Positions taken now
        # are above every cursor handed out so far, so the change is still delivered.
        log.error("feed entries of a commit made inside a savepoint are written late")
        with session.get_bind().begin() as conn:
            _write(conn, left)


def _after_end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)  # however the transaction ended, its entries did


def last_position(technician_id: int) -> int:
    """Return the technician's last committed position (0 before their first entry)."""
    value = (
        db.session.connection()
        .execute(_LAST, {"technician_id": technician_id})
        .scalar_one_or_none()
    )
    return int(value or 0)


_LAST = select(SyncPosition.position).where(
    SyncPosition.technician_id == bindparam("technician_id")
)


def init_app(app) -> None:
    """Hook the feed into every session's commit and rollback (idempotent)."""
    if not event.contains(Session, "before_commit", _before_commit):
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_rollback", _after_rollback)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_transaction_end", _after_end)
