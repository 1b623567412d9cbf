"""Repair the inbox: retry, discard, edit a payload, release a waiting action; check and clean.

Every operation by a person is audited (who, when, before, after) in the same transaction as
the change it records, appends the device's ``action_result`` and, after commit, re-enqueues
the job's line so the rest of it goes on at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from portal.domain import inbox, jsonsafe
from portal.domain.actions import storable
from portal.domain.errors import ValidationError
from portal.domain.inbox_apply import payload_problem
from portal.extensions import db
from portal.models import InboxAudit, InboxLineMark, InboxMessage, MessageState, User, utcnow

FAILED = MessageState.FAILED.value


def _snapshot(message: InboxMessage) -> dict:
    return {
        "state": message.state,
        "payload": message.payload,
        "error_category": message.error_category,
        "error_message": message.error_message,
    }


def _audit(message: InboxMessage, user: User | None, action: str, before: dict, note: str = ""):
    db.session.add(
        InboxAudit(
            message_id=message.id,
            user_id=user.id if user else None,
            action=action,
            before=before,
            after=_snapshot(message),
            note=note,
        )
    )


def retry(messages: list[InboxMessage], user: User | None) -> int:
    """Put failed messages back in the queue; return how many (others are left alone)."""
    done = 0
    for message in messages:
        if message.state != FAILED:
            continue
        before = _snapshot(message)
        message.state = MessageState.QUEUED.value
        message.error_category = message.error_message = None
        _audit(message, user, "retry", before)
        inbox.announce(message)
        inbox.enqueue_line(message.job_id)
        done += 1
    return done


def discard(message: InboxMessage, user: User, note: str = "") -> None:
    """Give up on a failed action so the rest of its job's line goes on."""
    if message.state != FAILED:
        raise ValidationError("Only a failed action can be discarded.", "state")
    before = _snapshot(message)
    message.state = MessageState.DISCARDED.value
    message.processed_at = utcnow()
    _audit(message, user, "discard", before, note.strip()[:2000])
    inbox.announce(message)
    inbox.enqueue_line(message.job_id)


def parse_payload(text: str, kind: str) -> dict:
    """Parse and validate an edited payload; raise ValidationError naming the problem."""
    try:
        payload = jsonsafe.loads(text or "")
    except jsonsafe.JsonError as exc:
        raise ValidationError(exc.message, "payload") from None
    if not storable(payload):
        raise ValidationError(
            "The payload holds text with NUL or invalid characters, or a non-finite number.",
            "payload",
        )
    problem = payload_problem(kind, payload)
    if problem:
        raise ValidationError(problem[1], "payload")
    return payload


def edit_payload(message: InboxMessage, text: str, user: User, note: str = "") -> None:
    """Replace a failed message's payload (support only: the view checks the role)."""
    if message.state != FAILED:
        raise ValidationError("Only a failed action's payload can be edited.", "payload")
    payload = parse_payload(text, message.type)
    before = _snapshot(message)
    message.payload = payload
    _audit(message, user, "edit", before, note.strip()[:2000])


def release(message: InboxMessage, user: User) -> None:
    """Let a waiting action go ahead without its missing predecessor."""
    if message.state != MessageState.QUEUED.value or message.released:
        raise ValidationError("Only a waiting action can be released.", "state")
    before = _snapshot(message)
    message.released = True
    message.wait_reason = None
    _audit(message, user, "release", before)
    inbox.announce(message)
    inbox.enqueue_line(message.job_id)


# --- periodic upkeep --------------------------------------------------------------------------


def check() -> dict[str, int]:
    """Retry every failed line's head and re-enqueue lines nobody is working on.

    Lines with queued or processing actions but no lock in Redis have lost their task (a
    worker died, Redis lost its queues): they are enqueued again. Enqueueing a line that is
    in fact fine costs one no-op task; it never applies anything twice.
    """
    from portal.integrations.queue import QueueName, enqueue

    failed = set(
        db.session.scalars(
            select(InboxMessage.job_id).where(InboxMessage.state == FAILED).distinct()
        )
    )
    active = (MessageState.QUEUED.value, MessageState.PROCESSING.value)
    pending = set(
        db.session.scalars(
            select(InboxMessage.job_id).where(InboxMessage.state.in_(active)).distinct()
        )
    )
    db.session.rollback()
    idle = {j for j in pending - failed if not inbox.line_is_locked(j)}
    for job_id in sorted(failed):
        enqueue("workers.inbox.process_line", job_id, True, queue_name=QueueName.INBOX)
    for job_id in sorted(idle):
        enqueue("workers.inbox.process_line", job_id, False, queue_name=QueueName.INBOX)
    return {"retried_lines": len(failed), "requeued_lines": len(idle)}


def clean(batch: int = 500, now: datetime | None = None) -> dict[str, int]:
    """Delete completed messages older than INBOX_RETENTION_DAYS, in batches.

    Failed, discarded, queued (held, waiting) messages are kept. Before deleting, the highest
    cleaned seq of each device line is remembered so a later action does not wait for a
    predecessor that was cleaned away.
    """
    cutoff = (now or utcnow()) - timedelta(days=current_app.config["INBOX_RETENTION_DAYS"])
    deleted = 0
    while True:
        rows = db.session.execute(
            select(InboxMessage.id, InboxMessage.job_id, InboxMessage.device_id, InboxMessage.seq)
            .where(
                InboxMessage.state == MessageState.COMPLETED.value,
                InboxMessage.processed_at < cutoff,
            )
            .order_by(InboxMessage.id)
            .limit(batch)
        ).all()
        if not rows:
            break
        highest: dict[tuple[int, int], int] = {}
        for _, job_id, device_id, seq in rows:
            key = (job_id, device_id or 0)
            highest[key] = max(highest.get(key, 0), seq)
        for (job_id, device_key), seq in highest.items():
            mark = db.session.get(InboxLineMark, (job_id, device_key))
            if mark is None:
                db.session.add(
                    InboxLineMark(job_id=job_id, device_key=device_key, cleaned_through=seq)
                )
            else:
                mark.cleaned_through = max(mark.cleaned_through, seq)
        db.session.execute(delete(InboxMessage).where(InboxMessage.id.in_([r[0] for r in rows])))
        db.session.commit()
        deleted += len(rows)
    remaining = db.session.scalar(select(func.count()).select_from(InboxMessage))
    db.session.rollback()
    return {"deleted": deleted, "remaining": remaining or 0}
