"""Bounded history: compact and expire the sync feed, trim the push log and other logs.

Run daily by the cleaner. What is kept and for how long:

* **Sync feed.** For a technician and a job only the newest entry matters (a pull sends the
  job's present state), and for an action result only the newest of its message; older
  ones are deleted whenever the cleaner runs. Entries older than
  ``SYNC_FEED_RETENTION_DAYS`` go too; the newest of them becomes the technician's
  *horizon*, and a cursor from before it is answered ``410 cursor_expired`` (the device
  starts over with a first sync, which costs its current jobs, not the history).
* **Push log.** Pushes that are done (sent, failed, token removed, recorded) and older than
  ``PUSH_LOG_RETENTION_DAYS``. Queued and retrying pushes stay.
* **Inbox attempts.** Of a message retried for a long time, attempts older than
  ``INBOX_RETENTION_DAYS`` except its latest one (the message keeps its count).
* **Sign-in throttling.** Records whose lockout and counting window are over.

Inbox messages have their own cleaner (``inbox.maintenance.clean``); job history is kept.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, delete, func, or_, select, update

from portal.extensions import db
from portal.models import (
    FeedEntry,
    FeedKind,
    InboxAttempt,
    LoginThrottle,
    Push,
    PushState,
    SyncPosition,
    utcnow,
)

BATCH = 1000
DONE_PUSHES = (
    PushState.SENT.value,
    PushState.FAILED.value,
    PushState.TOKEN_REMOVED.value,
    PushState.RECORDED.value,
)


def _delete_positions(technician_id: int, positions: list[int]) -> None:
    for i in range(0, len(positions), BATCH):
        db.session.execute(
            delete(FeedEntry).where(
                FeedEntry.technician_id == technician_id,
                FeedEntry.position.in_(positions[i : i + BATCH]),
            )
        )
    db.session.commit()


def compact_feed(technician_id: int) -> int:
    """Delete the technician's superseded feed entries; return how many."""
    rows = db.session.execute(
        select(FeedEntry.position, FeedEntry.job_id, FeedEntry.kind, FeedEntry.message_id)
        .where(FeedEntry.technician_id == technician_id)
        .order_by(FeedEntry.position.desc())
    )
    seen: set[tuple[str, int | None]] = set()
    superseded: list[int] = []
    for position, job_id, kind, message_id in rows:
        if kind == FeedKind.HORIZON.value:
            continue
        key = ("m", message_id) if kind == FeedKind.ACTION_RESULT.value else ("j", job_id)
        if key in seen:
            superseded.append(position)
        else:
            seen.add(key)
    _delete_positions(technician_id, superseded)
    return len(superseded)


def expire_feed(technician_id: int, cutoff: datetime) -> int:
    """Delete the technician's entries written before ``cutoff``; return how many.

    The newest of them stays as the horizon marker: a pull whose cursor is below it reads
    the marker first and is told the cursor expired.
    """
    horizon = db.session.scalar(
        select(func.max(FeedEntry.position)).where(
            FeedEntry.technician_id == technician_id, FeedEntry.created_at < cutoff
        )
    )
    if horizon is None:
        db.session.rollback()
        return 0
    gone = db.session.execute(
        delete(FeedEntry).where(
            FeedEntry.technician_id == technician_id, FeedEntry.position < horizon
        )
    ).rowcount
    db.session.execute(
        update(FeedEntry)
        .where(FeedEntry.technician_id == technician_id, FeedEntry.position == horizon)
        .values(kind=FeedKind.HORIZON.value, job_id=0, message_id=None)
    )
    db.session.commit()
    return int(gone or 0)


def clean_feed(now: datetime | None = None) -> dict[str, int]:
    """Compact and expire every technician's feed."""
    days = current_app.config["SYNC_FEED_RETENTION_DAYS"]
    cutoff = (now or utcnow()) - timedelta(days=days)
    compacted = expired = 0
    for technician_id in list(db.session.scalars(select(SyncPosition.technician_id))):
        compacted += compact_feed(technician_id)
        expired += expire_feed(technician_id, cutoff)
    return {"feed_compacted": compacted, "feed_expired": expired}


def _delete_in_batches(model, condition) -> int:
    deleted = 0
    while True:
        ids = list(db.session.scalars(select(model.id).where(condition).limit(BATCH)))
        if not ids:
            db.session.rollback()
            return deleted
        db.session.execute(delete(model).where(model.id.in_(ids)))
        db.session.commit()
        deleted += len(ids)


def clean_pushes(now: datetime | None = None) -> int:
    """Delete finished pushes older than the push log's retention; return how many."""
    cutoff = (now or utcnow()) - timedelta(days=current_app.config["PUSH_LOG_RETENTION_DAYS"])
    return _delete_in_batches(Push, and_(Push.state.in_(DONE_PUSHES), Push.created_at < cutoff))


def clean_attempts(now: datetime | None = None) -> int:
    """Delete old attempts of long-retried messages, keeping each message's latest."""
    cutoff = (now or utcnow()) - timedelta(days=current_app.config["INBOX_RETENTION_DAYS"])
    later = db.aliased(InboxAttempt)
    has_later = (
        select(later.id)
        .where(later.message_id == InboxAttempt.message_id, later.id > InboxAttempt.id)
        .exists()
    )
    return _delete_in_batches(InboxAttempt, and_(InboxAttempt.started_at < cutoff, has_later))


def clean_sign_in_records(now: datetime | None = None) -> int:
    """Delete throttling records that no longer count or lock anything."""
    now = now or utcnow()
    window = timedelta(seconds=current_app.config["LOGIN_LOCKOUT_SECONDS"])
    stale = and_(
        LoginThrottle.first_failure_at < now - window,
        or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now),
    )
    gone = db.session.execute(delete(LoginThrottle).where(stale)).rowcount
    db.session.commit()
    return int(gone or 0)


def clean(now: datetime | None = None) -> dict[str, int]:
    """Run every retention rule; return what each deleted."""
    result = clean_feed(now)
    result["pushes"] = clean_pushes(now)
    result["inbox_attempts"] = clean_attempts(now)
    result["sign_in_records"] = clean_sign_in_records(now)
    return result
