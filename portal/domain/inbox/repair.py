"""Repair the inbox: retry, discard, edit a payload, release a waiting action.

Every operation by a person is audited (who, when, before, after) in the same transaction as
the change it records, appends the device's ``action_result`` and, after commit, re-enqueues
the job's line so the rest of it goes on at once.
"""

from __future__ import annotations

from typing import Any, cast

from portal.domain import jsonsafe
from portal.domain.errors import ValidationError
from portal.domain.inbox import audit, processor
from portal.domain.inbox.apply import payload_problem
from portal.domain.inbox.events import announce
from portal.domain.inbox.store import storable
from portal.models import InboxMessage, MessageState, User, utcnow

FAILED = MessageState.FAILED.value


def retry(messages: list[InboxMessage], user: User | None) -> int:
    """Put failed messages back in the queue; return how many (others are left alone)."""
    done = 0
    for message in messages:
        if message.state != FAILED:
            continue
        before = audit.snapshot(message)
        message.state = MessageState.QUEUED.value
        message.error_category = message.error_message = None
        audit.record(message, user, "retry", before)
        announce(message)
        processor.enqueue_line(message.job_id)
        done += 1
    return done


def discard(message: InboxMessage, user: User, note: str = "") -> None:
    """Give up on a failed action so the rest of its job's line goes on."""
    if message.state != FAILED:
        raise ValidationError("Only a failed action can be discarded.", "state")
    before = audit.snapshot(message)
    message.state = MessageState.DISCARDED.value
    message.processed_at = utcnow()
    audit.record(message, user, "discard", before, note.strip()[:2000])
    announce(message)
    processor.enqueue_line(message.job_id)


def parse_payload(text: str, kind: str) -> dict[str, Any]:
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
    return cast(dict[str, Any], payload)  # payload_problem refused anything but an object


def edit_payload(message: InboxMessage, text: str, user: User, note: str = "") -> None:
    """Replace a failed message's payload (support only: the view checks the role)."""
    if message.state != FAILED:
        raise ValidationError("Only a failed action's payload can be edited.", "payload")
    payload = parse_payload(text, message.type)
    before = audit.snapshot(message)
    message.payload = payload
    audit.record(message, user, "edit", before, note.strip()[:2000])


def release(message: InboxMessage, user: User) -> None:
    """Let a waiting action go ahead without its missing predecessor."""
    if message.state != MessageState.QUEUED.value or message.released:
        raise ValidationError("Only a waiting action can be released.", "state")
    before = audit.snapshot(message)
    message.released = True
    message.wait_reason = None
    audit.record(message, user, "release", before)
    announce(message)
    processor.enqueue_line(message.job_id)
