"""What is stuck between a technician's phone and a job, in words a dispatcher uses.

The job page and the job list read this: an action from the phone that failed (and why, and
who can fix it), actions held behind it, an action waiting for an earlier one the phone has
not sent, and photos still on the phone. It reads the inbox; it changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from portal.domain.inbox.queries import IS_HELD, IS_WAITING, SHOWN_STATE
from portal.extensions import db
from portal.models import InboxMessage, MessageState, PendingPhoto, Status, User

FAILED = MessageState.FAILED.value

FIXERS = {
    "rights": "An admin can give the technician that right (Configuration), then retry it "
    "in the inbox.",
    "moved": "An admin can discard it in the inbox, or give the job back and retry it.",
    "configuration": "An admin can allow that status change (Configuration → Status "
    "transitions), then retry it in the inbox.",
    "validation": "A dispatcher can fill in the report on this page; an admin then retries it "
    "in the inbox.",
    "conflict": "An admin can retry it in the inbox, or discard it.",
    "internal": "An admin can retry it in the inbox; if it fails again, support looks into it.",
    "waiting": "The phone sends the missing step on its next sync; an admin can release it.",
    "photo": "The phone sends it on a faster network; an admin can stop waiting for it.",
}


RIGHT_WORDS = {
    "change_status": "change a job's status",
    "edit_report": "fill in the report",
    "upload_photos": "add photos",
    "add_notes": "add notes",
}


def _name_of(message: InboxMessage) -> str:
    user = db.session.get(User, message.technician_id)
    return user.display_name if user else "The technician"


@dataclass
class Issue:
    """One thing stuck on the phone side of a job."""

    kind: str  # failed | waiting | photo
    text: str
    fixer: str
    at: datetime | None
    message_id: int | None = None
    held: int = 0  # later actions of the same phone waiting behind a failed one


def what(message: InboxMessage) -> str:
    """Say what the technician did, as "change the status to En route"."""
    payload = message.payload if isinstance(message.payload, dict) else {}
    if message.type == "status_change":
        try:
            return f"change the status to {Status(payload.get('to')).label}"
        except ValueError:
            return "change the status"
    return {
        "report_update": "send the report",
        "note": "add a note",
        "photo_added": "add a photo",
    }.get(message.type, "send an action")


def _why(message: InboxMessage) -> tuple[str, str]:
    """Return (reason in words, fixer key) for a failed action."""
    reason = (message.error_message or "").strip()
    category = message.error_category or "internal"
    if category == "authorization":
        if "lacks the right" in reason:
            right = (message.error_message or "").rsplit("'", 2)[-2:-1]
            words = RIGHT_WORDS.get(right[0] if right else "", "do that")
            return f"{_name_of(message)} is not allowed to {words} from the phone", "rights"
        return reason, "moved"
    if category == "internal":
        return "something went wrong on our side", "internal"
    return reason, category if category in FIXERS else "internal"


def _name(users: dict[int, str], user_id: int) -> str:
    return users.get(user_id) or "the technician"


def for_jobs(job_ids: Iterable[int]) -> dict[int, list[Issue]]:
    """Return the phone-side issues of each job that has any (a few queries for a page)."""
    ids = list(set(job_ids))
    if not ids:
        return {}
    out: dict[int, list[Issue]] = defaultdict(list)
    stuck = list(
        db.session.execute(
            select(InboxMessage, SHOWN_STATE)
            .where(InboxMessage.job_id.in_(ids))
            .where((InboxMessage.state == FAILED) | IS_WAITING)
            .order_by(InboxMessage.job_id, InboxMessage.seq, InboxMessage.id)
        ).all()
    )
    held = dict(
        db.session.execute(
            select(InboxMessage.job_id, func.count())
            .where(InboxMessage.job_id.in_(ids), IS_HELD)
            .group_by(InboxMessage.job_id)
        ).all()
    )
    photos = list(
        db.session.scalars(
            select(PendingPhoto)
            .where(PendingPhoto.job_id.in_(ids))
            .order_by(PendingPhoto.job_id, PendingPhoto.created_at)
        )
    )
    people = {m.technician_id for m, _ in stuck} | {p.technician_id for p in photos}
    users = {
        user.id: user.display_name
        for user in db.session.scalars(select(User).where(User.id.in_(people)))
    }
    failures_seen: dict[int, int] = defaultdict(int)
    for message, shown in stuck:
        who = _name(users, message.technician_id)
        if message.state == FAILED:
            reason, fixer = _why(message)
            issue = Issue(
                "failed",
                f"{who}'s phone could not {what(message)}: {reason.rstrip('.')}.",
                FIXERS[fixer],
                message.processed_at or message.updated_at,
                message.id,
            )
            failures_seen[message.job_id] += 1
            if failures_seen[message.job_id] == 1:
                issue.held = int(held.get(message.job_id, 0))
            out[message.job_id].append(issue)
        elif shown == "waiting":
            out[message.job_id].append(
                Issue(
                    "waiting",
                    f"{who}'s phone sent step {message.seq} ({what(message)}) but not step "
                    f"{message.seq - 1} yet; it waits for it.",
                    FIXERS["waiting"],
                    message.received_at,
                    message.id,
                )
            )
    for photo in photos:
        who = _name(users, photo.technician_id)
        out[photo.job_id].append(
            Issue(
                "photo",
                f"Waiting for a photo from {who}'s phone.",
                FIXERS["photo"],
                photo.created_at,
                photo.message_id,
            )
        )
    return dict(out)


def for_job(job_id: int) -> list[Issue]:
    """Return the phone-side issues of one job (failures first)."""
    issues = for_jobs([job_id]).get(job_id, [])
    order = {"failed": 0, "waiting": 1, "photo": 2}
    return sorted(issues, key=lambda i: order[i.kind])


def recent_line(job_id: int, limit: int = 12) -> list[tuple[InboxMessage, str]]:
    """Return the job's latest actions from phones (newest first) with their shown state."""
    rows = db.session.execute(
        select(InboxMessage, SHOWN_STATE)
        .where(InboxMessage.job_id == job_id)
        .order_by(InboxMessage.id.desc())
        .limit(limit)
    ).all()
    return [(r[0], r[1]) for r in rows]


def summary(issues: list[Issue]) -> str:
    """Say in a few words what is stuck, for a job list row ("1 failed · 1 photo")."""
    counts: dict[str, int] = defaultdict(int)
    for issue in issues:
        counts[issue.kind] += 1
    parts = []
    if counts["failed"]:
        parts.append(f"{counts['failed']} failed")
    if counts["waiting"]:
        parts.append(f"{counts['waiting']} waiting")
    if counts["photo"]:
        parts.append(f"{counts['photo']} photo{'s' if counts['photo'] != 1 else ''} to come")
    return "Phone: " + ", ".join(parts) if parts else ""
