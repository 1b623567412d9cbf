"""Job list speed at 100,000 jobs against 1,000 jobs, measured side by side in one run.

Builds two temporary SQLite databases through the real migrations, bulk-loads the jobs with
SQLAlchemy core inserts, signs a dispatcher in, and times the job list page (filtered,
page 1) through the WSGI app, alternating between the two databases so that machine noise
hits both alike. Prints the medians and their ratio (target: at most 2).

    .venv/bin/python scripts/bench_portal.py [--small 1000] [--large 100000] [--runs 40]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TECHNICIANS = 10
STATUSES = ["new", "assigned", "en_route", "started", "paused", "finished", "cancelled"]
YEAR = datetime(2030, 1, 1, tzinfo=UTC)
CASES = {
    "status + date range": "/jobs?status=assigned&from=2030-01-01&to=2030-12-31",
    "technician + date range": "/jobs?tech={tech}&from=2030-01-01&to=2030-12-31",
}


def build(jobs: int, workdir: Path):
    """Return (app, client, a technician id) for a fresh database holding ``jobs`` jobs."""
    os.environ["FIELDSYNC_INSTANCE"] = str(workdir)
    from flask_migrate import upgrade
    from sqlalchemy import insert, select

    from portal import create_app
    from portal.domain import accounts, counts
    from portal.extensions import db
    from portal.models import Job, Role, User

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.db'}",
            "SECRET_KEY": "bench",
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
        }
    )
    rng = random.Random(42)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        accounts.create_user("bench@example.com", Role.DISPATCHER.value, "bench-password", "Ben")
        db.session.commit()
        db.session.execute(
            insert(User),
            [
                {
                    "email": f"tech{i}@example.com",
                    "name": f"Technician {i:02d}",
                    "role": Role.TECHNICIAN.value,
                    "password_hash": "-",
                    "active": True,
                    "created_at": YEAR,
                }
                for i in range(TECHNICIANS)
            ],
        )
        tech_ids = list(db.session.scalars(select(User.id).where(User.role == "technician")))
        now = datetime.now(UTC)
        batch = []
        for n in range(1, jobs + 1):
            status = rng.choice(STATUSES)
            start = YEAR + timedelta(minutes=rng.randrange(0, 365 * 24 * 4) * 15)
            batch.append(
                {
                    "reference": f"J-{n:06d}",
                    "title": rng.choice(["Boiler service", "Fix radiator", "Leaking pipe"]),
                    "description": "",
                    "customer": f"Customer {rng.randrange(5000)}",
                    "address": f"{rng.randrange(1, 400)} Main Street",
                    "scheduled_start": start,
                    "scheduled_end": start + timedelta(hours=rng.choice([1, 2, 3])),
                    "status": status,
                    "assignee_id": None if status == "new" else rng.choice(tech_ids),
                    "version": 1,
                    "report": {},
                    "created_at": now,
                    "updated_at": now,
                }
            )
            if len(batch) == 10_000:
                db.session.execute(insert(Job), batch)
                batch = []
        if batch:
            db.session.execute(insert(Job), batch)
        counts.recount()
        db.session.commit()
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
    client = app.test_client()
    response = client.post(
        "/login", data={"email": "bench@example.com", "password": "bench-password"}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return app, client, tech_ids[0]


def timed(app, client, url: str) -> float:
    with app.app_context():
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.status_code
    assert b"<tr data-job-id=" in response.data, "the benchmark page came back empty"
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:9/0")  # pages render without Redis
    tmp = Path(tempfile.mkdtemp(prefix="fieldsync-bench-"))
    try:
        t0 = time.perf_counter()
        small = build(args.small, tmp / "small")
        large = build(args.large, tmp / "large")
        print(f"loaded {args.small:,} and {args.large:,} jobs in {time.perf_counter() - t0:.1f} s")
        worst = 0.0
        for name, pattern in CASES.items():
            urls = [pattern.format(tech=s[2]) for s in (small, large)]
            for (app, client, _), url in zip((small, large), urls, strict=True):
                for _ in range(5):  # warm caches and the template
                    timed(app, client, url)
            samples: tuple[list[float], list[float]] = ([], [])
            for _ in range(args.runs):
                for i, ((app, client, _), url) in enumerate(zip((small, large), urls, strict=True)):
                    samples[i].append(timed(app, client, url))
            med_small, med_large = (statistics.median(s) * 1000 for s in samples)
            ratio = med_large / med_small
            worst = max(worst, ratio)
            print(
                f"job list ({name}), page 1: {args.small:,} jobs {med_small:.2f} ms, "
                f"{args.large:,} jobs {med_large:.2f} ms, ratio {ratio:.2f}"
            )
        print(f"ratio (100,000 / 1,000, worst case): {worst:.2f}  (target <= 2)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
