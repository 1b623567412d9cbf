"""Processing device actions with real RQ workers: order, outcomes, repair, exactly once."""

from __future__ import annotations

import io

import redis as redis_lib
from sqlalchemy import select

from portal.domain import files
from portal.domain import jobs as job_ops
from portal.domain.inbox import attempts, maintenance, processor, repair
from portal.models import (
    FeedEntry,
    FeedKind,
    FileKind,
    InboxAttempt,
    InboxAudit,
    InboxMessage,
    Job,
    JobEvent,
    PendingPhoto,
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
    repair.retry([m], None)
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
    repair.retry([m], admin)
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
    repair.retry([m], None)
    db.session.commit()
    run_worker(["inbox"])
    assert state_of(db, m).state == "completed"


def test_an_action_on_a_job_reassigned_away_fails_and_holds_only_its_device(
    db, technician, make_user, make_job, upload, run_worker
):
    """The old technician's stale work is kept for the office; the new one goes on."""
    admin = make_user("admin")
    job = make_job(technician)
    newcomer = make_user("technician", name="Nora New")
    job_ops.assign(reload(db, Job, job.id), newcomer, job_ops.Actor.portal(admin))
    db.session.commit()
    from portal.models import Device

    phone = Device(device_id="nora-phone", user_id=newcomer.id)
    db.session.add(phone)
    db.session.commit()
    stale = upload(technician, job.id, 1, "note", {"text": "stale"}, device=technician.device)
    stale_2 = upload(technician, job.id, 2, "note", {"text": "stale 2"}, device=technician.device)
    fresh = upload(newcomer, job.id, 1, "status_change", {"to": "started"}, device=phone)
    run_worker(["inbox"])
    stale, stale_2 = state_of(db, stale), state_of(db, stale_2)
    assert stale.error_category == "authorization"
    assert "given to someone else while this phone was offline" in stale.error_message
    assert "Nora" not in stale.error_message
    assert stale_2.state == "queued"  # held behind its own device's failure
    assert state_of(db, fresh).state == "completed"  # the new technician is not held back
    assert reload(db, Job, job.id).status == "started"
    job_ops.assign(reload(db, Job, job.id), technician, job_ops.Actor.portal(admin))
    repair.retry([stale], admin)
    db.session.commit()
    run_worker(["inbox"])
    assert [state_of(db, m).state for m in (stale, stale_2)] == ["completed", "completed"]
    assert notes_of(db, job.id) == ["stale", "stale 2"]


def test_a_note_on_a_job_cancelled_while_offline_fails_like_any_other_action(
    db, technician, make_user, make_job, upload, run_worker
):
    job = make_job(technician)
    job_ops.cancel(reload(db, Job, job.id), job_ops.Actor.portal(make_user("dispatcher")))
    db.session.commit()
    note = upload(technician, job.id, 1, "note", {"text": "Customer not home"})
    report = upload(technician, job.id, 2, "report_update", {"fields": {"resolution": "x"}})
    run_worker(["inbox"])
    note = state_of(db, note)
    assert (note.state, note.error_category) == ("failed", "authorization")
    assert "cancelled while this phone was offline" in note.error_message
    assert state_of(db, report).state == "queued"
    assert notes_of(db, job.id) == []


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
    repair.retry([state_of(db, head)], None)
    db.session.commit()
    run_worker(["inbox"])  # one run: the whole line, not one action per checker run
    assert [state_of(db, m).state for m in [head, *held]] == ["completed"] * 4
    assert notes_of(db, job.id) == ["n2", "n3", "n4"]


def test_a_failure_in_the_middle_of_a_line_keeps_what_came_before_and_holds_the_rest(
    db, make_user, make_job, upload, run_worker
):
    """Actions applied together still succeed or fail one by one."""
    tech = make_user("technician", rights=[Right.ADD_NOTES])
    job = make_job(tech)
    before = [upload(tech, job.id, s, "note", {"text": f"n{s}"}) for s in (1, 2)]
    refused = upload(tech, job.id, 3, "status_change", {"to": "started"})
    after = [upload(tech, job.id, s, "note", {"text": f"n{s}"}) for s in (4, 5)]
    run_worker(["inbox"])
    assert [state_of(db, m).state for m in before] == ["completed"] * 2
    assert notes_of(db, job.id) == ["n1", "n2"]
    failed = state_of(db, refused)
    assert (failed.state, failed.error_category, failed.attempts) == ("failed", "authorization", 1)
    assert reload(db, Job, job.id).status == "assigned"  # nothing of the refused action stayed
    # The held actions look as if no worker had touched them: no attempt, no count.
    for message in after:
        held = state_of(db, message)
        assert (held.state, held.attempts, held.processing_started_at) == ("queued", 0, None)
    tried = db.session.scalars(select(InboxAttempt.message_id)).all()
    assert sorted(tried) == sorted(m.id for m in [*before, refused])


def test_discarding_a_failed_action_lets_the_line_go_on(
    db, technician, make_job, upload, run_worker, make_user
):
    job = make_job(technician)
    bad = upload(technician, job.id, 1, "status_change", {"to": "finished"})
    after = upload(technician, job.id, 2, "note", {"text": "after"})
    run_worker(["inbox"])
    admin = make_user("admin")
    repair.discard(state_of(db, bad), admin, "device sent it by mistake")
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
        processor.enqueue_line(job.id)
    db.session.commit()
    maintenance.check()
    run_worker(["inbox"])
    assert attempts.attempt(third.id, 0) is attempts.Step.SKIPPED
    assert notes_of(db, job.id) == ["one", "two", "three"]


def test_an_admin_releases_an_action_waiting_for_a_lost_predecessor(
    db, technician, make_job, upload, run_worker, make_user
):
    job = make_job(technician)
    m = upload(technician, job.id, 2, "note", {"text": "two"}, device=technician.device)
    run_worker(["inbox"])
    admin = make_user("admin")
    repair.release(state_of(db, m), admin)
    db.session.commit()
    run_worker(["inbox"])
    assert state_of(db, m).state == "completed"


def test_a_photo_on_its_way_holds_nothing_back_and_attaches_when_it_arrives(
    db, technician, make_job, upload, run_worker
):
    job = make_job(technician)
    dev = technician.device
    photo = upload(technician, job.id, 1, "photo_added", {"file_id": "photo-1"}, device=dev)
    report = upload(
        technician, job.id, 2, "report_update", {"fields": {"resolution": "Fixed"}}, device=dev
    )
    finish = upload(technician, job.id, 3, "status_change", {"to": "finished"}, device=dev)
    job = reload(db, Job, job.id)
    job.status = "started"
    db.session.commit()
    run_worker(["inbox"])
    assert [state_of(db, m).state for m in (photo, report, finish)] == ["completed"] * 3
    assert reload(db, Job, job.id).status == "finished"  # the office sees it at once
    pending = db.session.scalars(select(PendingPhoto)).all()
    assert [(p.job_id, p.client_file_id, p.message_id) for p in pending] == [
        (job.id, "photo-1", photo.id)
    ]
    actor = job_ops.Actor.on_device(technician, dev)
    files.add_file(
        reload(db, Job, job.id),
        io.BytesIO(b"jpeg"),
        "a.jpg",
        "image/jpeg",
        FileKind.PHOTO,
        actor,
        client_file_id="photo-1",
    )
    db.session.commit()
    assert db.session.scalars(select(PendingPhoto)).all() == []
    kinds = [e.kind for e in db.session.scalars(select(JobEvent).where(JobEvent.job_id == job.id))]
    assert "photo_pending" in kinds and "photo" in kinds


def test_a_photo_that_arrived_first_is_not_pending(db, technician, make_job, upload, run_worker):
    job = make_job(technician)
    actor = job_ops.Actor.on_device(technician, technician.device)
    files.add_file(
        reload(db, Job, job.id),
        io.BytesIO(b"jpeg"),
        "a.jpg",
        "image/jpeg",
        FileKind.PHOTO,
        actor,
        client_file_id="photo-2",
    )
    db.session.commit()
    m = upload(technician, job.id, 1, "photo_added", {"file_id": "photo-2"})
    run_worker(["inbox"])
    assert state_of(db, m).state == "completed"
    assert db.session.scalars(select(PendingPhoto)).all() == []


def test_support_edits_a_payload_audited_then_it_succeeds(
    db, technician, make_job, upload, run_worker, make_user
):
    job = make_job(technician)
    m = upload(technician, job.id, 1, "status_change", {"to": "finishd"})
    run_worker(["inbox"])
    m = state_of(db, m)
    assert m.error_category == "validation"
    support = make_user("support")
    repair.edit_payload(m, '{"to": "en_route"}', support, "typo in status")
    repair.retry([m], support)
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
    result = maintenance.check()
    assert result == {"retried_lines": 1, "requeued_lines": 1}
    run_worker(["inbox"])
    assert state_of(db, failing).state == "completed"
    assert state_of(db, orphan).state == "completed"
    assert state_of(db, failing).attempts == 2


def test_a_failure_on_one_device_does_not_stop_another_devices_line(
    db, make_user, make_job, upload, run_worker
):
    from portal.models import Device

    tech = make_user("technician", rights=[Right.ADD_NOTES])
    phone = Device(device_id="phone-1", user_id=tech.id)
    tablet = Device(device_id="tablet-2", user_id=tech.id)
    db.session.add_all([phone, tablet])
    db.session.commit()
    job = make_job(tech)
    failing = upload(tech, job.id, 1, "status_change", {"to": "started"}, device=phone)
    held = upload(tech, job.id, 2, "note", {"text": "from the phone"}, device=phone)
    other = upload(tech, job.id, 1, "note", {"text": "from the tablet"}, device=tablet)
    run_worker(["inbox"])
    assert state_of(db, failing).state == "failed"
    assert state_of(db, held).state == "queued"
    assert state_of(db, other).state == "completed"
    assert notes_of(db, job.id) == ["from the tablet"]
