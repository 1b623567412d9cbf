"""Process a job's line of device actions: strictly in order, each applied exactly once.

Decisions (the contract in DESIGN.md "The inbox"):

* **A line is a job.** Its actions come from one or more devices; each device numbers its
  actions on the job 1, 2, 3... (``seq``). Per device, actions run in ``seq`` order; across
  devices the one received first goes first.
* **One worker per line at a time**, by a Redis lock per job (``SET NX PX``) whose TTL
  (``INBOX_LOCK_SECONDS``) is renewed before every action: a worker killed with SIGKILL keeps
  the line for at most one TTL, after which the checker hands it to another worker.
* **The database is the final guard.** Even if the lock is lost (Redis flushed, TTL expired
  under a stalled worker), the transaction that applies an action first locks the message
  row, re-checks that it is still ``processing`` and that no earlier action of its device is
  unfinished and no action of its job has failed; only then does it apply the action through
  ``portal.domain.jobs`` and mark it ``completed`` -- in the same transaction. A crash, a
  re-enqueue, a retry or a duplicate therefore never applies an action twice nor out of order.
* **Claim, then apply.** A short transaction first marks the head ``processing`` and opens an
  :class:`InboxAttempt` (so people see it and a dead worker's leftovers are recognisable);
  ``processing`` messages are simply taken again by the next worker of that line.
* **Failures hold the line.** A failed action stops its job's line: later actions stay
  ``queued`` and show as *held* until the failure is retried (and succeeds) or discarded.
* **Waiting.** An action whose predecessor (same device, same job, ``seq - 1``) has not arrived
  waits (``wait_reason``) unless an admin released it; so does a ``photo_added`` action whose
  photo has not been uploaded yet (the upload re-enqueues the line).
* Every state change appends ``feed.action_result`` in its transaction (devices learn the
  outcome in their next pull) and, after commit, emits ``inbox_message`` to the inbox room.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import and_, exists, select, text, update

from portal.domain import feed
from portal.domain.errors import DomainError
from portal.domain.inbox_apply import PhotoNotArrived, apply
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


def _unfinished(job_id: int, lock: bool = False) -> list[InboxMessage]:
    query = (
        select(InboxMessage)
        .where(InboxMessage.job_id == job_id, InboxMessage.state.in_(UNFINISHED))
        .order_by(InboxMessage.seq, InboxMessage.id)
    )
    if lock:
        query = query.with_for_update()
    return list(db.session.scalars(query))


def _heads(rows: list[InboxMessage]) -> list[InboxMessage]:
    """Return each device's first unfinished action (rows are in seq order)."""
    heads: dict[int, InboxMessage] = {}
    for row in rows:
        heads.setdefault(_device_key(row), row)
    return list(heads.values())


def _claim(
    job_id: int, retry_failed: bool, skip: set[int], done: set[tuple[int, int]]
) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """Pick the next action, mark it ``processing``; return ((message, attempt), (device, seq)).

    Returns None when the line is done, held behind a failure, or waiting. ``skip`` holds
    actions found waiting for their photo during this pass, so another device's line goes on;
    ``done`` the (device, seq) completed in it, whose successors need no predecessor lookup.
    """
    rows = _unfinished(job_id)
    failed = [r for r in rows if r.state == MessageState.FAILED.value]
    chosen: InboxMessage | None = None
    if failed:
        # A failed action holds the whole line; the checker (or a person) retries it.
        head = min(failed, key=lambda r: r.id)
        if retry_failed and head in _heads(rows):
            chosen = head
        else:
            # Actions that just arrived behind the failure now show as held: say so live.
            after_commit(_emit, 0, job_id)
    else:
        for head in sorted(_heads(rows), key=lambda r: r.id):
            if head.id in skip:
                continue
            if (_device_key(head), head.seq - 1) in done or predecessor_arrived(head):
                chosen = head
                break
            reason = f"Waiting for action #{head.seq - 1} from the device"
            if head.wait_reason != reason:
                head.wait_reason = reason
                announce(head)
    if chosen is None:
        db.session.commit()
        return None
    if db.session.get_bind().dialect.name == "postgresql":
        # Losing this mark in a database crash is harmless (the action is simply taken
        # again), so it need not wait for the disk; the outcome below does.
        db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))
    chosen.state = MessageState.PROCESSING.value
    picked = (_device_key(chosen), chosen.seq)
    chosen.processing_started_at = utcnow()
    chosen.attempts = (chosen.attempts or 0) + 1
    attempt = InboxAttempt(message_id=chosen.id, worker=WORKER_NAME)
    db.session.add(attempt)
    # "processing" is transient: no feed entry or live event; the outcome will follow.
    chosen.updated_at = utcnow()
    db.session.flush()
    ids = (chosen.id, attempt.id)
    db.session.commit()
    return ids, picked


# --- applying one action --------------------------------------------------------------------


