"""The job list's first page at a large scale against 1,000 jobs, side by side in one run.

Two SQLite databases built through the real migrations; the jobs are bulk-loaded with
``executemany`` on the raw driver (a million rows in seconds, not minutes), then the status
counts are rebuilt and the tables analysed. A signed-in dispatcher's filtered page 1 is
timed through the WSGI app, alternating between the two databases so that machine noise hits
both alike.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchlib import SQLITE_TIME, Result

TECHNICIANS = 10
STATUSES = ["new", "assigned", "en_route", "started", "paused", "finished", "cancelled"]
YEAR = datetime(2030, 1, 1)
CASES = {
    "status + dates": "/jobs?status=assigned&from=2030-01-01&to=2030-12-31",
    "technician + dates": "/jobs?tech={tech}&from=2030-01-01&to=2030-12-31",
}


def _load(path: Path, jobs: int, tech_ids: list[int]) -> None:
    rng = random.Random(42)
    now = datetime.now(UTC).replace(tzinfo=None).strftime(SQLITE_TIME)
    titles = ["Boiler service", "Fix radiator", "Leaking pipe"]

    def rows():
        for n in range(1, jobs + 1):
            status = STATUSES[rng.randrange(7)]
            start = YEAR + timedelta(minutes=rng.randrange(0, 365 * 24 * 4) * 15)
            yield (f"J-{n:07d}", titles[n % 3], "", f"Customer {n % 5000}",
                   f"{n % 400} Main Street", start.strftime(SQLITE_TIME),
                   (start + timedelta(hours=1 + n % 3)).strftime(SQLITE_TIME), status,
                   None if status == "new" else tech_ids[n % len(tech_ids)], now, now)  # fmt: skip

    con = sqlite3.connect(path)
    with con:
        con.executemany(
            "INSERT INTO jobs (reference, title, description, customer, address, scheduled_start,"
            " scheduled_end, status, assignee_id, version, report, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, '{}', ?, ?)",
            rows(),
        )
    con.execute("ANALYZE")
    con.close()


def build(jobs: int, workdir: Path):
    """Return (app, client, a technician id) for a fresh database holding ``jobs`` jobs."""
    import os

    os.environ["FIELDSYNC_INSTANCE"] = str(workdir)
    from benchlib import ROOT
    from flask_migrate import upgrade
    from sqlalchemy import insert, select

    from portal import create_app
    from portal.domain import accounts, counts
    from portal.extensions import db
    from portal.models import Role, User

    path = workdir / "bench.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "bench",
                      "TESTING": True, "WTF_CSRF_ENABLED": False})  # fmt: skip
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        accounts.create_user("bench@example.com", Role.DISPATCHER.value, "bench-password", "Ben")
        db.session.execute(insert(User), [
            {"email": f"tech{i}@example.com", "name": f"Technician {i:02d}",
             "role": Role.TECHNICIAN.value, "password_hash": "-", "active": True,
             "created_at": YEAR.replace(tzinfo=UTC)} for i in range(TECHNICIANS)
        ])  # fmt: skip
        db.session.commit()
        tech_ids = list(db.session.scalars(select(User.id).where(User.role == "technician")))
        db.session.remove()
        db.engine.dispose()
        _load(path, jobs, tech_ids)
        counts.recount()
        db.session.commit()
    client = app.test_client()
    response = client.post("/login", data={"email": "bench@example.com",
                                           "password": "bench-password"})  # fmt: skip
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


def run(scale: int, runs: int, small_n: int = 1_000) -> list[Result]:
    """Time page 1 of the filtered job list at ``scale`` jobs and at 1,000."""
    import os

    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:9/0")  # pages render without Redis
    tmp = Path(tempfile.mkdtemp(prefix="fieldsync-bench-joblist-"))
    results = []
    try:
        t0 = time.perf_counter()
        small = build(small_n, tmp / "small")
        large = build(scale, tmp / "large")
        print(f"loaded {small_n:,} and {scale:,} jobs in {time.perf_counter() - t0:.1f} s")
        for name, pattern in CASES.items():
            urls = [pattern.format(tech=s[2]) for s in (small, large)]
            for (app, client, _), url in zip((small, large), urls, strict=True):
                for _ in range(5):  # warm caches and the template
                    timed(app, client, url)
            samples: tuple[list[float], list[float]] = ([], [])
            for _ in range(runs):
                for i, ((app, client, _), url) in enumerate(zip((small, large), urls, strict=True)):
                    samples[i].append(timed(app, client, url))
            s, b = (statistics.median(x) * 1000 for x in samples)
            results.append(Result(
                f"job list page 1 ({name}), {scale:,} ÷ {small_n:,} jobs (sqlite)",
                f"{b:.1f} ÷ {s:.1f} ms", b / s, "<=", 2,
            ))  # fmt: skip
        return results
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
