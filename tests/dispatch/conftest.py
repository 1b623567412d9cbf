"""Fixtures of the dispatcher portal tests: technicians and jobs made through the domain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.domain import jobs as job_ops
from portal.models import InboxMessage, MessageState


@pytest.fixture
def dispatcher(login_as):
    """A dispatcher signed in on ``client``."""
    return login_as("dispatcher")


@pytest.fixture
def tech(make_user):
    """Make a technician (optionally named)."""

    def make(name: str = "", email: str | None = None):
        return make_user("technician", email=email, name=name)

    return make


@pytest.fixture
def nine_am():
    return datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)


@pytest.fixture
def make_job(db, make_user, nine_am):
    """Create a job through the domain (as a dispatcher) and commit it."""
    owner = {}

    def make(title: str = "Boiler service", assignee=None, **fields):
        if "user" not in owner:
            owner["user"] = make_user("dispatcher", email="owner@example.com", name="Olga Owner")
        actor = job_ops.Actor.portal(owner["user"])
        values = {
            "title": title,
            "customer": "Acme Bakery",
            "address": "1 Main Street",
            "scheduled_start": nine_am,
            "scheduled_end": nine_am + timedelta(hours=2),
        }
        values.update(fields)
        job = job_ops.create(values, actor)
        if assignee is not None:
            job_ops.assign(job, assignee, actor)
        db.session.commit()
        return job

    return make


def completed_note(db, technician, job_id: int, received: datetime) -> InboxMessage:
    """Store a completed note action on ``job_id`` received at ``received``."""
    message = InboxMessage(
        action_id=f"note-{job_id}-{received.timestamp()}",
        technician_id=technician.id,
        job_id=job_id,
        seq=1,
        type="note",
        payload={"text": "on site"},
        payload_hash="0" * 64,
        state=MessageState.COMPLETED.value,
        received_at=received,
    )
    db.session.add(message)
    db.session.commit()
    return message
