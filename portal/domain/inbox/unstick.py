"""No inbox item stuck for good: what an admin can do in each state, and overdue items.

Every shown state that is not finished offers at least one action, each audited like the
repairs in :mod:`.repair` (who, when, before, after, note):

* failed -- retry, discard (support also edits the payload);
* waiting (its predecessor never arrived) -- release, or skip it;
* held (behind a failed action) -- skip it, or act on the failure it waits for;
* queued (runnable, but no worker has it: Redis lost the task) -- process now, or skip it;
* processing (a worker died holding it) -- put it back in the queue once no worker holds the
  job's line;
* completed with a photo still on the phone -- stop waiting for the photo.

Completed and discarded actions are finished: there is nothing left to unstick.

Skipping and putting back change the message's state, which a worker's claim also writes:
both take the job's line lock first, so they never interleave with a worker on that line.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, and_, func, or_, select

from portal.domain import jobs as job_ops
from portal.domain.errors import ValidationError
from portal.domain.inbox import audit
from portal.domain.inbox import processor as inbox
from portal.domain.inbox.events import announce
from portal.extensions import db
from portal.models import InboxMessage, MessageState, PendingPhoto, User, utcnow

QUEUED = MessageState.QUEUED.value
PROCESSING = MessageState.PROCESSING.value

# Shown state -> the actions offered there (names of the inbox views' buttons).
ACTIONS: dict[str, tuple[str, ...]] = {
    "failed": ("retry", "discard"),
    "waiting": ("release", "skip"),
    "held": ("skip",),
    "queued": ("process_now", "skip"),
    "processing": ("put_back",),
    "completed": (),
    "discarded": (),
}
FINISHED = ("completed", "discarded")


def actions_for(message: InboxMessage, shown: str, photo_awaited: bool = False) -> list[str]:
    """Return the actions an admin may take on ``message`` as it is shown now."""
    offered = list(ACTIONS.get(shown, ()))
    if "release" in offered and (message.released or not message.wait_reason):
        offered.remove("release")
    if photo_awaited:
        offered.append("stop_waiting")
    return offered


class _LineHeld:
    """Hold a job's line lock for the length of an admin's change, or refuse."""

    def __init__(self, job_id: int):
        self.lock = inbox.LineLock(job_id)

    def __enter__(self) -> _LineHeld:
        if not self.lock.acquire():
            raise ValidationError(
                "A worker is applying this job's actions right now; try again in a moment.",
                "state",
            )
        return self

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def skip(message: InboxMessage, user: User, note: str = "") -> None:
    """Never apply a queued action (waiting, held or queued); the rest of its line goes on.

    Commits: the line lock is held only until the change is in the database.
    """
    if message.state != QUEUED:
        raise ValidationError("Only an action that has not run yet can be skipped.", "state")
    with _LineHeld(message.job_id):
        db.session.refresh(message, with_for_update=True)
        if message.state != QUEUED:
            raise ValidationError("This action has run meanwhile; nothing was skipped.", "state")
        before = audit.snapshot(message)
        message.state = MessageState.DISCARDED.value
        message.wait_reason = None
        message.processed_at = utcnow()
        audit.record(message, user, "skip", before, note.strip()[:2000])
        announce(message)
        inbox.enqueue_line(message.job_id)
        db.session.commit()


def process_now(message: InboxMessage, user: User) -> None:
    """Hand a queued action's line to a worker again (its task was lost); audited."""
    if message.state != QUEUED:
        raise ValidationError("Only a queued action can be sent to a worker.", "state")
    before = audit.snapshot(message)
    audit.record(message, user, "process_now", before)
    inbox.enqueue_line(message.job_id)


def put_back(message: InboxMessage, user: User) -> None:
    """Return an action a dead worker left as processing to the queue; commits.

    Refused while a worker holds the job's line: that worker is applying it right now.
    """
    if message.state != PROCESSING:
        raise ValidationError("Only an action shown as processing can be put back.", "state")
    with _LineHeld(message.job_id):
        db.session.refresh(message, with_for_update=True)
        if message.state != PROCESSING:
            raise ValidationError("This action has finished meanwhile.", "state")
        before = audit.snapshot(message)
        message.state = QUEUED
        audit.record(message, user, "put_back", before)
        announce(message)
        inbox.enqueue_line(message.job_id)
        db.session.commit()


def stop_waiting_for_photo(message: InboxMessage, user: User) -> None:
    """Stop waiting for the photo this action announced (the phone is gone); audited."""
    from portal.domain import files

    pending = db.session.scalar(select(PendingPhoto).where(PendingPhoto.message_id == message.id))
    job = job_ops.get_for_update(message.job_id)
    if pending is None or job is None:
        raise ValidationError("That photo is no longer awaited.", "photo")
    before = audit.snapshot(message)
    files.give_up_photo(job, pending.id, job_ops.Actor.portal(user))
    audit.record(message, user, "stop_waiting", before, "Stopped waiting for the photo.")
    announce(message)


def holding(message: InboxMessage) -> InboxMessage | None:
    """Return the failed action of the same phone on the job that holds ``message`` back."""
    return db.session.scalar(
        select(InboxMessage)
        .where(
            InboxMessage.job_id == message.job_id,
            InboxMessage.device_id.is_not_distinct_from(message.device_id),
            InboxMessage.seq < message.seq,
            InboxMessage.state == MessageState.FAILED.value,
        )
        .order_by(InboxMessage.seq)
        .limit(1)
    )


# --- overdue ----------------------------------------------------------------------------------


def overdue_before(now: datetime | None = None) -> datetime:
    """Return the receipt time before which an unfinished action counts as overdue."""
    minutes = current_app.config["INBOX_OVERDUE_MINUTES"]
    return (now or utcnow()) - timedelta(minutes=minutes)


def is_overdue_clause(now: datetime | None = None) -> ColumnElement[bool]:
    """SQL: the message waits (queued, held, waiting, processing) since before the limit."""
    return and_(
        or_(InboxMessage.state == QUEUED, InboxMessage.state == PROCESSING),
        InboxMessage.received_at < overdue_before(now),
    )


def is_overdue(message: InboxMessage, now: datetime | None = None) -> bool:
    return message.state in (QUEUED, PROCESSING) and message.received_at < overdue_before(now)


def overdue_counts(now: datetime | None = None) -> dict[str, Any]:
    """Return the overdue actions and photos, with the oldest of each, for the status page."""
    actions, oldest = db.session.execute(
        select(func.count(InboxMessage.id), func.min(InboxMessage.received_at)).where(
            is_overdue_clause(now)
        )
    ).one()
    photos, oldest_photo = db.session.execute(
        select(func.count(PendingPhoto.id), func.min(PendingPhoto.created_at)).where(
            PendingPhoto.created_at < overdue_before(now)
        )
    ).one()
    return {
        "minutes": current_app.config["INBOX_OVERDUE_MINUTES"],
        "actions": actions or 0,
        "oldest": oldest,
        "photos": photos or 0,
        "oldest_photo": oldest_photo,
    }
