"""Fixtures for push tests: the fake FCM, technicians with phones, real RQ workers."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid

import pytest

from tests.conftest import ROOT
from tests.fakes.fcm import fake_fcm  # noqa: F401  (the fixture, shared with other tests)


@pytest.fixture
def fcm_app(app, fake_fcm, monkeypatch):  # noqa: F811
    """The app configured to send through the fake FCM, coalescing off unless a test sets it."""
    from portal.integrations import fcm

    monkeypatch.setitem(app.config, "FCM_CREDENTIALS", str(fake_fcm.credentials))
    monkeypatch.setitem(app.config, "FCM_ENDPOINT", fake_fcm.endpoint)
    monkeypatch.setitem(app.config, "PUSH_COALESCE_SECONDS", 0)
    fcm.reset_clients()
    yield app
    fcm.reset_clients()


@pytest.fixture
def phone(db, make_user):
    """Create a technician with one phone registered for push; returns (technician, device)."""
    from portal.domain import devices

    def make(token: str | None = None, user=None):
        user = user or make_user("technician")
        device, _ = devices.issue_token(user, f"phone-{uuid.uuid4().hex[:8]}", "android", "1.0")
        device.push_token = token if token is not None else f"fcm-{uuid.uuid4().hex}"
        db.session.commit()
        return user, device

    return make


@pytest.fixture
def portal_actor(make_user):
    from portal.domain.jobs import Actor

    return Actor.portal(make_user("dispatcher"))


@pytest.fixture
def new_job(db, portal_actor):
    """Create a job through the domain (committed), optionally assigned."""
    from portal.domain import jobs

    def make(title: str = "Boiler service", assignee=None):
        job = jobs.create({"title": title, "customer": "ACME"}, portal_actor)
        if assignee is not None:
            jobs.assign(job, assignee, portal_actor)
        db.session.commit()
        return job

    return make


@pytest.fixture
def run_push_worker(app):
    """Run a real RQ worker in burst mode on the push queue, due scheduled jobs included."""
    from portal.integrations.queue import QueueName
    from workers import make_worker

    def run(with_scheduler: bool = True):
        worker = make_worker(app, (QueueName.PUSH,), name=f"push-test-{uuid.uuid4().hex[:6]}")
        worker.work(burst=True, with_scheduler=with_scheduler, logging_level="WARNING")
        return worker

    return run


@pytest.fixture
def worker_process(base_env, fake_fcm):  # noqa: F811
    """Start ``flask worker`` (with the RQ scheduler) as a subprocess; stopped at teardown."""
    procs: list[subprocess.Popen] = []

    def start(**settings: str) -> subprocess.Popen:
        env = dict(base_env)
        # Warnings only: stderr is a pipe nobody reads, and a full pipe would stop the worker.
        env.update(fake_fcm.settings(), PUSH_COALESCE_SECONDS="0", LOG_LEVEL="WARNING")
        env.update({k: str(v) for k, v in settings.items()})
        proc = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "worker", "--queues", "push"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own group: the scheduler child is stopped with it
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        if proc.stderr:
            proc.stderr.close()


def wait_until(predicate, timeout: float = 15.0, interval: float = 0.1):
    """Poll ``predicate`` until it returns something truthy; return it (or the last value)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
