"""Faults: workers killed with SIGKILL, Redis flushed; every line still ends, in order, once."""

from __future__ import annotations

import time
import uuid
from collections import Counter, defaultdict

import pytest
import redis as redis_lib
from sqlalchemy import func, insert, select

from portal.domain import jobs as job_ops
from portal.extensions import get_redis
from portal.integrations.queue import QueueName, Task, enqueue
from portal.models import InboxMessage, Job, JobEvent, Status
from workers import maintenance


def seed_lines(db, technician, dispatcher, jobs: int, actions: int) -> list[int]:
    """Create assigned jobs and store ``actions`` device actions for each, shuffled in time.

    Each action is a note naming its job and seq (its effect is countable); every 20th job
    ends with an unconfigured status change, which must fail with a reason.
    """
    actor = job_ops.Actor.portal(dispatcher)
    job_ids = []
    for n in range(jobs):
        job = job_ops.create({"title": f"Job {n}"}, actor)
        job_ops.assign(job, technician, actor)
        job_ids.append(job.id)
    db.session.commit()
    rows = []
    for n, job_id in enumerate(job_ids):
        # Out of order on purpose: even seqs first, then odd ones.
        for seq in sorted(range(1, actions + 1), key=lambda s: (s % 2, s)):
            failing = seq == actions and n % 20 == 0
            rows.append(
                {
                    "action_id": str(uuid.uuid4()),
                    "device_id": technician.device.id,
                    "technician_id": technician.id,
                    "job_id": job_id,
                    "seq": seq,
                    "type": "status_change" if failing else "note",
                    "payload": {"to": Status.PAUSED.value}
                    if failing
                    else {"text": f"{job_id}:{seq}"},
                    "payload_hash": uuid.uuid4().hex,
                    "state": "queued",
                    "attempts": 0,
                    "released": False,
                }
            )
    db.session.execute(insert(InboxMessage), rows)
    db.session.commit()
    for job_id in job_ids:
        enqueue(Task.PROCESS_LINE, job_id, queue_name=QueueName.INBOX)
    return job_ids


def states(db) -> Counter:
    db.session.expire_all()
    result = Counter(
        dict(
            db.session.execute(
                select(InboxMessage.state, func.count()).group_by(InboxMessage.state)
            ).all()
        )
    )
    db.session.rollback()
    return result


def assert_each_applied_once_in_order(db, job_ids, actions: int) -> None:
    db.session.expire_all()
    messages = db.session.scalars(select(InboxMessage)).all()
    assert {m.state for m in messages} <= {"completed", "failed"}, Counter(
        m.state for m in messages
    )
    failed = [m for m in messages if m.state == "failed"]
    assert all(m.error_category == "configuration" and m.error_message for m in failed)
    assert len(failed) == len([j for i, j in enumerate(job_ids) if i % 20 == 0])
    events = db.session.execute(
        select(JobEvent.job_id, JobEvent.note).where(JobEvent.kind == "note").order_by(JobEvent.id)
    ).all()
    applied: dict[int, list[int]] = defaultdict(list)
    for job_id, note in events:
        applied[job_id].append(int(note.split(":")[1]))
    completed_notes = Counter(
        (m.job_id, m.seq) for m in messages if m.state == "completed" and m.type == "note"
    )
    effects = Counter((job_id, seq) for job_id, seqs in applied.items() for seq in seqs)
    assert effects == completed_notes  # every completed note applied exactly once
    for n, job_id in enumerate(job_ids):
        assert applied[job_id] == sorted(applied[job_id]), f"job {job_id} out of order"
        # Every 20th job's last action is the failing status change; the rest are notes.
        assert len(applied[job_id]) == (actions - 1 if n % 20 == 0 else actions)


def wait_until_done(db, total: int, timeout: float, tick=None) -> Counter:
    deadline = time.monotonic() + timeout
    last_check = 0.0
    while time.monotonic() < deadline:
        counts = states(db)
        if counts["completed"] + counts["failed"] == total:
            return counts
        if tick:
            tick()
        if time.monotonic() - last_check > 2:
            maintenance.check_inbox()  # what cron does every INBOX_RETRY_MINUTES
            last_check = time.monotonic()
        time.sleep(0.3)
    raise AssertionError(f"lines did not finish: {states(db)}")


@pytest.mark.slow
def test_killed_workers_lose_nothing_and_apply_each_action_once_in_order(
    db, technician, make_user, worker_pool
):
    jobs, actions = 200, 10
    job_ids = seed_lines(db, technician, make_user("dispatcher"), jobs, actions)
    # The checker must not retry the deliberate failures during the run: they stay failed.
    pool = worker_pool(2, lock_seconds=3)
    kills_at = [1.0, 2.5, 4.0, 6.0, 8.0]
    started = time.monotonic()

    def tick():
        if kills_at and time.monotonic() - started > kills_at[0]:
            kills_at.pop(0)
            pool.kill(0)

    counts = wait_until_done(db, jobs * actions, timeout=240, tick=tick)
    # The checker's retries of the deliberate failures may still be in a worker's hands:
    # stopping waits for them, so what is read next is final.
    pool.stop()
    counts = states(db)
    assert pool.kills >= 3, "the run ended before the workers were killed several times"
    assert counts["completed"] == jobs * actions - len(job_ids[::20])
    assert_each_applied_once_in_order(db, job_ids, actions)


@pytest.mark.slow
def test_a_redis_flush_mid_run_is_recovered_by_the_checker(
    db, technician, make_user, worker_pool, redis_url
):
    jobs, actions = 60, 10
    job_ids = seed_lines(db, technician, make_user("dispatcher"), jobs, actions)
    pool = worker_pool(2, lock_seconds=3)
    deadline = time.monotonic() + 60
    while states(db)["completed"] < 50 and time.monotonic() < deadline:
        time.sleep(0.05)
    redis_lib.Redis.from_url(redis_url).flushall()  # queues, locks, everything gone
    assert not get_redis().exists("rq:queue:inbox")
    wait_until_done(db, jobs * actions, timeout=180, tick=pool.keep_alive)
    pool.stop()  # let a retry in a worker's hands finish before reading the outcome
    counts = states(db)
    assert counts["failed"] == len(job_ids[::20])
    assert_each_applied_once_in_order(db, job_ids, actions)
    jobs_left = db.session.scalar(select(func.count()).select_from(Job))
    assert jobs_left == jobs
