"""What the gunicorn benchmarks share: scratch databases, COPY loading, gunicorn, wrk, Redis.

An :class:`Instance` is one scratch PostgreSQL database migrated and served by one source
tree (this checkout, or another revision checked out elsewhere), so that two revisions can
be measured side by side with the same ``.venv``. ``python scripts/benchlib.py --seed`` is
the child process that seeds a database through the tree's own code.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PG_ADMIN = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET = "bench-secret-key"
TECHS = 1000
CHANGED = 50  # the bench technician's jobs: 1..50, each with one feed entry


def bench_app():
    """The app as production serves it, plus a bare JSON hello-world route to compare."""
    sys.path.insert(0, os.environ.get("BENCH_TREE", str(ROOT)))
    from flask import jsonify

    import wsgi
    from portal.access import public

    app = wsgi.app

    @public
    def hello():
        return jsonify(hello="world")

    app.add_url_rule("/bench/hello", "bench_hello", hello)
    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 30) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def start_redis(tmp: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(tmp)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return proc, f"redis://127.0.0.1:{port}/0"


# --- load generation --------------------------------------------------------------------


def ensure_wrk() -> str | None:
    found = shutil.which("wrk")
    if found or os.geteuid() != 0:
        return found
    print("installing wrk from Debian ...", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        subprocess.run(install, env=env, capture_output=True)
    return shutil.which("wrk")


def _seconds(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def load(wrk: str | None, url: str, headers: dict, connections: int, seconds: float) -> dict:
    """Return {'rps', 'p50'} for ``url`` under ``connections`` keep-alive connections."""
    if wrk:
        cmd = [
            wrk,
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
        ]
        for k, v in headers.items():
            cmd += ["-H", f"{k}: {v}"]
        out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if non2xx:
            raise RuntimeError(f"{url} answered errors under load:\n{out}")
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        p50 = _seconds(re.search(r"50%\s+([\d.]+\w+)", out).group(1))
        return {"rps": rps, "p50": p50}
    return _python_load(url, headers, connections, seconds)


def _python_load(url: str, headers: dict, connections: int, seconds: float) -> dict:
    import requests

    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def run() -> None:
        session, mine = requests.Session(), []
        while time.monotonic() < stop:
            began = time.perf_counter()
            resp = session.get(url, headers=headers)
            resp.raise_for_status()
            mine.append(time.perf_counter() - began)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"rps": len(latencies) / seconds, "p50": statistics.median(latencies)}


# --- data ---------------------------------------------------------------------------------


def copy_rows(conn, table: str, columns: list[str], rows) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        for row in rows:
            cp.write_row(row)


def _has(conn, table: str, column: str = "%") -> bool:
    sql = "SELECT 1 FROM information_schema.columns WHERE table_name = %s AND column_name LIKE %s"
    return conn.execute(sql, (table, column)).fetchone() is not None


def load_jobs(conn, first: int, last: int, bench_tech: int, filler: list[int]) -> None:
    """COPY jobs first..last and one feed entry each (id = job id), a day old.

    The bench technician has jobs 1..50. Where the schema has feed positions (per-technician
    counters), an entry's position is its id and each counter ends at its technician's
    highest position, as the migration that introduced them does.
    """
    start = datetime(2026, 1, 5, 8, tzinfo=UTC)
    long_ago = datetime.now(UTC) - timedelta(days=1)

    def owner(i: int) -> int:
        return bench_tech if i <= CHANGED else filler[i % len(filler)]

    def jobs():
        for i in range(first, last + 1):
            s = start + timedelta(minutes=i)
            yield (
                i, f"J-{i:07d}", f"Service visit {i}", "Check and service the unit.",
                f"Customer {i % 5000}", f"{i % 300} Main Street", s, s + timedelta(hours=1),
                "assigned", owner(i), 2, "{}", long_ago, long_ago,
            )  # fmt: skip

    columns = ["id", "reference", "title", "description", "customer", "address",
               "scheduled_start", "scheduled_end", "status", "assignee_id", "version",
               "report", "created_at", "updated_at"]  # fmt: skip
    copy_rows(conn, "jobs", columns, jobs())
    positioned = _has(conn, "sync_feed", "position")
    extra = ["position"] if positioned else []
    feed = ((i, owner(i), i, "upsert", long_ago) + ((i,) if positioned else ())
            for i in range(first, last + 1))  # fmt: skip
    copy_rows(conn, "sync_feed", ["id", "technician_id", "job_id", "kind", "created_at"] + extra,
              feed)  # fmt: skip
    conn.execute("SELECT setval(pg_get_serial_sequence('jobs', 'id'), %s)", (last,))
    conn.execute("SELECT setval(pg_get_serial_sequence('sync_feed', 'id'), %s)", (last,))
    if positioned:
        conn.execute("INSERT INTO sync_positions SELECT technician_id, max(position)"
                     " FROM sync_feed WHERE id BETWEEN %s AND %s GROUP BY technician_id"
                     " ON CONFLICT (technician_id) DO UPDATE SET position = excluded.position",
                     (first, last))  # fmt: skip
    if _has(conn, "job_assignments"):
        conn.execute("INSERT INTO job_assignments SELECT id, assignee_id, created_at FROM jobs"
                     " WHERE id BETWEEN %s AND %s", (first, last))  # fmt: skip
    conn.commit()


SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a DateTime in SQLite


def load_jobs_sqlite(path: Path, first: int, last: int, bench_tech: int, filler: list[int]) -> None:
    """What :func:`load_jobs` does, for a SQLite file (executemany in one transaction)."""
    import sqlite3

    start = datetime(2026, 1, 5, 8)
    long_ago = (datetime.now(UTC) - timedelta(days=1)).replace(tzinfo=None).strftime(SQLITE_TIME)

    def owner(i: int) -> int:
        return bench_tech if i <= CHANGED else filler[i % len(filler)]

    con = sqlite3.connect(path)
    with con:
        con.executemany(
            "INSERT INTO jobs (id, reference, title, description, customer, address,"
            " scheduled_start, scheduled_end, status, assignee_id, version, report, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (i, f"J-{i:07d}", f"Service visit {i}", "Check and service the unit.",
                 f"Customer {i % 5000}", f"{i % 300} Main Street",
                 (start + timedelta(minutes=i)).strftime(SQLITE_TIME),
                 (start + timedelta(minutes=i, hours=1)).strftime(SQLITE_TIME),
                 "assigned", owner(i), 2, "{}", long_ago, long_ago)
                for i in range(first, last + 1)
            ),
        )  # fmt: skip
        con.executemany(
            "INSERT INTO sync_feed (id, technician_id, job_id, kind, created_at, position)"
            " VALUES (?, ?, ?, 'upsert', ?, ?)",
            ((i, owner(i), i, long_ago, i) for i in range(first, last + 1)),
        )
        con.execute(
            "INSERT INTO sync_positions SELECT technician_id, max(position) FROM sync_feed"
            " WHERE true GROUP BY technician_id"
            " ON CONFLICT (technician_id) DO UPDATE SET position = excluded.position"
        )
        con.execute(
            "INSERT INTO job_assignments SELECT id, assignee_id, created_at FROM jobs"
            " WHERE id BETWEEN ? AND ?",
            (first, last),
        )
    con.execute("ANALYZE")
    con.close()


class Instance:
    """One scratch database with the bench technician, served by ``tree`` in its own gunicorn.

    ``backend`` is ``postgresql`` (a scratch database, loaded with COPY) or ``sqlite`` (a
    file in ``tmp``).
    """

    def __init__(
        self, label: str, tmp: Path, redis_url: str, tree: Path = ROOT, backend: str = "postgresql"
    ):
        self.label, self.tree, self.backend = label, Path(tree), backend
        self.name = f"fieldsync_bench_{label}_{uuid.uuid4().hex[:8]}"
        self.pg_url = PG_ADMIN.rsplit("/", 1)[0] + "/" + self.name
        self.sqlite_path = tmp / f"{self.name}.db"
        if backend == "sqlite":
            url = f"sqlite:///{self.sqlite_path}"
        else:
            url = "postgresql+psycopg://" + self.pg_url.split("://", 1)[1]
        self.env = dict(
            os.environ,
            DATABASE_URL=url,
            SECRET_KEY=SECRET,
            REDIS_URL=redis_url,
            FIELDSYNC_INSTANCE=str(tmp / label),
            # This tree's code (and migrations), whatever the .venv's editable install says.
            PYTHONPATH=str(self.tree),
            BENCH_TREE=str(self.tree),
        )
        self.server: subprocess.Popen | None = None
        self.created = False

    def create(self, jobs: int) -> None:
        import psycopg

        if self.backend == "postgresql":
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{self.name}"')
            self.created = True
        subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
                       cwd=self.tree, env=self.env, check=True, capture_output=True)  # fmt: skip
        out = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--seed"], env=self.env,
            cwd=self.tree, check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        seeded = json.loads(out.strip().splitlines()[-1])
        self.token, self.tech_id = seeded["token"], seeded["tech_id"]
        self.start_cursor = seeded["cursor"]  # from a first pull before any feed entry
        t0 = time.monotonic()
        if self.backend == "sqlite":
            import sqlite3

            with sqlite3.connect(self.sqlite_path) as con:
                filler = [
                    r[0] for r in con.execute("SELECT id FROM users WHERE email LIKE 'filler%'")
                ]
            load_jobs_sqlite(self.sqlite_path, 1, jobs, self.tech_id, filler)
            print(f"{self.label}: loaded {jobs:,} jobs in {time.monotonic() - t0:.1f}s", flush=True)
            return
        with psycopg.connect(self.pg_url) as pg:
            filler = [r[0] for r in pg.execute("SELECT id FROM users WHERE email LIKE 'filler%'")]
            for first in range(1, jobs + 1, 200_000):
                load_jobs(pg, first, min(first + 199_999, jobs), self.tech_id, filler)
            pg.autocommit = True
            pg.execute("VACUUM ANALYZE")
            count = pg.execute("SELECT count(*) FROM jobs").fetchone()[0]
        print(f"{self.label}: loaded {count:,} jobs in {time.monotonic() - t0:.1f}s", flush=True)

    def serve(self) -> str:
        """Start gunicorn; check the first pull and both cursors; return the base URL."""
        import requests

        port = free_port()
        self.server = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-w", "2", "-k", "gthread", "--threads", "4",
             "-b", f"127.0.0.1:{port}", "--log-level", "warning",
             "--pythonpath", str(ROOT / "scripts"), "benchlib:bench_app()"],
            cwd=self.tree, env=self.env,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{port}"
        wait_for(self.url + "/bench/hello")
        self.auth = {"Authorization": f"Bearer {self.token}"}
        self.hello = self.url + "/bench/hello"
        first = requests.get(self.pull_url(None), headers=self.auth).json()
        assert len(first["jobs"]) == CHANGED and not first["has_more"], first
        self.empty_cursor = first["cursor"]  # nothing after it
        self.empty = self.pull_url(self.empty_cursor)
        self.changed = self.pull_url(self.start_cursor)
        check = requests.get(self.changed, headers=self.auth).json()
        assert len(check["jobs"]) == CHANGED and not check["has_more"], check
        assert requests.get(self.empty, headers=self.auth).json()["jobs"] == []
        return self.url

    def pull_url(self, cursor: str | None) -> str:
        return f"{self.url}/api/v1/sync/pull" + (f"?cursor={cursor}" if cursor else "")

    def drop(self) -> None:
        import psycopg

        if self.server is not None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(15)
            except subprocess.TimeoutExpired:
                self.server.kill()
        if self.created:
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def seed() -> dict:
    """Create the bench technician, its device, a dispatcher and filler technicians.

    Runs in a child process on the tree's own code; the cursor comes from the device's
    first pull through the API while the feed is still empty.
    """
    sys.path.insert(0, os.environ.get("BENCH_TREE", str(ROOT)))
    from sqlalchemy import insert

    from portal import create_app
    from portal.domain import accounts, devices
    from portal.extensions import db
    from portal.models import User

    app = create_app()
    with app.app_context():
        tech = accounts.create_user("bench-tech@example.com", "technician", "bench-password")
        accounts.create_user("bench-dispatcher@example.com", "dispatcher", "bench-password")
        db.session.execute(
            insert(User),
            [
                {"email": f"filler{i}@example.com", "role": "technician", "name": "",
                 "password_hash": "!", "active": True, "created_at": datetime.now(UTC)}
                for i in range(TECHS)
            ],
        )  # fmt: skip
        _, token = devices.issue_token(tech, "bench-device", "bench", "1")
        db.session.commit()
        tech_id = tech.id
    first = app.test_client().get("/api/v1/sync/pull", headers={"Authorization": f"Bearer {token}"})
    assert first.status_code == 200, first.get_data(as_text=True)
    return {"token": token, "tech_id": tech_id, "cursor": first.get_json()["cursor"]}


if __name__ == "__main__" and sys.argv[1:] == ["--seed"]:
    print(json.dumps(seed()))


# --- results ------------------------------------------------------------------------------


@dataclass
class Result:
    """One line of the harness's table: a path measured against its limit in the same run."""

    path: str
    measured: str  # the two figures, as read
    value: float  # the ratio (or the figure) the target is about
    op: str = ""  # ">=" or "<=" ("" : informative only)
    target: float = 0.0
    note: str = ""

    @property
    def met(self) -> bool | None:
        if not self.op:
            return None
        return self.value >= self.target if self.op == ">=" else self.value <= self.target

    def row(self) -> str:
        verdict = {None: "", True: "met", False: "**missed**"}[self.met]
        target = f"{self.op} {self.target:g}" if self.op else ""
        figure = f"{self.value:,.2f}" if self.value < 100 else f"{self.value:,.0f}"
        return f"| {self.path} | {self.measured} | **{figure}** | {target} | {verdict} |"


def print_table(results: list[Result]) -> None:
    print("\n| path | measured side by side | ratio | target | |")
    print("| --- | --- | --- | --- | --- |")
    for r in results:
        print(r.row(), flush=True)
    for r in results:
        if r.note:
            print(f"- {r.path}: {r.note}")


def per_round(a: list[float], b: list[float]) -> float:
    """Return the median of the ratios a/b taken round by round (noise hits both alike)."""
    return statistics.median(x / y for x, y in zip(a, b, strict=True))
