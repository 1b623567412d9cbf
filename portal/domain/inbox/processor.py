"""Process a job's line of device actions: strictly in order, each applied exactly once.

Decisions (the contract in DESIGN.md "The inbox"):

* **A line is a job and a device.** Each device numbers its actions on a job 1, 2, 3...
  (``seq``) and they run in that order. Devices are independent of each other: a failure or
  a missing predecessor on one device's line never stops another device's actions on the
  same job (a job reassigned while its old technician was offline goes on for the new one).
* **One worker per job at a time**, by a Redis lock per job (``SET NX PX``) whose TTL
  (``INBOX_LOCK_SECONDS``) is renewed before every action: a worker killed with SIGKILL keeps
  the job for at most one TTL, after which the checker hands it to another worker. The
  job's device lines take turns under it, oldest head first.
* **The database is the final guard.** Even if the lock is lost (Redis flushed, TTL expired
  under a stalled worker), the transaction that applies an action first locks the line's
  unfinished rows and reads them afresh, picks the head from them, applies it through
  ``portal.domain.jobs`` and marks it ``completed`` with its :class:`InboxAttempt` -- in
  that one transaction. A crash, a re-enqueue, a retry or a duplicate therefore never
  applies an action twice nor out of order.
* **One transaction per action.** Nothing is written before the outcome: a worker killed
  while applying leaves the action ``queued`` (or ``failed``), and the next worker of that
  job takes it again. A failure is recorded in a second transaction, after the first rolled
  back. (``processing`` remains a state for rows written before this was so.)
* **Failures hold their device's line.** Later actions of that device on that job stay
  ``queued`` and show as *held* until the failure is retried (and succeeds) or discarded.
* **Waiting.** An action whose predecessor (same device, same job, ``seq - 1``) has not arrived
  waits (``wait_reason``) unless an admin released it. Photos never wait: a ``photo_added``
  whose file is still on the phone is applied as a pending photo (see :mod:`.apply`).
* Every state change appends ``feed.action_result`` in its transaction (devices learn the
  outcome in their next pull) and, after commit, emits ``inbox_message`` to the inbox room.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from enum import Enum

from flask import current_app
from sqlalchemy import and_, exists, select

from portal.domain.errors import DomainError
from portal.domain.inbox.apply import apply
from portal.domain.sync import feed
from portal.effects import after_commit
from portal.extensions import db, get_redis
from portal.integrations import realtime
from portal.models import (
    ErrorCategory,
    InboxAttempt,
    InboxLineMark,
    InboxMessage,
    MessageState,
    utcnow,
)

log = logging.getLogger(__name__)

LOCK_PREFIX = "fieldsync:inbox:line:"
UNFINISHED = (MessageState.QUEUED.value, MessageState.PROCESSING.value, MessageState.FAILED.value)
WORKER_NAME = f"{socket.gethostname()}.{os.getpid()}"

_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"  # noqa: E501
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"  # noqa: E501


class LineLock:
    """A Redis lock on one job's line, with a TTL so a dead worker cannot keep it."""

    def __init__(self, job_id: int):
        self.key = f"{LOCK_PREFIX}{job_id}"
        self.token = uuid.uuid4().hex
        self.ttl_ms = int(current_app.config.get("INBOX_LOCK_SECONDS", 30) * 1000)

    def acquire(self) -> bool:
        return bool(get_redis().set(self.key, self.token, nx=True, px=self.ttl_ms))

    def renew(self) -> bool:
        """Extend the lock; False when it was lost (expired or taken)."""
        return bool(get_redis().eval(_RENEW, 1, self.key, self.token, self.ttl_ms))

    def release(self) -> None:
        get_redis().eval(_RELEASE, 1, self.key, self.token)


def line_is_locked(job_id: int) -> bool:
    return bool(get_redis().exists(f"{LOCK_PREFIX}{job_id}"))


