"""``flask jobs import`` of a large CSV: rows/s, peak memory, what it wrote, on each database.

The import runs as the command a dispatcher runs (its own process, its progress bar, its
batches); its wall time and peak memory come from the operating system's accounting of that
process. For comparison, the same number of job rows is then inserted in batches of 1,000
straight through SQLAlchemy's core (no history, feed or checks): what the database takes.
Memory is compared with an import of a tenth of the rows: a streamed import stays flat.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from benchlib import ROOT, Result, start_redis

from benchkit.common import FLASK, Scratch

TECHNICIANS = 20


def write_csv(path: Path, rows: int, prefix: str) -> None:
    """Write ``rows`` new jobs, most assigned (to the bench technicians), times without offset."""
    start = datetime(2027, 3, 1, 8)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["reference", "title", "description", "customer", "address",
                      "scheduled_start", "scheduled_end", "assignee_email"])  # fmt: skip
        for i in range(rows):
            s = start + timedelta(minutes=15 * (i % 20_000))
            who = "" if i % 10 == 9 else f"tech{i % TECHNICIANS}@bench.test"
            out.writerow([f"{prefix}-{i:07d}", f"Boiler service {i}", "Yearly check.",
                          f"Customer {i % 5000}", f"{i % 400} Main Street",
                          s.isoformat(timespec="minutes"),
                          (s + timedelta(hours=1)).isoformat(timespec="minutes"), who])  # fmt: skip


def seed(app) -> None:
    """A dispatcher and the technicians, each with one phone that has a push token."""
    from sqlalchemy import insert, select

    from portal.domain import accounts
    from portal.extensions import db
    from portal.models import Device, User

    with app.app_context():
        accounts.create_user("dispatcher@bench.test", "dispatcher", "bench-password", "Dee")
        db.session.execute(insert(User), [
            {"email": f"tech{i}@bench.test", "role": "technician", "name": f"Tech {i}",
             "password_hash": "!", "active": True} for i in range(TECHNICIANS)
        ])  # fmt: skip
        ids = db.session.scalars(select(User.id).where(User.role == "technician")).all()
        db.session.add_all(Device(device_id=f"phone-{i}", user_id=i, platform="android",
                                  push_token=f"push-{i}") for i in ids)  # fmt: skip
        db.session.commit()


def import_file(scratch: Scratch, path: Path) -> tuple[float, int, int]:
    """Run ``flask jobs import``; return (seconds, peak RSS in MB, exit status)."""
    began = time.perf_counter()
    proc = subprocess.Popen(
        [FLASK, "--app", "wsgi", "jobs", "import", str(path), "--as", "dispatcher@bench.test"],
        cwd=ROOT, env=scratch.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - began
    err = proc.stderr.read().decode(errors="replace")
    if proc.returncode:
        print(err[-2000:])
    return elapsed, usage.ru_maxrss // 1024, proc.returncode


def written(app) -> dict[str, int]:
    """Count what the imports wrote: jobs, history events, feed entries, pushes."""
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.models import FeedEntry, Job, JobEvent, Push

    with app.app_context():
        one = db.session.scalar
        per_tech = db.session.execute(
            select(Push.technician_id, func.count()).group_by(Push.technician_id)
        ).all()
        return {
            "jobs": one(select(func.count()).select_from(Job)),
            "events": one(select(func.count()).select_from(JobEvent)),
            "feed": one(select(func.count()).select_from(FeedEntry)),
            "pushes": sum(n for _, n in per_tech),
            "pushed_techs": len(per_tech),
        }


def bulk_rate(app, rows: int) -> float:
    """Insert ``rows`` job rows in batches of 1,000 through the core; return rows/s."""
    from sqlalchemy import insert

    from portal.extensions import db
    from portal.models import Job

    start = datetime(2027, 3, 1, 8).astimezone()
    with app.app_context():
        began = time.perf_counter()
        for first in range(0, rows, 1000):
            db.session.execute(insert(Job), [
                {"reference": f"BULK-{i:07d}", "title": f"Boiler service {i}",
                 "description": "Yearly check.", "customer": f"Customer {i % 5000}",
                 "address": f"{i % 400} Main Street", "scheduled_start": start,
                 "scheduled_end": start + timedelta(hours=1), "status": "new", "version": 1,
                 "report": {}} for i in range(first, min(rows, first + 1000))
            ])  # fmt: skip
            db.session.commit()
        return rows / (time.perf_counter() - began)


def run(backends: list[str], rows: int) -> list[Result]:
    """Import ``rows`` rows (and a tenth of them) on each backend; compare with bulk inserts."""
    tmp = Path(tempfile.mkdtemp(prefix="fieldsync-bench-import-"))
    redis, redis_url = start_redis(tmp)
    small_rows = max(1, rows // 10)
    small, big = tmp / "small.csv", tmp / "big.csv"
    write_csv(small, small_rows, "S")
    write_csv(big, rows, "IMP")
    results = []
    try:
        for backend in backends:
            scratch = Scratch(backend, tmp, redis_url, "import").create()
            try:
                app = scratch.app()
                seed(app)
                small_s, small_mb, _ = import_file(scratch, small)
                big_s, big_mb, status = import_file(scratch, big)
                got = written(app)
                bulk = bulk_rate(app, rows)
            finally:
                scratch.drop()
            rate = rows / big_s
            print(f"{backend}: {rows:,} rows in {big_s:.1f} s (exit {status}); "
                  f"{small_rows:,} rows in {small_s:.1f} s; wrote {got}")  # fmt: skip
            results.append(Result(
                f"jobs import, {rows:,}-row CSV ({backend})",
                f"{rate:,.0f} rows/s (bulk core inserts of the same rows: {bulk:,.0f} rows/s,"
                f" ratio {rate / bulk:.2f})",
                rate, ">=", 2000,
                f"peak memory {big_mb} MB at {rows:,} rows, {small_mb} MB at {small_rows:,}; "
                f"{got['jobs']:,} jobs, {got['events']:,} "
                f"history events, {got['feed']:,} feed entries, {got['pushes']} pushes for "
                f"{got['pushed_techs']} technicians over 2 imports",
            ))  # fmt: skip
            results.append(Result(
                f"import peak memory, {rows:,} ÷ {small_rows:,} rows ({backend})",
                f"{big_mb} ÷ {small_mb} MB", big_mb / small_mb, "<=", 1.5,
            ))  # fmt: skip
        return results
    finally:
        redis.terminate()
        redis.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
