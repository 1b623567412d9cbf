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
  under a stalled worker), the transaction that applies actions first locks their message
  rows, re-checks that each is still ``processing`` and that no earlier action of its device
  on the job is unfinished (for the second and later actions of a run, their predecessor
  just completed in this same transaction); only then does it apply each action through
  ``portal.domain.jobs`` and mark it ``completed`` -- in the same transaction. A crash, a
  re-enqueue, a retry or a duplicate therefore never applies an action twice nor out of order.
* **Claim, then apply.** A short transaction first marks the head ``processing`` and opens an
  :class:`InboxAttempt` (so people see it and a dead worker's leftovers are recognisable);
  ``processing`` messages are simply taken again by the next worker of that job. The actions
  right after the head on its device's line are claimed with it (up to ``BATCH``) and applied
  in one transaction, each in its own savepoint: each still completes or fails on its own,
  the first that does not complete ends the batch and the untried ones go back to ``queued``.
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

from flask import current_app
from sqlalchemy import and_, exists, select, text

from portal.domain.inbox.attempts import Step, attempt_batch
from portal.domain.inbox.events import announce, emit_change
from portal.effects import after_commit
from portal.extensions import db, get_redis
from portal.models import (
    UNFINISHED_STATES,
    InboxAttempt,
    InboxLineMark,
    InboxMessage,
    MessageState,
    utcnow,
)

log = logging.getLogger(__name__)

LOCK_PREFIX = "fieldsync:inbox:line:"
WORKER_NAME = f"{socket.gethostname()}.{os.getpid()}"

_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"  # noqa: E501
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"  # noqa: E501


class LineLock:
    """A Redis lock on one job's line, with a TTL so a dead worker cannot keep it."""

    def __init__(self, job_id: int):
        self.key = f"{LOCK_PREFIX}{job_id}"
        self.token = uuid.uuid4().hex
        self.ttl_ms = current_app.config["INBOX_LOCK_SECONDS"] * 1000

    def acquire(self) -> bool:
        return bool(get_redis().set(self.key, self.token, nx=True, px=self.ttl_ms))

    def renew(self) -> bool:
        """Extend the lock; False when it was lost (expired or taken)."""
        return bool(get_redis().eval(_RENEW, 1, self.key, self.token, self.ttl_ms))

    def release(self) -> None:
        get_redis().eval(_RELEASE, 1, self.key, self.token)


def line_is_locked(job_id: int) -> bool:
    return bool(get_redis().exists(f"{LOCK_PREFIX}{job_id}"))


def enqueue_line(job_id: int, retry_failed: bool = False) -> None:
    """After commit, have a worker process the job's line."""
    from portal.integrations.queue import QueueName, Task, enqueue

    args = (job_id, True) if retry_failed else (job_id,)
    after_commit(enqueue, Task.PROCESS_LINE, *args, queue_name=QueueName.INBOX)


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
        .where(InboxMessage.job_id == job_id, InboxMessage.state.in_(UNFINISHED_STATES))
        .order_by(InboxMessage.seq, InboxMessage.id)
    )
    return list(db.session.scalars(query))


def _heads(rows: list[InboxMessage]) -> list[InboxMessage]:
    """Return each device's first unfinished action (rows are in seq order)."""
    heads: dict[int, InboxMessage] = {}
    for row in rows:
        heads.setdefault(_device_key(row), row)
    return list(heads.values())


# Up to this many consecutive actions of one device's line are claimed together and applied
# in one transaction, each in its own savepoint: one wait for the disk instead of one per
# action, while each action still succeeds or fails on its own. Small enough that the job's
# row is not held for long.
BATCH = 10

Claim = tuple[tuple[int, int], tuple[int, int]]  # (message, attempt), (device, seq)


def _followers(rows: list[InboxMessage], head: InboxMessage) -> list[InboxMessage]:
    """Return the actions right after ``head`` on its device's line, without a gap."""
    found: list[InboxMessage] = []
    seq = head.seq
    for row in rows:
        if len(found) == BATCH - 1:
            break
        if _device_key(row) != _device_key(head) or row.seq <= head.seq:
            continue
        if row.seq != seq + 1 or row.state == MessageState.FAILED.value:
            break
        found.append(row)
        seq = row.seq
    return found


def _mark_processing(message: InboxMessage) -> InboxAttempt:
    message.state = MessageState.PROCESSING.value
    message.processing_started_at = message.updated_at = utcnow()
    message.attempts = (message.attempts or 0) + 1
    attempt = InboxAttempt(message_id=message.id, worker=WORKER_NAME)
    db.session.add(attempt)
    # "processing" is transient: no feed entry or live event; the outcome will follow.
    return attempt


def _claim(
    job_id: int, retry_failed: bool, retried: set[int], done: set[tuple[int, int]]
) -> list[Claim] | None:
    """Pick the next actions, mark them ``processing``; return their claims, in order.

    The next action is the oldest head that can go on; the ones right after it on its
    device's line come with it (up to ``BATCH``), a retried failure alone. Returns None when
    no device line of the job can go on: each is done, held behind its failure, or waiting.
    ``retried`` holds the failed heads already tried again in this pass; ``done`` the
    (device, seq) completed in it, whose successors need no predecessor lookup.
    """
    chosen: InboxMessage | None = None
    held = False
    rows = _unfinished(job_id)
    for head in sorted(_heads(rows), key=lambda r: r.id):
        if head.state == MessageState.FAILED.value:
            if retry_failed and head.id not in retried:
                retried.add(head.id)
                chosen = head
                break
            held = True  # this device's later actions wait; the other devices go on
            continue
        if (_device_key(head), head.seq - 1) in done or predecessor_arrived(head):
            chosen = head
            break
        reason = f"Waiting for action #{head.seq - 1} from the device"
        if head.wait_reason != reason:
            head.wait_reason = reason
            announce(head)
    if chosen is None:
        if held:
            # Actions that just arrived behind a failure now show as held: say so live.
            after_commit(emit_change, 0, job_id)
        db.session.commit()
        return None
    if db.session.get_bind().dialect.name == "postgresql":
        # Losing this mark in a database crash is harmless (the action is simply taken
        # again), so it need not wait for the disk; the outcome below does.
        db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))
    batch = [chosen]
    if chosen.state != MessageState.FAILED.value:
        batch += _followers(rows, chosen)
    attempts = [_mark_processing(m) for m in batch]
    db.session.flush()
    claims = [((m.id, a.id), (_device_key(m), m.seq)) for m, a in zip(batch, attempts, strict=True)]
    db.session.commit()
    return claims


def _drain(job_id: int, lock: LineLock, retry_failed: bool, counts: dict[str, int]) -> None:
    retried: set[int] = set()
    done: set[tuple[int, int]] = set()
    while lock.renew():
        claims = _claim(job_id, retry_failed, retried, done)
        if claims is None:
            return
        steps = attempt_batch([ids for ids, _ in claims])
        for step, (_, picked) in zip(steps, claims, strict=False):
            counts[step.value] = counts.get(step.value, 0) + 1
            if step is Step.COMPLETED:
                done.add(picked)
            elif step is Step.SKIPPED:
                return  # another worker is on this job after all
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
