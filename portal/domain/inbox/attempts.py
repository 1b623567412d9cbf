"""Applying claimed actions: each completes or fails on its own, a line's run in one commit.

See :mod:`.processor` for the rules of a line; this module is the transaction around one
action (``attempt``) or several consecutive ones of a device's line (``attempt_batch``).
"""

from __future__ import annotations

import logging
from enum import Enum

from sqlalchemy import and_, delete, exists, select, update

from portal.domain import counts as job_counts
from portal.domain.errors import DomainError
from portal.domain.inbox.apply import People, apply
from portal.domain.inbox.events import announce
from portal.extensions import db
from portal.models import (
    UNFINISHED_STATES,
    ErrorCategory,
    InboxAttempt,
    InboxMessage,
    MessageState,
    utcnow,
)

log = logging.getLogger(__name__)


def _blocked(message: InboxMessage) -> bool:
    """Return whether an earlier action of the same device on the job is unfinished."""
    earlier = and_(
        InboxMessage.job_id == message.job_id,
        InboxMessage.id != message.id,
        InboxMessage.state.in_(UNFINISHED_STATES),
        InboxMessage.device_id.is_not_distinct_from(message.device_id),
        InboxMessage.seq < message.seq,
    )
    return bool(db.session.scalar(select(exists().where(earlier))))


class Step(str, Enum):
    """What one try at a line's head came to."""

    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"  # another worker has it, or an earlier action is unfinished
    BUSY = "busy"  # another worker holds the job's lock


def _fail(message_id: int, attempt_id: int, category: str, reason: str) -> None:
    """Record a failure (after the apply transaction rolled back) and commit it."""
    _record_failure(message_id, attempt_id, category, reason)
    db.session.commit()


def _record_failure(message_id: int, attempt_id: int, category: str, reason: str) -> None:
    """Mark a claimed action failed and its attempt finished, in the open transaction."""
    message = db.session.get(InboxMessage, message_id, with_for_update=True, populate_existing=True)
    attempt = db.session.get(InboxAttempt, attempt_id)
    if attempt is not None:
        attempt.finished_at = utcnow()
        attempt.outcome = MessageState.FAILED.value
        attempt.error_category = category
        attempt.error_message = reason
    if message is not None and message.state == MessageState.PROCESSING.value:
        message.state = MessageState.FAILED.value
        message.error_category = category
        message.error_message = reason
        message.processed_at = utcnow()
        announce(message)


def _apply_claimed(
    message_id: int,
    attempt_id: int,
    people: People | None = None,
    locked: InboxMessage | None = None,
    after_own: bool = False,
) -> Step:
    """Apply a claimed action and mark it completed, in the open transaction.

    ``locked``: the message, already read and locked in this transaction. ``after_own``:
    the action right before it on its line completed in this transaction, so nothing
    earlier can be unfinished. The attempt is left open for :func:`_finish_attempts`.
    """
    message = locked or db.session.get(
        InboxMessage, message_id, with_for_update=True, populate_existing=True
    )
    if message is None or message.state != MessageState.PROCESSING.value:
        return Step.SKIPPED  # another worker finished it meanwhile
    if not after_own and _blocked(message):
        # Only after a lost lock: put it back; the line's current owner goes on.
        message.state = MessageState.QUEUED.value
        return Step.SKIPPED
    apply(message, people)
    message.state = MessageState.COMPLETED.value
    message.error_category = message.error_message = message.wait_reason = None
    message.processed_at = utcnow()
    announce(message)
    return Step.COMPLETED


def _finish_attempts(attempt_ids: list[int]) -> None:
    """Close the attempts of completed actions, in one statement."""
    if attempt_ids:
        db.session.execute(
            update(InboxAttempt)
            .where(InboxAttempt.id.in_(attempt_ids))
            .values(finished_at=utcnow(), outcome=MessageState.COMPLETED.value)
        )


def _failure(message_id: int, exc: Exception) -> tuple[str, str]:
    """Return (category, reason) for an action that raised ``exc``."""
    if isinstance(exc, DomainError):
        return exc.category.value, exc.message
    log.exception("inbox message %s failed unexpectedly", message_id, exc_info=exc)
    return ErrorCategory.INTERNAL.value, f"Unexpected error: {type(exc).__name__}: {exc}"[:2000]


def attempt(message_id: int, attempt_id: int) -> Step:
    """Apply a claimed action and record its outcome."""
    try:
        step = _apply_claimed(message_id, attempt_id)
        if step is Step.COMPLETED:
            _finish_attempts([attempt_id])
    except Exception as exc:  # anything unforeseen too: recorded, never crashing the worker
        db.session.rollback()
        _fail(message_id, attempt_id, *_failure(message_id, exc))
        return Step.FAILED
    db.session.commit()
    return step


def attempt_batch(claims: list[tuple[int, int]]) -> list[Step]:
    """Apply claimed actions of one line in one transaction, each in its own savepoint.

    The first that does not complete ends the batch: its failure is recorded (after its
    savepoint rolled back), and the claims after it are given back untried. Return the
    steps of the actions tried.
    """
    if len(claims) == 1:
        return [attempt(*claims[0])]
    steps: list[Step] = []
    people: People = {}  # one line: the same technician and device throughout
    completed: list[int] = []
    # Lock the run's messages in one statement (the database's guard against a second worker
    # after a lost lock), in id order as any other worker would.
    locked = {
        message.id: message
        for message in db.session.scalars(
            select(InboxMessage)
            .where(InboxMessage.id.in_([message_id for message_id, _ in claims]))
            .order_by(InboxMessage.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    for n, (message_id, attempt_id) in enumerate(claims):
        try:
            with job_counts.savepoint():
                step = _apply_claimed(
                    message_id, attempt_id, people, locked.get(message_id), after_own=n > 0
                )
        except Exception as exc:  # the savepoint is rolled back: record why, in this transaction
            _record_failure(message_id, attempt_id, *_failure(message_id, exc))
            step = Step.FAILED
        steps.append(step)
        if step is not Step.COMPLETED:
            _give_back(claims[n + 1 :])
            break
        completed.append(attempt_id)
    _finish_attempts(completed)
    db.session.commit()
    return steps


def _give_back(claims: list[tuple[int, int]]) -> None:
    """Return claimed actions that were not tried to ``queued``, as if never claimed."""
    for message_id, attempt_id in claims:
        message = db.session.get(InboxMessage, message_id, populate_existing=True)
        if message is not None and message.state == MessageState.PROCESSING.value:
            message.state = MessageState.QUEUED.value
            message.attempts = max((message.attempts or 1) - 1, 0)
            message.processing_started_at = None
        db.session.execute(delete(InboxAttempt).where(InboxAttempt.id == attempt_id))
