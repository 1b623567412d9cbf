"""Processing device actions with real RQ workers: order, outcomes, repair, exactly once."""

from __future__ import annotations

import io

import redis as redis_lib
from sqlalchemy import select

from portal.domain import files, inbox, inbox_admin
from portal.domain import jobs as job_ops
from portal.models import (
    FeedEntry,
    FeedKind,
    FileKind,
    InboxAudit,
    InboxMessage,
    Job,
    JobEvent,
    Right,
    StatusTransition,
    TechnicianRight,
)
from tests.inbox.conftest import reload


def notes_of(db, job_id):
    db.session.expire_all()
    rows = db.session.scalars(
        select(JobEvent)
        .where(JobEvent.job_id == job_id, JobEvent.kind == "note")
        .order_by(JobEvent.id)
    )
    return [r.note for r in rows]


def state_of(db, message):
    return reload(db, InboxMessage, message.id)


def test_actions_are_applied_in_order_through_the_job_services(
    db, technician, make_job, upload, run_worker
):
    job = make_job(technician)
    dev = technician.device
    a = upload(technician, job.id, 1, "status_change", {"to": "started"}, device=dev)
    b = upload(
        technician, job.id, 2, "report_update", {"fields": {"resolution": "Fixed"}}, device=dev
    )
    c = upload(technician, job.id, 3, "note", {"text": "All good"}, device=dev)
    d = upload(technician, job.id, 4, "status_change", {"to": "finished"}, device=dev)
    run_worker(["inbox"])
    for m in (a, b, c, d):
        assert state_of(db, m).state == "completed"
    job = reload(db, Job, job.id)
    assert job.status == "finished" and job.report["resolution"] == "Fixed"
    events = db.session.scalars(
        select(JobEvent).where(JobEvent.job_id == job.id).order_by(JobEvent.id)
    ).all()
    device_events = [e for e in events if e.origin == "device"]
    assert [e.kind for e in device_events] == ["status", "report", "note", "status"]
    assert all(e.device_id == dev.id for e in device_events)
    # The device learns every outcome in its next pull.
    results = db.session.scalars(
        select(FeedEntry.message_id).where(FeedEntry.kind == FeedKind.ACTION_RESULT.value)
    ).all()
    assert {a.id, b.id, c.id, d.id} <= set(results)


def test_missing_right_fails_as_authorization_and_granting_it_repairs(
    db, make_user, make_job, upload, run_worker
):
    tech = make_user("technician", rights=[])
    job = make_job(tech)
    m = upload(tech, job.id, 1, "status_change", {"to": "en_route"})
    run_worker(["inbox"])
    m = state_of(db, m)
    assert (m.state, m.error_category) == ("failed", "authorization")
    assert "change_status" in m.error_message
    db.session.add(TechnicianRight(user_id=tech.id, right="change_status"))
    inbox_admin.retry([m], None)
    db.session.commit()
    run_worker(["inbox"])
    assert state_of(db, m).state == "completed"
    assert reload(db, Job, job.id).status == "en_route"


def test_empty_required_field_fails_as_validation_with_a_readable_message(
    db, technician, make_job, upload, run_worker, make_user
):
    job = make_job(technician, status="started")
    m = upload(technician, job.id, 1, "status_change", {"to": "finished"})
    run_worker(["inbox"])
    m = state_of(db, m)
    assert m.error_category == "validation"
    assert m.error_message == "started → finished needs report field 'Resolution'."
    admin = make_user("admin")
    job_ops.update_report(
        reload(db, Job, job.id), {"resolution": "Replaced valve"}, job_ops.Actor.portal(admin)
    )
    inbox_admin.retry([m], admin)
    db.session.commit()
    run_worker(["inbox"])
    assert state_of(db, m).state == "completed"
    assert reload(db, Job, job.id).status == "finished"


