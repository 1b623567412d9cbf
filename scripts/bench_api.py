"""Benchmark the device sync pull under gunicorn, side by side with a bare JSON route.

Run: ``.venv/bin/python scripts/bench_api.py`` (needs PostgreSQL at
``BENCH_PG`` = postgresql://postgres@127.0.0.1:5432/postgres and redis-server; installs
Debian's ``wrk`` when missing and run as root, otherwise falls back to Python threads).

It creates a scratch database, bulk-loads jobs and feed entries with COPY, serves the app
with gunicorn (2 processes x 4 threads, the same for every route), and prints:
  (1) empty-delta pull throughput / hello-world throughput      (target >= 0.30)
  (2) empty-delta pull median latency, 1,000,000 / 10,000 jobs  (target <= 1.2)
  (3) 50-changed-jobs pull throughput / hello-world throughput  (target >= 0.10)
Everything it starts or creates is stopped and dropped at the end.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET = "bench-secret-key"
TECHS = 1000
CHANGED = 50
SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def bench_app():
    """The app as production serves it, plus a bare JSON hello-world route to compare."""
    sys.path.insert(0, str(ROOT))
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


# --- load generation --------------------------------------------------------------------


def ensure_wrk() -> str | None:
    found = shutil.which("wrk")
    if found or os.geteuid() != 0:
        return found
    print("installing wrk from Debian ...", flush=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "wrk"],
        env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
        capture_output=True,
    )
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


def load_jobs(conn, first: int, last: int, bench_tech: int, filler: list[int]) -> None:
    """COPY jobs first..last and one feed entry each; the bench technician has the first 50."""
    start = datetime(2026, 1, 5, 8, tzinfo=UTC)
    long_ago = datetime.now(UTC) - timedelta(days=1)

    def jobs():
        for i in range(first, last + 1):
            tech = bench_tech if i <= CHANGED else filler[i % len(filler)]
            s = start + timedelta(minutes=i)
            yield (
                i, f"J-{i:07d}", f"Service visit {i}", "Check and service the unit.",
                f"Customer {i % 5000}", f"{i % 300} Main Street", s, s + timedelta(hours=1),
                "assigned", tech, 2, "{}", long_ago, long_ago,
            )  # fmt: skip

    copy_rows(
        conn,
        "jobs",
        [
            "id",
            "reference",
            "title",
            "description",
            "customer",
            "address",
            "scheduled_start",
            "scheduled_end",
            "status",
            "assignee_id",
            "version",
            "report",
            "created_at",
            "updated_at",
        ],  # fmt: skip
        jobs(),
    )
    copy_rows(
        conn,
        "sync_feed",
        ["technician_id", "job_id", "kind", "created_at"],
        (
            (bench_tech if i <= CHANGED else filler[i % len(filler)], i, "upsert", long_ago)
            for i in range(first, last + 1)
        ),
    )
    with conn.cursor() as cur:
        cur.execute("SELECT setval(pg_get_serial_sequence('jobs', 'id'), %s)", (last,))
    conn.commit()


class Instance:
    """One scratch database with the bench technician, served by its own gunicorn."""

    def __init__(self, label: str, tmp: Path, redis_url: str):
        self.label = label
        self.name = f"fieldsync_apibench_{label}_{uuid.uuid4().hex[:8]}"
        self.pg_url = PG_ADMIN.rsplit("/", 1)[0] + "/" + self.name
        self.env = dict(
            os.environ,
            DATABASE_URL="postgresql+psycopg://" + self.pg_url.split("://", 1)[1],
            SECRET_KEY=SECRET,
            REDIS_URL=redis_url,
            FIELDSYNC_INSTANCE=str(tmp / label),
        )
        self.server: subprocess.Popen | None = None

    def create(self, jobs: int) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.name}"')
        flask = str(ROOT / ".venv" / "bin" / "flask")
        subprocess.run([flask, "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=self.env,
                       check=True, capture_output=True)  # fmt: skip
        self.token, tech_id, self.empty_cursor, self.changed_cursor = seed_in_subprocess(self.env)
        t0 = time.monotonic()
        with psycopg.connect(self.pg_url) as pg:
            filler = [r[0] for r in pg.execute("SELECT id FROM users WHERE email LIKE 'filler%'")]
            for first in range(1, jobs + 1, 200_000):
                load_jobs(pg, first, min(first + 199_999, jobs), tech_id, filler)
            pg.autocommit = True
            pg.execute("VACUUM ANALYZE")
            count = pg.execute("SELECT count(*) FROM jobs").fetchone()[0]
        print(f"{self.label}: loaded {count:,} jobs in {time.monotonic() - t0:.1f}s", flush=True)

    def serve(self) -> str:
        port = free_port()
        self.server = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "gunicorn"), "-w", "2", "-k", "gthread",
             "--threads", "4", "-b", f"127.0.0.1:{port}", "--log-level", "warning",
             "--pythonpath", str(ROOT / "scripts"), "bench_api:bench_app()"],
            cwd=ROOT, env=self.env,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{port}"
        wait_for(self.url + "/bench/hello")
        self.auth = {"Authorization": f"Bearer {self.token}"}
        self.hello = self.url + "/bench/hello"
        self.empty = f"{self.url}/api/v1/sync/pull?cursor={self.empty_cursor}"
        self.changed = f"{self.url}/api/v1/sync/pull?cursor={self.changed_cursor}"
        return self.url

    def drop(self) -> None:
        import psycopg

        if self.server is not None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(15)
            except subprocess.TimeoutExpired:
                self.server.kill()
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def seed_in_subprocess(env: dict) -> tuple[str, int, str, str]:
    """Seed through the app in a child process (one app per database)."""
    out = subprocess.run(
        [sys.executable, __file__, "--seed"], env=env, cwd=ROOT, check=True,
        capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    return out[0], int(out[1]), out[2], out[3]


def main() -> int:
    import requests

    wrk = ensure_wrk()
    tmp = Path(tempfile.mkdtemp(prefix="fieldsync-apibench-"))
    redis_port = free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no",
         "--dir", str(tmp)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    small, large = Instance("10k", tmp, redis_url), Instance("1m", tmp, redis_url)
    try:
        small.create(10_000)
        large.create(1_000_000)
        small.serve()
        large.serve()
        for inst in (small, large):
            check = requests.get(inst.changed, headers=inst.auth).json()
            assert len(check["jobs"]) == CHANGED and not check["has_more"], check
            assert requests.get(inst.empty, headers=inst.auth).json()["jobs"] == []
            for url in (inst.hello, inst.empty, inst.changed):  # warm workers and pools
                load(wrk, url, inst.auth, 8, 1)

        conc = 8
        keys = ("hello", "empty", "changed", "empty1m", "lat10k", "lat1m")
        r: dict[str, list] = {k: [] for k in keys}
        # Interleaved rounds: on a shared machine, neighbours' load hits every route alike.
        for _ in range(ROUNDS):
            r["hello"].append(load(wrk, small.hello, small.auth, conc, SECONDS)["rps"])
            r["empty"].append(load(wrk, small.empty, small.auth, conc, SECONDS)["rps"])
            r["changed"].append(load(wrk, small.changed, small.auth, conc, SECONDS)["rps"])
            r["empty1m"].append(load(wrk, large.empty, large.auth, conc, SECONDS)["rps"])
            r["lat10k"].append(load(wrk, small.empty, small.auth, 1, SECONDS)["p50"])
            r["lat1m"].append(load(wrk, large.empty, large.auth, 1, SECONDS)["p50"])

        med = {k: statistics.median(v) for k, v in r.items()}
        print(f"\nload generator: {'wrk' if wrk else 'python threads'}, {conc} connections, "
              f"{ROUNDS} interleaved rounds of {SECONDS:g}s; gunicorn 2 workers x 4 threads "
              "per database; medians")  # fmt: skip
        print(f"hello-world            {med['hello']:8.0f} req/s")
        print(f"empty-delta pull (10k) {med['empty']:8.0f} req/s")
        print(f"empty-delta pull (1M)  {med['empty1m']:8.0f} req/s")
        print(f"50-changed-jobs pull   {med['changed']:8.0f} req/s")
        print(f"median latency, 1 connection: 10k jobs {med['lat10k'] * 1000:.2f} ms, "
              f"1M jobs {med['lat1m'] * 1000:.2f} ms")  # fmt: skip

        def per_round(key: str, base: str) -> float:
            return statistics.median(a / b for a, b in zip(r[key], r[base], strict=True))

        ratios = [
            ("(1) empty pull / hello throughput", per_round("empty", "hello"), ">=", 0.30),
            ("(2) empty pull p50 1M / 10k jobs", per_round("lat1m", "lat10k"), "<=", 1.2),
            ("(3) 50-job pull / hello throughput", per_round("changed", "hello"), ">=", 0.10),
        ]
        ok = True
        for label, value, op, target in ratios:
            met = value >= target if op == ">=" else value <= target
            ok &= met
            print(f"{label:<38} {value:5.2f}  (target {op} {target}) {'ok' if met else 'MISSED'}")
        return 0 if ok else 1
    finally:
        for inst in (large, small):
            try:
                inst.drop()
            except Exception as exc:  # keep cleaning up the rest
                print(f"could not drop {inst.name}: {exc}", file=sys.stderr)
        redis.terminate()
        redis.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


def seed(env: dict) -> tuple[str, int, str, str]:
    """Create the bench technician, its device token, filler technicians; return cursors."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import insert

    from portal import create_app
    from portal.domain import accounts, devices, sync
    from portal.extensions import db
    from portal.models import User

    app = create_app()
    with app.app_context():
        tech = accounts.create_user("bench-tech@example.com", "technician", "bench-password")
        db.session.execute(
            insert(User),
            [
                {
                    "email": f"filler{i}@example.com",
                    "role": "technician",
                    "name": "",
                    "password_hash": "!",
                    "active": True,
                    "created_at": datetime.now(UTC),
                }
                for i in range(TECHS)
            ],  # fmt: skip
        )
        _, token = devices.issue_token(tech, "bench-device", "bench", "1")
        db.session.commit()
        # The bench technician's feed is entries of jobs 1..50, loaded next; their ids are
        # 1..50 because this technician's rows go first into an empty feed.
        return (
            token,
            tech.id,
            sync.encode_cursor(tech.id, CHANGED),
            sync.encode_cursor(tech.id, 0),
        )


if __name__ == "__main__":
    if sys.argv[1:] == ["--seed"]:
        print(*seed(dict(os.environ)))
        sys.exit(0)
    sys.exit(main())
