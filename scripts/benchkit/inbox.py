"""The inbox: N jobs x 10 device actions through the queue and workers, against the same
actions applied directly through the domain in one process (no inbox, no queue).

Each job's line is a realistic day: en route, started, a report update, six notes,
finished. The direct run applies each action with ``portal.domain.jobs`` as the technician
on their device and commits it (one transaction per action, as a phone's action is its own
change); the inbox runs the stored messages with 1, then 2 ``flask worker`` processes. The
ratio inbox ÷ direct is the cost of the inbox and the queue; 2 ÷ 1 workers is how it scales.
Ordering violations: jobs whose recorded history differs from their actions in seq order.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

from benchlib import ROOT, Result, per_round, start_redis

from benchkit.common import FLASK, Scratch

LINE = (
    [("status_change", {"to": "en_route"}), ("status_change", {"to": "started"})]
    + [("report_update", {"fields": {"resolution": "Replaced the valve", "hours": 2}})]
    + [("note", {"text": f"note {i}"}) for i in range(1, 7)]
    + [("status_change", {"to": "finished"})]
)
EXPECTED_KINDS = ["status", "status", "report"] + ["note"] * 6 + ["status"]


def seed(app, jobs: int, store: bool) -> list[int]:
    """Reset the data, make ``jobs`` assigned jobs and (``store``) their lines of actions."""
    from sqlalchemy import insert

    from portal.domain import accounts
    from portal.domain import jobs as job_ops
    from portal.extensions import db
    from portal.models import Device, InboxMessage, Job
    from tests.conftest import reset_database

    reset_database(app)
    with app.app_context():
        tech = accounts.create_user("tech@bench.test", "technician", "password123", "Bench Tech")
        boss = accounts.create_user("boss@bench.test", "dispatcher", "password123", "Boss")
        device = Device(device_id=uuid.uuid4().hex, user_id=tech.id)
        db.session.add(device)
        db.session.flush()
        actor = job_ops.Actor.portal(boss)
        db.session.execute(insert(Job), [
            {"title": f"Bench job {n}", "status": "new", "version": 0, "report": {},
             "reference": f"B-{n:06d}"} for n in range(jobs)
        ])  # fmt: skip
        job_ids = []
        for job in db.session.query(Job).order_by(Job.id):
            job_ops.assign(job, tech, actor)  # history and feed, like real jobs
            job_ids.append(job.id)
        if store:
            db.session.execute(insert(InboxMessage), [
                {"action_id": str(uuid.uuid4()), "device_id": device.id,
                 "technician_id": tech.id, "job_id": job_id, "seq": seq, "type": kind,
                 "payload": payload, "payload_hash": uuid.uuid4().hex, "state": "queued",
                 "attempts": 0, "released": False}
                for job_id in job_ids for seq, (kind, payload) in enumerate(LINE, start=1)
            ])  # fmt: skip
        db.session.commit()
    return job_ids


def direct(app, jobs: int) -> float:
    """Apply every line's actions through the job functions, one commit each; return actions/s."""
    from sqlalchemy import select

    from portal.domain import jobs as job_ops
    from portal.extensions import db, sqlite_writer
    from portal.models import Device, User

    job_ids = seed(app, jobs, store=False)
    token = sqlite_writer.set(True)
    try:
        with app.app_context():
            tech = db.session.scalar(select(User).where(User.role == "technician"))
            device = db.session.scalar(select(Device))
            actor = job_ops.Actor.on_device(tech, device)
            began = time.perf_counter()
            for job_id in job_ids:
                for kind, payload in LINE:
                    job = job_ops.get_for_update(job_id)
                    if kind == "status_change":
                        job_ops.change_status(job, payload["to"], actor)
                    elif kind == "report_update":
                        job_ops.update_report(job, payload["fields"], actor)
                    else:
                        job_ops.add_note(job, payload["text"], actor)
                    db.session.commit()
            return jobs * len(LINE) / (time.perf_counter() - began)
    finally:
        sqlite_writer.reset(token)