def test_unconfigured_transition_fails_as_configuration_until_configured(
    db, technician, make_job, upload, run_worker
):
    job = make_job(technician)
    m = upload(technician, job.id, 1, "status_change", {"to": "paused"})
    run_worker(["inbox"])
    m = state_of(db, m)
    assert m.error_category == "configuration"
    assert "assigned → paused" in m.error_message
    db.session.add(StatusTransition(from_status="assigned", to_status="paused"))
    inbox_admin.retry([m], None)
    db.session.commit()
    run_worker(["inbox"])
    assert state_of(db, m).state == "completed"


def test_a_job_that_is_not_the_technicians_fails_as_authorization(
    db, technician, make_user, make_job, upload, run_worker
):
    other = make_user("technician")
    job = make_job(other)
    m = upload(technician, job.id, 1, "note", {"text": "hello"})
    missing = upload(technician, 999999, 1, "note", {"text": "hello"})
    run_worker(["inbox"])
    m, missing = state_of(db, m), state_of(db, missing)
    assert (m.error_category, missing.error_category) == ("authorization", "authorization")
    assert "is not assigned to Tess Tech" in m.error_message
    admin = make_user("admin")
    job_ops.assign(reload(db, Job, job.id), technician, job_ops.Actor.portal(admin))
    inbox_admin.retry([m], admin)
    db.session.commit()
    run_worker(["inbox"])
    assert state_of(db, m).state == "completed"
    assert notes_of(db, job.id) == ["hello"]


def test_a_failure_holds_the_line_and_retry_runs_the_held_actions_at_once(
    db, make_user, make_job, upload, run_worker
):
    tech = make_user("technician", rights=[Right.ADD_NOTES])
    job = make_job(tech)
    head = upload(tech, job.id, 1, "status_change", {"to": "started"})
    held = [upload(tech, job.id, s, "note", {"text": f"n{s}"}) for s in (2, 3, 4)]
    run_worker(["inbox"])
    assert state_of(db, head).state == "failed"
    assert [state_of(db, m).state for m in held] == ["queued"] * 3
    assert notes_of(db, job.id) == []
    db.session.add(TechnicianRight(user_id=tech.id, right="change_status"))
    inbox_admin.retry([state_of(db, head)], None)
    db.session.commit()
    run_worker(["inbox"])  # one run: the whole line, not one action per checker run
    assert [state_of(db, m).state for m in [head, *held]] == ["completed"] * 4
    assert notes_of(db, job.id) == ["n2", "n3", "n4"]


def test_discarding_a_failed_action_lets_the_line_go_on(
    db, technician, make_job, upload, run_worker, make_user
):
    job = make_job(technician)
    bad = upload(technician, job.id, 1, "status_change", {"to": "finished"})
    after = upload(technician, job.id, 2, "note", {"text": "after"})
    run_worker(["inbox"])
    admin = make_user("admin")
    inbox_admin.discard(state_of(db, bad), admin, "device sent it by mistake")
    db.session.commit()
    run_worker(["inbox"])
    assert state_of(db, bad).state == "discarded"
    assert state_of(db, after).state == "completed"
    audit = db.session.scalars(select(InboxAudit).where(InboxAudit.message_id == bad.id)).one()
    assert (audit.action, audit.user_id, audit.before["state"]) == ("discard", admin.id, "failed")


def test_out_of_order_uploads_wait_and_run_in_seq_order_once(
    db, technician, make_job, upload, run_worker, app
):
    job = make_job(technician)
    dev = technician.device
    third = upload(technician, job.id, 3, "note", {"text": "three"}, device=dev)
    run_worker(["inbox"])
    third = state_of(db, third)
    assert third.state == "queued" and third.wait_reason.startswith("Waiting for action #2")
    upload(technician, job.id, 1, "note", {"text": "one"}, device=dev)
    upload(technician, job.id, 2, "note", {"text": "two"}, device=dev)
    run_worker(["inbox"])
    assert notes_of(db, job.id) == ["one", "two", "three"]
    # Re-enqueued lines, a checker run and a stale claim never apply anything twice.
    for _ in range(3):
        inbox.enqueue_line(job.id)
    db.session.commit()
    inbox_admin.check()
    run_worker(["inbox"])
    assert inbox.attempt(third.id, 0) == "skipped"
    assert notes_of(db, job.id) == ["one", "two", "three"]