def announce(message: InboxMessage) -> None:
    """Queue the device feed entry and, after commit, the live event for a state change."""
    message.updated_at = utcnow()
    feed.action_result(message.technician_id, message.job_id, message.id)
    after_commit(_emit, message.id, message.job_id)


def _emit(message_id: int, job_id: int) -> None:
    realtime.emit(
        "inbox_message", {"message_id": message_id, "job_id": job_id}, realtime.Room.INBOX
    )


def enqueue_line(job_id: int, retry_failed: bool = False) -> None:
    """After commit, have a worker process the job's line."""
    from portal.integrations.queue import QueueName, enqueue

    args = (job_id, True) if retry_failed else (job_id,)
    after_commit(enqueue, "workers.inbox.process_line", *args, queue_name=QueueName.INBOX)


# --- the order of a line --------------------------------------------------------------------


def _device_key(message: InboxMessage) -> int:
    return message.device_id or 0


def predecessor_arrived(message: InboxMessage) -> bool:
    """Return whether the action before this one (same device, same job) is known."""
    if message.seq <= 1 or message.released:
        return True
    same_line = and_(
        InboxMessage.job_id == message.job_id,
        InboxMessage.device_id.is_not_distinct_from(message.device_id),
        InboxMessage.seq == message.seq - 1,
    )
    if db.session.scalar(select(exists().where(same_line))):
        return True
    mark = db.session.get(InboxLineMark, (message.job_id, _device_key(message)))
    return mark is not None and mark.cleaned_through >= message.seq - 1


def _unfinished(job_id: int) -> list[InboxMessage]:
    query = (
        select(InboxMessage)
        .where(InboxMessage.job_id == job_id, InboxMessage.state.in_(UNFINISHED))
        .order_by(InboxMessage.seq, InboxMessage.id)
    )
    return list(db.session.scalars(query))


def _heads(rows: list[InboxMessage]) -> list[InboxMessage]:
    """Return each device's first unfinished action (rows are in seq order)."""
    heads: dict[int, InboxMessage] = {}
    for row in rows:
        heads.setdefault(_device_key(row), row)
    return list(heads.values())