def _blocked(message: InboxMessage) -> bool:
    """Return whether an earlier action of the device is unfinished or the job has a failure."""
    earlier = and_(
        InboxMessage.job_id == message.job_id,
        InboxMessage.id != message.id,
        InboxMessage.state.in_(UNFINISHED),
        (InboxMessage.state == MessageState.FAILED.value)
        | (
            InboxMessage.device_id.is_not_distinct_from(message.device_id)
            & (InboxMessage.seq < message.seq)
        ),
    )
    return bool(db.session.scalar(select(exists().where(earlier))))


@dataclass
class Outcome:
    state: str
    category: str | None = None
    text: str | None = None


def _finish(message_id: int, attempt_id: int, outcome: Outcome) -> None:
    """Record a failed or waiting outcome (after the apply transaction rolled back)."""
    message = db.session.get(InboxMessage, message_id, with_for_update=True, populate_existing=True)
    attempt = db.session.get(InboxAttempt, attempt_id)
    if attempt is not None:
        attempt.finished_at = utcnow()
        attempt.outcome = outcome.state if outcome.state == "failed" else "waiting"
        attempt.error_category = outcome.category
        attempt.error_message = outcome.text
    if message is not None and message.state == MessageState.PROCESSING.value:
        message.state = outcome.state
        if outcome.state == MessageState.FAILED.value:
            message.error_category = outcome.category
            message.error_message = outcome.text
            message.processed_at = utcnow()
        else:
            message.wait_reason = outcome.text
        announce(message)
    db.session.commit()


def attempt(message_id: int, attempt_id: int) -> str:
    """Apply a claimed action and record its outcome; return the message's resulting state."""
    try:
        message = db.session.get(
            InboxMessage, message_id, with_for_update=True, populate_existing=True
        )
        if message is None or message.state != MessageState.PROCESSING.value:
            db.session.rollback()
            return "skipped"  # another worker finished it meanwhile
        if _blocked(message):
            # Only after a lost lock: put it back; the line's current owner goes on.
            message.state = MessageState.QUEUED.value
            db.session.commit()
            return "skipped"
        apply(message)
        message.state = MessageState.COMPLETED.value
        message.error_category = message.error_message = message.wait_reason = None
        message.processed_at = utcnow()
        db.session.execute(
            update(InboxAttempt)
            .where(InboxAttempt.id == attempt_id)
            .values(finished_at=utcnow(), outcome=MessageState.COMPLETED.value)
        )
        announce(message)
        db.session.commit()
        return MessageState.COMPLETED.value
    except PhotoNotArrived as exc:
        db.session.rollback()
        _finish(message_id, attempt_id, Outcome(MessageState.QUEUED.value, None, str(exc)))
        return "waiting"
    except DomainError as exc:
        db.session.rollback()
        category = exc.category.value
        _finish(message_id, attempt_id, Outcome(MessageState.FAILED.value, category, exc.message))
        return MessageState.FAILED.value
    except Exception as exc:  # anything unforeseen: recorded, never crashing the worker
        db.session.rollback()
        log.exception("inbox message %s failed unexpectedly", message_id)
        reason = f"Unexpected error: {type(exc).__name__}: {exc}"[:2000]
        _finish(
            message_id,
            attempt_id,
            Outcome(MessageState.FAILED.value, ErrorCategory.INTERNAL.value, reason),
        )
        return MessageState.FAILED.value


def _drain(job_id: int, lock: LineLock, retry_failed: bool) -> dict[str, int]:
    counts: dict[str, int] = {}
    waiting: set[int] = set()
    done: set[tuple[int, int]] = set()
    while lock.renew():
        claimed = _claim(job_id, retry_failed, waiting, done)
        retry_failed = False  # only the failed head is tried again, once per call
        if claimed is None:
            break
        ids, picked = claimed
        state = attempt(*ids)
        counts[state] = counts.get(state, 0) + 1
        if state == MessageState.COMPLETED.value:
            done.add(picked)
        elif state == "waiting":
            waiting.add(ids[0])
        elif state != MessageState.COMPLETED.value:
            break
    return counts


def process_line(job_id: int, retry_failed: bool = False) -> dict[str, int]:
    """Apply the job's runnable actions in order; return counts of outcomes.

    When another worker holds the line this returns at once: that worker looks again after
    releasing the lock, so an action stored meanwhile is not left behind.
    """
    total: dict[str, int] = {}
    for _ in range(1000):  # bounded: each round completes at least one action
        lock = LineLock(job_id)
        if not lock.acquire():
            total["busy"] = total.get("busy", 0) + 1
            return total
        try:
            for k, v in _drain(job_id, lock, retry_failed).items():
                total[k] = total.get(k, 0) + v
        finally:
            db.session.rollback()
            lock.release()
        retry_failed = False
        if not has_runnable(job_id):
            break
    return total


def has_runnable(job_id: int) -> bool:
    """Return whether the line has an action that could run now."""
    rows = _unfinished(job_id)
    db.session.rollback()
    if any(r.state == MessageState.FAILED.value for r in rows):
        return False
    result = any(
        predecessor_arrived(h) and not (h.wait_reason or "").startswith("Waiting for the photo")
        for h in _heads(rows)
    )
    db.session.rollback()
    return result
