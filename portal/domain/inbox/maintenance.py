"""Periodic upkeep of the inbox: the checker that restarts stalled lines, the cleaner.

The checker retries every failed line's head and re-enqueues lines that lost their task; the
cleaner deletes completed messages past their retention and remembers how far each device line
was cleaned, so a later action does not wait for a predecessor that is gone.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from portal.domain.inbox import processor
from portal.extensions import db
from portal.models import InboxLineMark, InboxMessage, MessageState, utcnow

FAILED = MessageState.FAILED.value


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
    idle = {j for j in pending - failed if not processor.line_is_locked(j)}
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
