"""Inbox fixtures: technicians with devices, assigned jobs, and uploaded actions."""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest

from portal.domain import jobs as job_ops
from portal.effects import after_commit
from portal.extensions import db as _db
from portal.integrations.queue import QueueName, enqueue
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
    after_commit(enqueue, "workers.inbox.process_line", job_id, queue_name=QueueName.INBOX)
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
