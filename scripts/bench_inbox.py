"""Benchmark the inbox: N jobs x 10 device actions, processed by 1 and then 2 worker processes.

Usage: .venv/bin/python scripts/bench_inbox.py [--jobs 1000] [--pg postgresql://...]

Runs on a throw-away PostgreSQL database (SQLite serialises writers, so it cannot show
parallelism) and a private redis-server. Each job's line is a realistic day: en route,
started, a report update, six notes, finished. Prints actions per second for 1 and 2
workers, the ratio 2 / 1, and the number of ordering violations (jobs whose recorded history
differs from their actions in seq order) and double applications.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LINE = (
    [("status_change", {"to": "en_route"}), ("status_change", {"to": "started"})]
    + [("report_update", {"fields": {"resolution": "Replaced the valve", "hours": 2}})]
    + [("note", {"text": f"note {i}"}) for i in range(1, 7)]
    + [("status_change", {"to": "finished"})]
)
EXPECTED_KINDS = ["status", "status", "report"] + ["note"] * 6 + ["status"]


def start_redis(tmp: Path) -> tuple[subprocess.Popen, str]:
    from tests.conftest import _redis_binary, free_port

    port = free_port()
    proc = subprocess.Popen(
        [
            _redis_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    return proc, f"redis://127.0.0.1:{port}/0"


def create_database(admin_url: str) -> tuple[str, str]:
    import psycopg

    name = f"fieldsync_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0]
    return name, f"postgresql+psycopg://{base.split('://', 1)[1]}/{name}"


def drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def seed(app, jobs: int) -> list[int]:
    """Reset the data and store ``jobs`` lines of actions (not yet enqueued)."""
    from sqlalchemy import insert

    from portal.domain import accounts
    from portal.domain import jobs as job_ops
    from portal.extensions import db
    from portal.models import Device, InboxMessage, Job
    from tests.conftest import reset_database

    reset_database(app)
    with app.app_context():
        tech = accounts.create_user(
            f"t{uuid.uuid4().hex[:6]}@bench.test", "technician", "password123", "Bench Tech"
        )
        boss = accounts.create_user(
            f"d{uuid.uuid4().hex[:6]}@bench.test", "dispatcher", "password123", "Bench Dispatcher"
        )
        device = Device(device_id=uuid.uuid4().hex, user_id=tech.id)
        db.session.add(device)
        db.session.flush()
        actor = job_ops.Actor.portal(boss)
        # Created in bulk, then assigned through the domain (history, feed) like real jobs.
        db.session.execute(
            insert(Job),
            [
                {
                    "title": f"Bench job {n}",
                    "status": "new",
                    "version": 0,
                    "report": {},
                    "reference": f"B-{n:06d}",
                }
                for n in range(jobs)
            ],
        )
        job_ids = []
        for job in db.session.query(Job).order_by(Job.id):
            job_ops.assign(job, tech, actor)
            job_ids.append(job.id)
        db.session.execute(
            insert(InboxMessage),
            [
                {
                    "action_id": str(uuid.uuid4()),
                    "device_id": device.id,
                    "technician_id": tech.id,
                    "job_id": job_id,
                    "seq": seq,
                    "type": kind,
                    "payload": payload,
                    "payload_hash": uuid.uuid4().hex,
                    "state": "queued",
                    "attempts": 0,
                    "released": False,
                }
                for job_id in job_ids
                for seq, (kind, payload) in enumerate(LINE, start=1)
            ],
        )
        db.session.commit()
    return job_ids


def run(app, env: dict, workers: int, jobs: int) -> tuple[float, int, int]:
    """Process every line with ``workers`` processes; return (actions/s, violations, doubles)."""
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.integrations.queue import QueueName, enqueue
    from portal.models import InboxMessage, JobEvent

    job_ids = seed(app, jobs)
    procs = [
        subprocess.Popen(
            [
                str(ROOT / ".venv/bin/flask"),
                "--app",
                "wsgi",
                "worker",
                "--queues",
                "inbox",
                "--no-scheduler",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    try:
        time.sleep(3)  # let the workers import and connect before the clock starts
        total = jobs * len(LINE)
        with app.app_context():
            started = time.perf_counter()
            for job_id in job_ids:
                enqueue("workers.inbox.process_line", job_id, queue_name=QueueName.INBOX)
            while True:
                done = db.session.scalar(
                    select(func.count())
                    .select_from(InboxMessage)
                    .where(InboxMessage.state.in_(("completed", "failed")))
                )
                db.session.rollback()
                if done >= total:
                    break
                time.sleep(0.1)
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
    if failed:
        print(f"  warning: {failed} actions failed", file=sys.stderr)
    return total / elapsed, violations, doubles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument(
        "--pg",
        default=os.environ.get("FIELDSYNC_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fieldsync-bench-"))
    redis_proc, redis_url = start_redis(tmp)
    name, db_url = create_database(args.pg)
    env = dict(
        os.environ,
        DATABASE_URL=db_url,
        REDIS_URL=redis_url,
        FIELDSYNC_INSTANCE=str(tmp / "instance"),
        SECRET_KEY="bench",
    )
    env.pop("FCM_CREDENTIALS", None)
    try:
        subprocess.run(
            [str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "db", "upgrade"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        os.environ.update(FIELDSYNC_INSTANCE=env["FIELDSYNC_INSTANCE"])
        from portal import create_app

        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": db_url, "REDIS_URL": redis_url, "SECRET_KEY": "bench"}
        )
        print(f"inbox benchmark: {args.jobs} jobs x {len(LINE)} actions on PostgreSQL")
        one, v1, d1 = run(app, env, 1, args.jobs)
        print(f"  1 worker : {one:8.1f} actions/s  ordering violations {v1}  applied twice {d1}")
        two, v2, d2 = run(app, env, 2, args.jobs)
        print(f"  2 workers: {two:8.1f} actions/s  ordering violations {v2}  applied twice {d2}")
        print(
            f"  ratio 2 / 1: {two / one:.2f} (target >= 1.6); "
            f"ordering violations: {v1 + v2} (target 0)"
        )
    finally:
        drop_database(args.pg, name)
        redis_proc.terminate()
        redis_proc.wait(10)


if __name__ == "__main__":
    main()
