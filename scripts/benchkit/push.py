"""Pushes one ``flask worker`` sends from the push log, against raw keep-alive sends.

Both send to the same fake FCM (tests/fakes/fcm.py: loopback, threaded, keep-alive), each
from its own process: the worker takes the pushes that ``n`` dispatcher commits queued (one
job to each of ``n`` technicians, one phone each) and sends them with its real client
(OAuth token, pyfcm); the raw sender posts the same number of FCM messages over one
keep-alive ``requests`` session with one token, and does nothing else.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from benchlib import ROOT, Result, start_redis

from benchkit.common import FLASK, Scratch

RAW = r"""
import json, sys, time, requests
base, endpoint, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
http = requests.Session()
token = http.post(base + "/token", data={"assertion": "x.e30.x"}).json()["access_token"]
headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
url = endpoint + "/fieldsync-test/messages:send"
began = time.perf_counter()
for i in range(n):
    body = {"message": {"token": f"token-{i}", "data": {"type": "sync", "job_id": str(i)},
            "notification": {"title": f"Job J-{i:06d} changed", "body": "Bench"},
            "android": {"collapse_key": f"job-{i}", "priority": "high"}}}
    http.post(url, data=json.dumps(body), headers=headers).raise_for_status()
print(n / (time.perf_counter() - began))
"""


def queue_pushes(app, n: int) -> None:
    """Queue ``n`` pushes by ``n`` dispatcher commits (one per technician's phone)."""
    from portal.domain import accounts, jobs
    from portal.extensions import db, sqlite_writer
    from portal.models import Device, User

    sqlite_writer.set(True)
    with app.app_context():
        boss = accounts.create_user("boss@bench.test", "dispatcher", "password123", "Boss")
        actor = jobs.Actor.portal(boss)
        techs = [User(email=f"t{i}@bench.test", role="technician", name=f"Tech {i}",
                      password_hash="!") for i in range(n)]  # fmt: skip
        db.session.add_all(techs)
        db.session.flush()
        db.session.add_all(Device(device_id=f"w-{uuid.uuid4().hex}", user_id=t.id,
                                  platform="android", push_token=f"token-{uuid.uuid4().hex}")
                           for t in techs)  # fmt: skip
        db.session.commit()
        for i, tech in enumerate(techs):
            job = jobs.create({"title": f"Bench job {i}"}, actor)
            jobs.assign(job, tech, actor)
            db.session.commit()  # one push queued per commit, its flush enqueued after it


def raw_sends(fake, n: int) -> float:
    """Return the sends/s of a bare keep-alive sender process."""
    cmd = [sys.executable, "-c", RAW, fake.base_url, fake.endpoint, str(n)]
    return float(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


def run(n: int, backend: str = "sqlite") -> list[Result]:
    """Return the worker's pushes/s ÷ the raw sender's sends/s."""
    from tests.fakes.fcm import FakeFCM

    tmp = Path(tempfile.mkdtemp(prefix="fieldsync-bench-push-"))
    redis, redis_url = start_redis(tmp)
    fake = FakeFCM().start()
    scratch = Scratch(backend, tmp, redis_url, "push")
    try:
        creds = fake.write_credentials(tmp / "service-account.json")
        fcm_env = {"FCM_CREDENTIALS": str(creds), "FCM_ENDPOINT": fake.endpoint,
                   "PUSH_COALESCE_SECONDS": "0"}  # fmt: skip
        scratch.env.update(fcm_env)
        scratch.create()
        app = scratch.app(**fcm_env)
        queue_pushes(app, n)
        raw_rates = [raw_sends(fake, n)]
        fake.reset()
        began = time.perf_counter()
        subprocess.run([FLASK, "--app", "wsgi", "worker", "--queues", "push", "--burst"],
                       cwd=ROOT, env=scratch.env, capture_output=True, timeout=600)  # fmt: skip
        wall = time.perf_counter() - began
        got = fake.delivered
        span = got[-1].at - got[0].at if len(got) > 1 else float("nan")
        rate = (len(got) - 1) / span
        raw_rates.append(raw_sends(fake, n))  # before and after: the machine's drift hits both
        raw_rate = sum(raw_rates) / 2
    finally:
        fake.stop()
        scratch.drop()
        redis.terminate()
        redis.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    return [Result(
        f"pushes, one worker ÷ raw keep-alive sends ({backend})",
        f"{rate:,.0f} ÷ {raw_rate:,.0f} per s", rate / raw_rate, "", 0,
        f"{len(got)} of {n} pushes delivered, first to last receipt; {len(got) / wall:,.0f}/s "
        "including the worker's start",
    )]  # fmt: skip