def test_an_admin_releases_an_action_waiting_for_a_lost_predecessor(
    db, technician, make_job, upload, run_worker, make_user
):
    job = make_job(technician)
    m = upload(technician, job.id, 2, "note", {"text": "two"}, device=technician.device)
    run_worker(["inbox"])
    admin = make_user("admin")
    inbox_admin.release(state_of(db, m), admin)
    db.session.commit()
    run_worker(["inbox"])
    assert state_of(db, m).state == "completed"


def test_a_photo_action_waits_for_its_upload(db, technician, make_job, upload, run_worker):
    job = make_job(technician)
    m = upload(technician, job.id, 1, "photo_added", {"file_id": "photo-1"})
    run_worker(["inbox"])
    assert state_of(db, m).wait_reason.startswith("Waiting for the photo")
    actor = job_ops.Actor.on_device(technician, technician.device)
    files.add_file(
        reload(db, Job, job.id),
        io.BytesIO(b"jpeg"),
        "a.jpg",
        "image/jpeg",
        FileKind.PHOTO,
        actor,
        client_file_id="photo-1",
    )
    inbox.enqueue_line(job.id)  # the upload endpoint does this after commit
    db.session.commit()
    run_worker(["inbox"])
    assert state_of(db, m).state == "completed"


def test_support_edits_a_payload_audited_then_it_succeeds(
    db, technician, make_job, upload, run_worker, make_user
):
    job = make_job(technician)
    m = upload(technician, job.id, 1, "status_change", {"to": "finishd"})
    run_worker(["inbox"])
    m = state_of(db, m)
    assert m.error_category == "validation"
    support = make_user("support")
    inbox_admin.edit_payload(m, '{"to": "en_route"}', support, "typo in status")
    inbox_admin.retry([m], support)
    db.session.commit()
    run_worker(["inbox"])
    assert state_of(db, m).state == "completed"
    edit = db.session.scalars(
        select(InboxAudit).where(InboxAudit.message_id == m.id, InboxAudit.action == "edit")
    ).one()
    assert edit.before["payload"] == {"to": "finishd"}
    assert edit.after["payload"] == {"to": "en_route"}
    assert edit.user_id == support.id and edit.at is not None


def test_the_checker_retries_failures_and_revives_lines_redis_forgot(
    db, make_user, make_job, upload, run_worker, redis_url
):
    tech = make_user("technician", rights=[Right.ADD_NOTES])
    job = make_job(tech)
    failing = upload(tech, job.id, 1, "status_change", {"to": "en_route"})
    run_worker(["inbox"])
    db.session.add(TechnicianRight(user_id=tech.id, right="change_status"))
    db.session.commit()
    lost = make_job(tech)
    orphan = upload(tech, lost.id, 1, "note", {"text": "lost"})
    redis_lib.Redis.from_url(redis_url).flushdb()  # the queued task is gone
    result = inbox_admin.check()
    assert result == {"retried_lines": 1, "requeued_lines": 1}
    run_worker(["inbox"])
    assert state_of(db, failing).state == "completed"
    assert state_of(db, orphan).state == "completed"
    assert state_of(db, failing).attempts == 2


def test_a_photo_waiting_on_one_device_does_not_stop_another_devices_line(
    db, technician, make_job, upload, run_worker
):
    from portal.models import Device

    other = Device(device_id="tablet-2", user_id=technician.id)
    db.session.add(other)
    db.session.commit()
    job = make_job(technician)
    photo = upload(
        technician, job.id, 1, "photo_added", {"file_id": "p-9"}, device=technician.device
    )
    note = upload(technician, job.id, 1, "note", {"text": "from the tablet"}, device=other)
    run_worker(["inbox"])
    assert state_of(db, photo).state == "queued"
    assert state_of(db, note).state == "completed"
