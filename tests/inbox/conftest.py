"""Inbox fixtures: technicians with devices, assigned jobs, and uploaded actions."""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest

from portal.domain import jobs as job_ops
from portal.effects import after_commit
from portal.extensions import db as _db
from portal.integrations.queue import QueueName, Task, enqueue
from portal.models import Device, InboxMessage, MessageState


def store_action(technician, job_id, seq, type_, payload, device=None, action_id=None):
    """Store an uploaded action as the device API does, and enqueue its line after commit."""
    canonical = json.dumps(
        {"job_id": job_id, "seq": seq, "type": type_, "payload": payload}, sort_keys=True
    )
    message = InboxMessage(
        action_id=action_id or str(uuid.uuid4()),
        device_id=device.id if device else None,
        technician_id=technician.id,
        job_id=job_id,
        seq=seq,
        type=type_,
        payload=payload,
        payload_hash=hashlib.sha256(canonical.encode()).hexdigest(),
        state=MessageState.QUEUED.value,
    )
    _db.session.add(message)
    _db.session.flush()
    after_commit(enqueue, Task.PROCESS_LINE, job_id, queue_name=QueueName.INBOX)
    return message


@pytest.fixture
def upload(db):
    """Store actions and commit: ``upload(tech, job, seq, type, payload, device=...)``."""

    def run(*args, **kwargs):
        message = store_action(*args, **kwargs)
        db.session.commit()
        return message

    return run


@pytest.fixture
def technician(make_user, db):
    """A technician with every right and one device."""
    return technician_with_device(make_user, db)


def technician_with_device(make_user, db):
    """Create a technician with every right and one device (``tech.device``)."""
    tech = make_user("technician", name="Tess Tech")
    device = Device(device_id=f"dev-{uuid.uuid4().hex[:8]}", user_id=tech.id, platform="android")
    db.session.add(device)
    db.session.commit()
    tech.device = device
    return tech


@pytest.fixture
def make_job(db, make_user):
    """Create a job assigned to a technician (status ``assigned``) and return it."""
    dispatcher = make_user("dispatcher")

    def make(assignee=None, title="Fix the boiler", status=None):
        actor = job_ops.Actor.portal(dispatcher)
        job = job_ops.create({"title": title}, actor)
        if assignee is not None:
            job_ops.assign(job, assignee, actor)
        if status is not None:
            job.status = status
        db.session.commit()
        return job

    return make


def reload(db, model, id_):
    db.session.expire_all()
    return db.session.get(model, id_)


class WorkerPool:
    """Real worker processes (``flask --app wsgi worker``) that a test may kill and restart."""

    def __init__(self, env: dict, size: int):
        self.env = env
        self.procs: list = [None] * size
        self.kills = 0

    def _start(self, i: int) -> None:
        import subprocess

        from tests.conftest import ROOT

        self.procs[i] = subprocess.Popen(
            [
                str(ROOT / ".venv" / "bin" / "flask"),
                "--app",
                "wsgi",
                "worker",
                "--queues",
                "inbox",
                "--no-scheduler",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def start(self) -> WorkerPool:
        for i in range(len(self.procs)):
            self._start(i)
        return self

    def keep_alive(self) -> None:
        """Restart any worker that died (killed, or crashed when Redis lost its state)."""
        for i, proc in enumerate(self.procs):
            if proc is None or proc.poll() is not None:
                self._start(i)

    def kill(self, i: int = 0) -> None:
        import signal

        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait(10)
        self.kills += 1
        self._start(i)

    def stop(self) -> None:
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            if proc is not None:
                try:
                    proc.wait(10)
                except Exception:
                    proc.kill()
                    proc.wait(5)


@pytest.fixture
def worker_pool(base_env):
    """Start worker processes with a short line lock (a killed worker's line frees quickly)."""
    pools: list[WorkerPool] = []

    def make(size: int = 2, lock_seconds: int = 3) -> WorkerPool:
        env = dict(base_env, INBOX_LOCK_SECONDS=str(lock_seconds))
        pool = WorkerPool(env, size).start()
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.stop()
