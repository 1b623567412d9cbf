"""Each job operation of the domain: history, version, sync feed, rules, status counts."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.domain import counts
from portal.domain import jobs as job_ops
from portal.domain.errors import ConfigurationError, ConflictError, ValidationError
from portal.models import FeedEntry, Job, JobEvent


def feed_of(db, technician) -> list[tuple[int, str]]:
    rows = db.session.scalars(
        select(FeedEntry).where(FeedEntry.technician_id == technician.id).order_by(FeedEntry.id)
    )
    return [(r.job_id, r.kind) for r in rows]


def events_of(db, job) -> list[JobEvent]:
    return list(
        db.session.scalars(select(JobEvent).where(JobEvent.job_id == job.id).order_by(JobEvent.id))
    )


@pytest.fixture
def actor(make_user):
    return job_ops.Actor.portal(make_user("dispatcher", name="Dana"))


def test_create_records_history_and_starts_at_version_one(db, actor):
    job = job_ops.create({"title": "Boiler service", "customer": "Acme"}, actor)
    db.session.commit()
    assert job.version == 1 and job.status == "new" and job.reference == f"J-{job.id:06d}"
    (event,) = events_of(db, job)
    assert (event.kind, event.version, event.actor_id) == ("created", 1, actor.user.id)
    assert event.changes["customer"] == [None, "Acme"]


def test_update_bumps_version_records_before_after_and_feeds_the_assignee(db, actor, tech):
    t = tech()
    job = job_ops.create({"title": "Boiler service"}, actor)
    job_ops.assign(job, t, actor)
    db.session.commit()
    before = job.version
    changes = job_ops.update(job, {"title": "Boiler repair"}, actor, expected_version=before)
    db.session.commit()
    assert changes == {"title": ["Boiler service", "Boiler repair"]}
    assert job.version == before + 1
    assert events_of(db, job)[-1].changes == {"title": ["Boiler service", "Boiler repair"]}
    assert feed_of(db, t)[-1] == (job.id, "upsert")


def test_reassign_feeds_the_new_technician_and_removes_from_the_previous(db, actor, tech):
    first, second = tech("First"), tech("Second")
    job = job_ops.create({"title": "Fix radiator"}, actor)
    job_ops.assign(job, first, actor)
    db.session.commit()
    job_ops.assign(job, second, actor)
    db.session.commit()
    assert feed_of(db, first) == [(job.id, "upsert"), (job.id, "remove")]
    assert feed_of(db, second) == [(job.id, "upsert")]
    last = events_of(db, job)[-1]
    assert last.kind == "assigned" and last.changes["assignee"] == ["First", "Second"]
    assert job.version == 3
    job_ops.assign(job, None, actor)
    db.session.commit()
    assert feed_of(db, second)[-1] == (job.id, "remove")
    assert job.status == "new"


def test_change_status_follows_configured_transitions_only(db, actor, tech):
    t = tech()
    job = job_ops.create({"title": "Leaking pipe"}, actor)
    job_ops.assign(job, t, actor)
    db.session.commit()
    version = job.version
    with pytest.raises(ConfigurationError, match="assigned → finished is not configured"):
        job_ops.change_status(job, "finished", actor)
    db.session.rollback()
    assert db.session.get(Job, job.id).version == version
    job_ops.change_status(job, "started", actor, expected_version=version)
    db.session.commit()
    assert job.status == "started" and job.version == version + 1
    assert events_of(db, job)[-1].changes == {"status": ["assigned", "started"]}
    with pytest.raises(ValidationError, match="Resolution"):
        job_ops.change_status(job, "finished", actor)  # the required report field is empty
    db.session.rollback()


def test_cancel_removes_the_job_from_the_technicians_feed(db, actor, tech):
    t = tech()
    job = job_ops.create({"title": "Check smoke alarms"}, actor)
    job_ops.assign(job, t, actor)
    db.session.commit()
    job_ops.cancel(job, actor)
    db.session.commit()
    assert job.status == "cancelled"
    assert feed_of(db, t) == [(job.id, "upsert"), (job.id, "remove")]
    assert events_of(db, job)[-1].kind == "cancelled"
    with pytest.raises(ValidationError):
        job_ops.update(job, {"title": "again"}, actor)


def test_stale_version_is_refused_with_what_changed(db, actor):
    job = job_ops.create({"title": "Annual inspection", "customer": "Initech"}, actor)
    db.session.commit()
    opened = job.version
    job_ops.update(job, {"customer": "Initech Ltd"}, actor)
    db.session.commit()
    with pytest.raises(ConflictError) as caught:
        job_ops.update(job, {"title": "Mine"}, actor, expected_version=opened)
    assert caught.value.changes == {"customer": ["Initech", "Initech Ltd"]}
    assert "Dana" in caught.value.message


def test_saving_a_finished_job_with_the_same_technician_is_not_a_reassignment(db, actor, tech):
    t = tech()
    job = job_ops.create({"title": "Boiler service"}, actor)
    job_ops.assign(job, t, actor)
    job_ops.update_report(job, {"resolution": "Replaced the valve"}, actor)
    job_ops.change_status(job, "started", actor)
    job_ops.change_status(job, "finished", actor)
    db.session.commit()
    assert job_ops.assign(job, t, actor) is False
    with pytest.raises(ValidationError, match="cannot be reassigned"):
        job_ops.assign(job, tech("Other"), actor)


def test_status_counts_follow_every_change_and_ignore_rolled_back_rows(db, actor, tech):
    t = tech()
    a = job_ops.create({"title": "A"}, actor)
    job_ops.create({"title": "B"}, actor)
    db.session.commit()
    assert counts.by_status()["new"] == 2
    job_ops.assign(a, t, actor)
    db.session.commit()
    assert (counts.by_status()["new"], counts.by_status()["assigned"]) == (1, 1)
    with pytest.raises(ValidationError), counts.savepoint():
        job_ops.create({"title": "C"}, actor)
        raise ValidationError("bad row")
    job_ops.cancel(a, actor)
    db.session.commit()
    assert counts.by_status() == {
        "new": 1,
        "assigned": 0,
        "en_route": 0,
        "started": 0,
        "paused": 0,
        "finished": 0,
        "cancelled": 1,
    }
    assert counts.recount() == {"new": 1, "cancelled": 1}
