"""What people and phones hear when an inbox message changes state."""

from __future__ import annotations

from portal.domain.sync import feed
from portal.effects import after_commit
from portal.integrations import realtime
from portal.models import InboxMessage, utcnow


def announce(message: InboxMessage) -> None:
    """Queue the device feed entry and, after commit, the live event for a state change."""
    message.updated_at = utcnow()
    feed.action_result(message.technician_id, message.job_id, message.id)
    after_commit(emit_change, message.id, message.job_id)


def emit_change(message_id: int, job_id: int) -> None:
    """Tell open inbox pages, job pages and lists that a message (0: the line) changed."""
    realtime.emit(
        "inbox_message", {"message_id": message_id, "job_id": job_id}, realtime.Room.INBOX
    )
    # Dispatchers see the job's phone-side state (job page, job list), not the inbox itself.
    realtime.emit("job_phone_changed", {"job_id": job_id}, realtime.Room.JOBS)