def _unfinished_locked(job_id: int) -> list[InboxMessage]:
    """Return the job's unfinished actions in seq order, locked and freshly read."""
    query = (
        select(InboxMessage)
        .where(InboxMessage.job_id == job_id, InboxMessage.state.in_(UNFINISHED))
        .order_by(InboxMessage.seq, InboxMessage.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(db.session.scalars(query))


def _next(
    job_id: int, retry_failed: bool, retried: set[int], done: set[tuple[int, int]]
) -> InboxMessage | None:
    """Pick the next action to apply and keep it locked in the open transaction.

    Returns None (after committing any wait reasons) when no device line of the job can go
    on: each is done, held behind its failure, or waiting. ``retried`` holds the failed
    heads already tried again in this pass; ``done`` the (device, seq) completed in it,
    whose successors need no predecessor lookup.

    The line's unfinished rows are read under a row lock: even when the Redis lock was lost
    (flushed, or expired under a stalled worker), a second worker waits here for the first
    one's commit and then sees what it did, so the head it picks has no unfinished earlier
    action of its device and is not applied twice.
    """
    held = False
    for head in sorted(_heads(_unfinished_locked(job_id)), key=lambda r: r.id):
        if head.state == MessageState.FAILED.value:
            if retry_failed and head.id not in retried:
                retried.add(head.id)
                return head
            held = True  # this device's later actions wait; the other devices go on
            continue
        if (_device_key(head), head.seq - 1) in done or predecessor_arrived(head):
            return head
        reason = f"Waiting for action #{head.seq - 1} from the device"
        if head.wait_reason != reason:
            head.wait_reason = reason
            announce(head)
    if held:
        # Actions that just arrived behind a failure now show as held: say so live.
        after_commit(_emit, 0, job_id)
    db.session.commit()
    return None


# --- applying one action --------------------------------------------------------------------


class Step(str, Enum):
    """What one try at a line's head came to."""

    COMPLETED = "completed"
    FAILED = "failed"
    BUSY = "busy"  # another worker holds the job's lock


def _fail(message_id: int, started_at, category: str, reason: str) -> None:
    """Record a failure (after the apply transaction rolled back)."""
    message = db.session.get(InboxMessage, message_id, with_for_update=True, populate_existing=True)
    if message is None or message.state not in UNFINISHED:
        db.session.rollback()
        return  # discarded or done meanwhile
    now = utcnow()
    message.attempts = (message.attempts or 0) + 1
    message.processing_started_at = started_at
    message.state = MessageState.FAILED.value
    message.error_category = category
    message.error_message = reason
    message.processed_at = now
    db.session.add(
        InboxAttempt(message_id=message.id, worker=WORKER_NAME, started_at=started_at,
                     finished_at=now, outcome=MessageState.FAILED.value,
                     error_category=category, error_message=reason)
    )  # fmt: skip
    announce(message)
    db.session.commit()


def attempt(message: InboxMessage) -> Step:
    """Apply a picked (locked) action, record its outcome and commit: one transaction.

    Nothing is written before the outcome: a worker killed while applying leaves the action
    as it was, to be taken again.
    """
    message_id, started_at = message.id, utcnow()
    try:
        apply(message)
        now = utcnow()
        message.state = MessageState.COMPLETED.value
        message.error_category = message.error_message = message.wait_reason = None
        message.attempts = (message.attempts or 0) + 1
        message.processing_started_at = started_at
        message.processed_at = now
        db.session.add(
            InboxAttempt(message_id=message_id, worker=WORKER_NAME, started_at=started_at,
                         finished_at=now, outcome=MessageState.COMPLETED.value)
        )  # fmt: skip
        announce(message)
        db.session.commit()
        return Step.COMPLETED
    except DomainError as exc:
        db.session.rollback()
        _fail(message_id, started_at, exc.category.value, exc.message)
        return Step.FAILED
    except Exception as exc:  # anything unforeseen: recorded, never crashing the worker
        db.session.rollback()
        log.exception("inbox message %s failed unexpectedly", message_id)
        reason = f"Unexpected error: {type(exc).__name__}: {exc}"[:2000]
        _fail(message_id, started_at, ErrorCategory.INTERNAL.value, reason)
        return Step.FAILED


def _drain(job_id: int, lock: LineLock, retry_failed: bool, counts: dict[str, int]) -> None:
    retried: set[int] = set()
    done: set[tuple[int, int]] = set()
    while lock.renew():
        message = _next(job_id, retry_failed, retried, done)
        if message is None:
            return
        picked = (_device_key(message), message.seq)
        step = attempt(message)
        counts[step.value] = counts.get(step.value, 0) + 1
        if step is Step.COMPLETED:
            done.add(picked)
        # A failure holds only its own device's line: the others go on in this pass.


def process_line(job_id: int, retry_failed: bool = False) -> dict[str, int]:
    """Apply the job's runnable actions, each device's in order; return counts of outcomes.

    When another worker holds the job this returns at once: that worker looks again after
    releasing the lock, so an action stored meanwhile is not left behind.
    """
    total: dict[str, int] = {}
    for _ in range(1000):  # bounded: each round completes or fails at least one action
        lock = LineLock(job_id)
        if not lock.acquire():
            total[Step.BUSY.value] = total.get(Step.BUSY.value, 0) + 1
            return total
        try:
            _drain(job_id, lock, retry_failed, total)
        finally:
            db.session.rollback()
            lock.release()
        retry_failed = False
        if not has_runnable(job_id):
            break
    return total


def has_runnable(job_id: int) -> bool:
    """Return whether some device line of the job has an action that could run now."""
    heads = _heads(_unfinished(job_id))
    result = any(h.state != MessageState.FAILED.value and predecessor_arrived(h) for h in heads)
    db.session.rollback()
    return result
