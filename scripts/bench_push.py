"""Benchmark push sending against the fake FCM (on loopback, threaded, keep-alive).

Prints, measured in one run:
  1. the sender alone: our wrapped pyfcm client (one access token, one keep-alive connection)
     side by side with a fresh client per push (token fetch + new connection each time);
  2. pushes per second that ONE `flask worker` process sends from the push log (target 200/s);
  3. dispatcher-commit -> fake-FCM-receipt latency (p50, p95) with a running worker, with the
     coalescing window set to 0 s (send at once), and with a 1 s window for comparison (the
     RQ scheduler keeps whole-second times and polls once a second).

    .venv/bin/python scripts/bench_push.py [--pushes 1000] [--latency-samples 100]

Uses a private redis-server and a throw-away SQLite database (or --database-url).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import _redis_binary, free_port  # noqa: E402
from tests.fakes.fcm import FakeFCM  # noqa: E402

FLASK = str(ROOT / ".venv" / "bin" / "flask")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def start_redis(tmp: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [_redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        + ["--appendonly", "no", "--dir", str(tmp)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    return proc, f"redis://127.0.0.1:{port}/0"


def worker(env: dict, burst: bool) -> subprocess.Popen:
    args = [FLASK, "--app", "wsgi", "worker", "--queues", "push"] + (["--burst"] if burst else [])
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def bench_sender(app, fake: FakeFCM, n: int) -> tuple[float, float]:
    """Return sends/s of the reused client and of a fresh client per send."""
    from portal.integrations import fcm

    message = fcm.Message("bench-token", "Job J-000001 changed", "Bench", {"type": "sync"}, "job-1")
    with app.app_context():
        fcm.reset_clients()
        fcm.send(message)  # warm: the one token fetch
        t = time.perf_counter()
        for _ in range(n):
            fcm.send(message)
        reused = n / (time.perf_counter() - t)
        fresh_n = max(20, n // 10)
        t = time.perf_counter()
        for _ in range(fresh_n):
            fcm.reset_clients()
            fcm.send(message)
        fresh = fresh_n / (time.perf_counter() - t)
        fcm.reset_clients()
    return reused, fresh


def seed_devices(app, n: int):
    """One technician with ``n`` phones and one job; return (technician id, job id)."""
    from portal.domain import accounts, jobs
    from portal.extensions import db
    from portal.models import Device

    with app.app_context():
        tech = accounts.create_user(
            f"bench-{uuid.uuid4().hex[:6]}@example.com", "technician", "password123", "Bench Tech"
        )
        db.session.flush()
        db.session.add_all(
            Device(
                device_id=f"bench-{uuid.uuid4().hex}",
                user_id=tech.id,
                platform="android",
                push_token=f"token-{i}-{uuid.uuid4().hex}",
            )
            for i in range(n)
        )
        dispatcher = accounts.create_user(
            f"disp-{uuid.uuid4().hex[:6]}@example.com",
            "dispatcher",
            "password123",
            "Bench Dispatcher",
        )
        job = jobs.create({"title": "Bench job"}, jobs.Actor.portal(dispatcher))
        db.session.commit()
        return tech.id, job.id, dispatcher.id


def bench_worker(app, env: dict, fake: FakeFCM, n: int) -> tuple[float, float, int]:
    """Queue ``n`` pushes by ``n`` separate dispatcher commits (one job to each of ``n``
    technicians, one phone each), then send them with one worker process."""
    from portal.domain import jobs
    from portal.extensions import db
    from portal.models import Device, User

    with app.app_context():
        dispatcher = db.session.get(User, seed_devices(app, 0)[2])
        actor = jobs.Actor.portal(dispatcher)
        techs = [
            # A placeholder hash: these technicians never sign in, and hashing 1000 real
            # passwords would take longer than the benchmark.
            User(
                email=f"t{i}-{uuid.uuid4().hex[:6]}@example.com",
                role="technician",
                name=f"Tech {i}",
                password_hash="!",
            )
            for i in range(n)
        ]
        db.session.add_all(techs)
        db.session.flush()
        db.session.add_all(
            Device(
                device_id=f"w-{uuid.uuid4().hex}",
                user_id=t.id,
                platform="android",
                push_token=f"token-{uuid.uuid4().hex}",
            )
            for t in techs
        )
        db.session.commit()
        for i, tech in enumerate(techs):
            job = jobs.create({"title": f"Bench job {i}"}, actor)
            jobs.assign(job, tech, actor)
            db.session.commit()  # one push queued per commit, its flush enqueued after it
    fake.reset()
    started = time.perf_counter()
    proc = worker(env, burst=True)
    proc.wait(600)
    wall = time.perf_counter() - started
    got = fake.delivered
    span = got[-1].at - got[0].at if len(got) > 1 else float("nan")
    return (len(got) - 1) / span, len(got) / wall, len(got)


def bench_latency(app, env: dict, fake: FakeFCM, samples: int, window: float) -> list[float]:
    """Time dispatcher commits to fake-FCM receipts with a running worker."""
    from portal.domain import jobs
    from portal.extensions import db
    from portal.models import Job, User

    tech_id, job_id, disp_id = seed_devices(app, 1)
    env = dict(env, PUSH_COALESCE_SECONDS=str(window))
    app.config["PUSH_COALESCE_SECONDS"] = window
    proc = worker(env, burst=False)
    latencies = []
    try:
        with app.app_context():
            actor = jobs.Actor.portal(db.session.get(User, disp_id))
            job = db.session.get(Job, job_id)
            jobs.assign(job, db.session.get(User, tech_id), actor)
            db.session.commit()
            fake.reset()
            # Warm up: the worker's start and its first token fetch are not latency.
            time.sleep(3)
            for i in range(samples + 1):
                before = len(fake.delivered)
                jobs.update(job, {"title": f"Bench job, edit {i}"}, actor)
                t0 = time.time()
                db.session.commit()  # the push is enqueued after this commit
                got = fake.wait_for(before + 1, timeout=30)
                if len(got) <= before:
                    raise RuntimeError("no push arrived within 30 s")
                if i:
                    latencies.append(got[before].at - t0)
    finally:
        stop(proc)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pushes", type=int, default=1000)
    parser.add_argument("--latency-samples", type=int, default=100)
    parser.add_argument("--window-samples", type=int, default=8)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    opts = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-push-"))
    redis_proc, redis_url = start_redis(tmp)
    fake = FakeFCM().start()
    try:
        creds = fake.write_credentials(tmp / "service-account.json")
        env = dict(os.environ)
        env.update(
            DATABASE_URL=opts.database_url or f"sqlite:///{tmp / 'bench.db'}",
            REDIS_URL=redis_url,
            FIELDSYNC_INSTANCE=str(tmp / "instance"),
            SECRET_KEY="bench",
            FCM_CREDENTIALS=str(creds),
            FCM_ENDPOINT=fake.endpoint,
            PUSH_COALESCE_SECONDS="0",
        )
        subprocess.run(
            [FLASK, "--app", "wsgi", "db", "upgrade"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        os.environ.update(env)
        from portal import create_app

        app = create_app()
        from portal.extensions import sqlite_writer

        sqlite_writer.set(True)  # this process writes: take SQLite's write lock up front
        db_kind = env["DATABASE_URL"].split(":", 1)[0]
        print(f"push benchmark: fake FCM at {fake.base_url}, database {db_kind}, private Redis")

        reused, fresh = bench_sender(app, fake, min(opts.pushes, 500))
        print(f"sender alone   reused client (one token, keep-alive): {reused:8.0f} sends/s")
        print(f"               fresh client per push (token + connect): {fresh:8.0f} sends/s")
        print(f"               ratio reused/fresh: {reused / fresh:.1f}x")

        rate, overall, n = bench_worker(app, env, fake, opts.pushes)
        verdict = "meets" if rate >= 200 else "BELOW"
        print(
            f"one worker     {n} pushes from {n} commits: {rate:6.0f} pushes/s first-to-last "
            f"receipt ({verdict} the 200/s target); {overall:.0f}/s incl. process start"
        )

        for window, samples in ((0.0, opts.latency_samples), (1.0, opts.window_samples)):
            if samples <= 0:
                continue
            lat = bench_latency(app, env, fake, samples, window)
            print(
                f"latency        commit -> FCM receipt, coalescing window {window:g} s, "
                f"n={len(lat)}: p50 {pct(lat, 0.5) * 1000:7.1f} ms  "
                f"p95 {pct(lat, 0.95) * 1000:7.1f} ms  max {max(lat) * 1000:7.1f} ms"
            )

    finally:
        fake.stop()
        stop(redis_proc)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
