"""Append to the per-technician sync feed (the pull side reads it by id range)."""

from __future__ import annotations

from portal.extensions import db
from portal.models import FeedEntry, FeedKind


def upsert(technician_id: int, job_id: int) -> None:
    """Tell the technician's devices the job changed (or arrived)."""
    db.session.add(
        FeedEntry(technician_id=technician_id, job_id=job_id, kind=FeedKind.UPSERT.value)
    )


def remove(technician_id: int, job_id: int) -> None:
    """Tell the technician's devices the job left them."""
    db.session.add(
        FeedEntry(technician_id=technician_id, job_id=job_id, kind=FeedKind.REMOVE.value)
    )


def action_result(technician_id: int, job_id: int, message_id: int) -> None:
    """Tell the technician's devices an uploaded action has a new outcome."""
    db.session.add(
        FeedEntry(
            technician_id=technician_id,
            job_id=job_id,
            kind=FeedKind.ACTION_RESULT.value,
            message_id=message_id,
        )
    )