def through_workers(app, env: dict, workers: int, jobs: int) -> tuple[float, int, int, int]:
    """Process every line with ``workers`` processes; return (actions/s, violations, doubles,
    failed)."""
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.integrations.queue import QueueName, enqueue
    from portal.models import InboxMessage, JobEvent

    job_ids = seed(app, jobs, store=True)
    cmd = [FLASK, "--app", "wsgi", "worker", "--queues", "inbox", "--no-scheduler"]
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for _ in range(workers)]  # fmt: skip
    try:
        time.sleep(3)  # let the workers import and connect before the clock starts
        total = jobs * len(LINE)
        done_q = (select(func.count()).select_from(InboxMessage)
                  .where(InboxMessage.state.in_(("completed", "failed"))))  # fmt: skip
        with app.app_context():
            started = time.perf_counter()
            for job_id in job_ids:
                enqueue("workers.inbox.process_line", job_id, queue_name=QueueName.INBOX)
            while db.session.scalar(done_q) < total:
                db.session.rollback()
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
            failed = db.session.scalar(
                select(func.count()).select_from(InboxMessage).where(InboxMessage.state == "failed")
            )
            events = db.session.execute(
                select(JobEvent.job_id, JobEvent.kind, JobEvent.note)
                .where(JobEvent.origin == "device")
                .order_by(JobEvent.id)
            ).all()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(10)
    history: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for job_id, kind, note in events:
        history[job_id].append((kind, note))
    expected = [(k, p.get("text", "")) for k, (_, p) in zip(EXPECTED_KINDS, LINE, strict=True)]
    violations = sum(1 for j in job_ids if history[j] != expected)
    doubles = sum(max(len(history[j]) - len(LINE), 0) for j in job_ids)
    return total / elapsed, violations, doubles, failed


def run(backends: list[str], jobs: int, rounds: int = 3) -> list[Result]:
    """Direct, 1 worker, 2 workers on each backend, ``rounds`` times interleaved; the median
    of each round's ratios (inbox ÷ direct and 2 ÷ 1), as for the pulls: a virtual machine's
    speed drifts between runs, and each round's three runs are side by side."""
    tmp = Path(tempfile.mkdtemp(prefix="fieldsync-bench-inbox-"))
    redis, redis_url = start_redis(tmp)
    results = []
    try:
        for backend in backends:
            scratch = Scratch(backend, tmp, redis_url, "inbox").create()
            straight, one, two = [], [], []
            violations = doubles = failed = 0
            try:
                app = scratch.app()
                for _ in range(rounds):
                    straight.append(direct(app, jobs))
                    rate1, v1, d1, f1 = through_workers(app, scratch.env, 1, jobs)
                    rate2, v2, d2, f2 = through_workers(app, scratch.env, 2, jobs)
                    one.append(rate1)
                    two.append(rate2)
                    violations, doubles, failed = (violations + v1 + v2, doubles + d1 + d2,
                                                   failed + f1 + f2)  # fmt: skip
            finally:
                scratch.drop()
            n = f"{jobs:,} jobs × {len(LINE)} actions, {rounds} rounds"
            med = statistics.median
            results.append(Result(
                f"inbox, 1 worker ÷ the domain directly ({backend})",
                f"{med(one):,.1f} ÷ {med(straight):,.1f} actions/s", per_round(one, straight),
                ">=", 0.5,
                f"{n}; failed {failed}, applied twice {doubles}; per round "
                + ", ".join(f"{a / b:.2f}" for a, b in zip(one, straight, strict=True)),
            ))  # fmt: skip
            results.append(Result(
                f"inbox, 2 workers ÷ 1 ({backend})", f"{med(two):,.1f} ÷ {med(one):,.1f} actions/s",
                per_round(two, one), ">=", 1.6,
                "per round " + ", ".join(f"{a / b:.2f}" for a, b in zip(two, one, strict=True)),
            ))  # fmt: skip
            results.append(Result(
                f"inbox ordering violations ({backend})", f"{violations} in {rounds * 2} runs",
                violations, "<=", 0,
            ))  # fmt: skip
        return results
    finally:
        redis.terminate()
        redis.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
