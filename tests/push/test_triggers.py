"""Each job change the design lists wakes the right phone with one push, through real pyfcm."""

from __future__ import annotations

from sqlalchemy import select

from portal.domain import jobs
from portal.domain.jobs import Actor
from portal.models import Push, PushState


def _pushes(db) -> list[Push]:
    db.session.expire_all()
    return list(db.session.scalars(select(Push).order_by(Push.id)))


def test_assignment_sends_one_push_to_the_technicians_phone(
    fcm_app, db, fake_fcm, phone, new_job, portal_actor, run_push_worker
):
    tech, device = phone()
    job = new_job()
    jobs.assign(job, tech, portal_actor)
    db.session.commit()

    run_push_worker()

    [got] = fake_fcm.requests
    assert got.status == 200
    assert got.token == device.push_token
    assert got.project == "fieldsync-test"
    assert got.data == {"type": "sync", "job_id": str(job.id), "reason": "assigned"}
    assert got.notification == {"title": f"New job {job.reference}", "body": "Boiler service"}
    assert got.message["android"]["collapse_key"] == f"job-{job.id}"
    assert got.message["apns"]["headers"]["apns-collapse-id"] == f"job-{job.id}"
    [push] = _pushes(db)
    assert (push.state, push.attempts, push.reason) == ("sent", 1, "assigned")
    assert push.fcm_message_name == got.name
    assert push.device_id == device.id and push.technician_id == tech.id
    assert push.job_id == job.id and push.sent_at is not None


def test_reassignment_tells_the_previous_technician_the_job_left_them(
    fcm_app, db, fake_fcm, phone, new_job, portal_actor, run_push_worker
):
    first, first_phone = phone()
    second, second_phone = phone()
    job = new_job(assignee=first)
    run_push_worker()
    fake_fcm.reset()

    jobs.assign(job, second, portal_actor)
    db.session.commit()
    run_push_worker()

    by_token = {r.token: r for r in fake_fcm.requests}
    assert len(fake_fcm.requests) == 2
    gone = by_token[first_phone.push_token]
    assert gone.data == {"type": "sync", "job_id": str(job.id), "reason": "unassigned"}
    assert gone.notification["title"] == f"Job {job.reference} was removed from you"
    new = by_token[second_phone.push_token]
    assert new.data["reason"] == "assigned"
    assert new.notification["title"] == f"New job {job.reference}"


def test_each_status_set_in_the_portal_sends_one_push(
    fcm_app, db, fake_fcm, phone, new_job, portal_actor, run_push_worker
):
    tech, device = phone()
    job = new_job(assignee=tech)
    jobs.update_report(job, {"resolution": "Replaced the valve"}, portal_actor)
    db.session.commit()
    run_push_worker()

    for status, label in [
        ("en_route", "En route"),
        ("started", "Started"),
        ("paused", "Paused"),
        ("started", "Started"),
        ("finished", "Finished"),
    ]:
        fake_fcm.reset()
        jobs.change_status(job, status, portal_actor)
        db.session.commit()
        run_push_worker()
        [got] = fake_fcm.requests
        assert got.token == device.push_token
        assert got.data == {"type": "sync", "job_id": str(job.id), "reason": "status"}, status
        assert got.notification["title"] == f"Job {job.reference} changed"
        assert got.notification["body"].lower().startswith(f"status: {label.lower()}")


def test_other_information_changes_send_one_push(
    fcm_app, db, fake_fcm, phone, new_job, portal_actor, run_push_worker
):
    tech, device = phone()
    job = new_job(assignee=tech)
    run_push_worker()
    fake_fcm.reset()

    jobs.update(job, {"address": "1 Main Street", "title": "Boiler and radiators"}, portal_actor)
    db.session.commit()
    run_push_worker()

    [got] = fake_fcm.requests
    assert got.token == device.push_token
    assert got.data == {"type": "sync", "job_id": str(job.id), "reason": "changed"}
    assert got.notification == {
        "title": f"Job {job.reference} changed",
        "body": "Boiler and radiators",
    }


def test_cancelling_tells_the_technician(
    fcm_app, db, fake_fcm, phone, new_job, portal_actor, run_push_worker
):
    tech, device = phone()
    job = new_job(assignee=tech)
    run_push_worker()
    fake_fcm.reset()

    jobs.cancel(job, portal_actor)
    db.session.commit()
    run_push_worker()

    [got] = fake_fcm.requests
    assert got.token == device.push_token
    assert got.data == {"type": "sync", "job_id": str(job.id), "reason": "cancelled"}
    assert got.notification["title"] == f"Job {job.reference} was cancelled"


def test_a_change_made_on_the_device_sends_no_push(
    fcm_app, db, fake_fcm, phone, new_job, run_push_worker
):
    tech, device = phone()
    job = new_job(assignee=tech)
    run_push_worker()
    fake_fcm.reset()
    before = len(_pushes(db))

    on_phone = Actor.on_device(tech, device)
    jobs.change_status(job, "started", on_phone)
    jobs.update_report(job, {"hours": 2}, on_phone)
    jobs.add_note(job, "Parts ordered", on_phone)
    db.session.commit()
    run_push_worker()

    assert fake_fcm.requests == []
    assert len(_pushes(db)) == before


def test_every_phone_with_a_token_gets_its_own_push(
    fcm_app, db, fake_fcm, phone, new_job, portal_actor, run_push_worker
):
    tech, first = phone()
    _, second = phone(user=tech)
    _, tokenless = phone(user=tech, token="")
    tokenless.push_token = None
    db.session.commit()

    new_job(assignee=tech)
    run_push_worker()

    assert sorted(r.token for r in fake_fcm.requests) == sorted(
        [first.push_token, second.push_token]
    )
    assert {p.device_id for p in _pushes(db)} == {first.id, second.id}


def test_one_access_token_and_one_connection_serve_many_pushes(
    fcm_app, db, fake_fcm, phone, new_job, portal_actor, run_push_worker
):
    tech, _ = phone()
    for i in range(4):
        new_job(title=f"Job {i}", assignee=tech)
        run_push_worker()

    assert len(fake_fcm.delivered) == 4
    [token_request] = fake_fcm.token_requests
    # The token came from the service account's token_uri (the fake), for FCM's scope.
    assert token_request["claims"]["iss"] == "push@fieldsync-test.iam.gserviceaccount.com"
    assert "firebase.messaging" in token_request["claims"]["scope"]
    assert len({r.authorization for r in fake_fcm.requests}) == 1
    assert len({r.connection for r in fake_fcm.requests}) == 1  # HTTP keep-alive


def test_without_credentials_pushes_are_recorded_not_sent(
    app, db, fake_fcm, phone, new_job, portal_actor, run_push_worker, monkeypatch
):
    monkeypatch.setitem(app.config, "FCM_CREDENTIALS", None)
    tech, device = phone()
    job = new_job(assignee=tech)
    jobs.update(job, {"title": "Changed"}, portal_actor)
    db.session.commit()
    run_push_worker()

    pushes = _pushes(db)
    assert pushes, "the push log keeps what would have been sent"
    assert {p.state for p in pushes} == {PushState.RECORDED.value}
    assert pushes[0].data == {"type": "sync", "job_id": str(job.id), "reason": "assigned"}
    assert fake_fcm.requests == []
