"""Coalescing, throttling, server errors and dead tokens, against the fake FCM and real workers."""

from __future__ import annotations

import time
from datetime import timedelta

from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from portal.domain import jobs
from portal.domain.push import sender
from portal.extensions import get_redis
from portal.models import Device, Push, utcnow
from tests.push.conftest import wait_until


def _pushes(db) -> list[Push]:
    db.session.expire_all()
    return list(db.session.scalars(select(Push).order_by(Push.id)))


def _push_state(db, push_id: int) -> str:
    db.session.expire_all()
    db.session.rollback()  # a fresh snapshot: the worker subprocess writes meanwhile
    return db.session.get(Push, push_id).state


def test_five_quick_edits_coalesce_into_one_push(
    fcm_app, db, fake_fcm, phone, new_job, portal_actor, run_push_worker, monkeypatch
):
    tech, device = phone()
    job = new_job(assignee=tech)
    run_push_worker()
    fake_fcm.reset()
    monkeypatch.setitem(fcm_app.config, "PUSH_COALESCE_SECONDS", 1.5)
    started = time.monotonic()

    for n in range(1, 6):
        jobs.update(job, {"title": f"Boiler service, take {n}"}, portal_actor)
        db.session.commit()
    run_push_worker()
    assert fake_fcm.requests == [], "nothing goes out before the window closes"

    # The send is due when the window closes, rounded up to RQ's whole-second schedule.
    time.sleep(max(0.0, 2.6 - (time.monotonic() - started)))
    run_push_worker()

    [got] = fake_fcm.requests
    assert got.token == device.push_token
    assert got.data == {"type": "sync", "job_id": str(job.id), "reason": "changed"}
    assert got.notification["body"] == "Boiler service, take 5"
    push = _pushes(db)[-1]
    assert (push.state, push.coalesced, push.attempts) == ("sent", 5, 1)


def test_a_burst_over_several_jobs_is_one_push_per_device(
    fcm_app, db, fake_fcm, phone, new_job, portal_actor, run_push_worker, monkeypatch
):
    monkeypatch.setitem(fcm_app.config, "PUSH_COALESCE_SECONDS", 1)
    tech, device = phone()
    created = [new_job(title=f"Visit {i}", assignee=tech) for i in range(3)]
    time.sleep(2.1)
    run_push_worker()

    [got] = fake_fcm.requests
    assert got.data["type"] == "sync"
    assert got.data["job_id"] == str(created[-1].id)
    assert got.data["job_ids"] == ",".join(str(j.id) for j in created)
    assert got.notification["title"] == "3 jobs changed"
    assert all(j.reference in got.notification["body"] for j in created)


def test_unregistered_token_is_removed_from_the_device(
    fcm_app, db, fake_fcm, phone, new_job, portal_actor, run_push_worker
):
    tech, device = phone()
    fake_fcm.unregister(device.push_token)
    job = new_job(assignee=tech)
    run_push_worker()

    [push] = _pushes(db)
    assert push.state == "token_removed"
    assert "UNREGISTERED" in push.last_error
    assert db.session.get(Device, device.id).push_token is None
    # Nobody left to wake: later changes record nothing and send nothing.
    jobs.update(job, {"title": "Changed later"}, portal_actor)
    db.session.commit()
    run_push_worker()
    assert len(_pushes(db)) == 1 and len(fake_fcm.requests) == 1


def test_invalid_token_is_removed_too(fcm_app, db, fake_fcm, phone, new_job, run_push_worker):
    tech, device = phone(token="not-a-real-token")
    fake_fcm.invalidate("not-a-real-token")
    new_job(assignee=tech)
    run_push_worker()

    [push] = _pushes(db)
    assert push.state == "token_removed"
    assert "not a valid FCM registration token" in push.last_error
    assert db.session.get(Device, device.id).push_token is None


def test_throttling_reschedules_instead_of_sleeping_in_the_worker(
    fcm_app, db, fake_fcm, phone, new_job, run_push_worker
):
    tech, _ = phone()
    fake_fcm.fail_next(429, retry_after=30)
    new_job(assignee=tech)

    started = time.monotonic()
    run_push_worker()
    assert time.monotonic() - started < 10, "the worker waited for Retry-After"

    [push] = _pushes(db)
    assert (push.state, push.attempts) == ("retrying", 1)
    assert "429" in push.last_error and "QUOTA_EXCEEDED" in push.last_error
    wait = (push.next_attempt_at - utcnow()).total_seconds()
    assert 25 < wait <= 34.5  # Retry-After, up to 10 % jitter, rounded up to a whole second
    assert len(fake_fcm.requests) == 1  # one HTTP request: no retry inside pyfcm or urllib3
    scheduled = ScheduledJobRegistry("push", connection=get_redis())
    assert scheduled.count == 1


def test_throttled_push_is_sent_after_retry_after(
    fcm_app, db, fake_fcm, phone, new_job, worker_process
):
    tech, device = phone()
    fake_fcm.fail_next(429, retry_after=1)
    worker_process()
    new_job(assignee=tech)
    push_id = _pushes(db)[0].id

    assert wait_until(lambda: _push_state(db, push_id) == "sent", timeout=20)
    first, second = fake_fcm.requests
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 1.0, "Retry-After was honoured"
    assert second.token == device.push_token
    [push] = _pushes(db)
    assert push.attempts == 2 and push.fcm_message_name == second.name


def test_persistent_server_error_fails_after_bounded_attempts_without_holding_the_worker(
    fcm_app, db, fake_fcm, phone, new_job, worker_process
):
    broken, broken_phone = phone()
    fine, fine_phone = phone()
    fake_fcm.fail_for(broken_phone.push_token, 503)
    worker_process(PUSH_MAX_ATTEMPTS=3, PUSH_RETRY_BASE_SECONDS=0.5)
    started = time.monotonic()
    new_job(assignee=broken)
    push_id = _pushes(db)[0].id

    # While the broken phone's push waits for its retry, the worker sends other pushes.
    time.sleep(0.3)
    new_job(assignee=fine)
    assert wait_until(lambda: fake_fcm.delivered, timeout=15)
    assert fake_fcm.delivered[0].token == fine_phone.push_token

    assert wait_until(lambda: _push_state(db, push_id) == "failed", timeout=30)
    assert time.monotonic() - started < 30
    to_broken = [r for r in fake_fcm.requests if r.token == broken_phone.push_token]
    assert [r.status for r in to_broken] == [503, 503, 503]
    push = db.session.get(Push, push_id)
    assert push.attempts == 3
    assert "503" in push.last_error and "gave up after 3 attempts" in push.last_error


def test_back_off_grows_with_jitter_and_honours_retry_after(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUSH_RETRY_BASE_SECONDS", 2)
    monkeypatch.setitem(app.config, "PUSH_RETRY_MAX_SECONDS", 20)
    for attempt, (low, high) in {1: (1, 2), 2: (2, 4), 3: (4, 8), 6: (10, 20)}.items():
        delays = {sender.retry_delay(attempt, None) for _ in range(20)}
        assert all(low <= d <= high for d in delays)
        assert len(delays) > 1, "jitter spreads the retries"
    assert 7 <= sender.retry_delay(1, 7) <= 7.7
    assert timedelta(seconds=sender.retry_delay(1, 10**6)) <= timedelta(hours=1.1)


def test_a_push_whose_worker_died_mid_send_is_sent_by_a_later_flush(
    fcm_app, db, fake_fcm, phone, new_job, run_push_worker
):
    tech, device = phone()
    new_job(assignee=tech)
    [push] = _pushes(db)
    # As if a worker claimed it and was killed: attempt counted, lease already run out.
    push.attempts, push.next_attempt_at = 1, utcnow() - timedelta(seconds=1)
    db.session.commit()

    run_push_worker()

    [got] = fake_fcm.requests
    assert got.token == device.push_token
    [push] = _pushes(db)
    assert (push.state, push.attempts) == ("sent", 2)


def test_a_leased_push_is_not_sent_twice(fcm_app, db, fake_fcm, phone, new_job, run_push_worker):
    tech, _ = phone()
    new_job(assignee=tech)
    [push] = _pushes(db)
    push.attempts, push.next_attempt_at = 1, utcnow() + timedelta(minutes=4)  # in flight
    db.session.commit()

    run_push_worker()

    assert fake_fcm.requests == []
    assert _push_state(db, push.id) == "queued"


def test_a_refused_service_account_fails_the_push_with_a_clear_error(
    fcm_app, db, fake_fcm, phone, new_job, run_push_worker
):
    tech, device = phone()
    fake_fcm.refuse_tokens()
    new_job(assignee=tech)
    run_push_worker()

    [push] = _pushes(db)
    assert push.state == "failed"
    assert "OAuth access token refused" in push.last_error and "invalid_grant" in push.last_error
    assert fake_fcm.requests == []
    assert db.session.get(Device, device.id).push_token == device.push_token  # token kept


def test_the_send_task_sends_one_named_push_when_it_is_due(
    fcm_app, db, fake_fcm, phone, new_job, monkeypatch, run_push_worker
):
    from portal.integrations.queue import QueueName, enqueue

    monkeypatch.setitem(fcm_app.config, "PUSH_COALESCE_SECONDS", 30)  # not due by itself
    tech, device = phone()
    new_job(assignee=tech)
    [push] = _pushes(db)
    enqueue("workers.push.send", push.id, queue_name=QueueName.PUSH)
    run_push_worker()
    assert fake_fcm.requests == [] and _push_state(db, push.id) == "queued"

    push.next_attempt_at = utcnow()
    db.session.commit()
    enqueue("workers.push.send", push.id, queue_name=QueueName.PUSH)
    run_push_worker()
    [got] = fake_fcm.requests
    assert got.token == device.push_token and _push_state(db, push.id) == "sent"


def test_the_sweeper_sends_a_push_whose_send_task_redis_lost(
    fcm_app, db, fake_fcm, phone, new_job, run_push_worker
):
    from portal.extensions import get_redis
    from workers import maintenance

    tech, device = phone()
    new_job(assignee=tech)
    get_redis().flushdb()  # the queued send task is gone
    run_push_worker()
    assert fake_fcm.requests == []
    assert maintenance.sweep_pushes()["handled"] == 1
    [received] = fake_fcm.wait_for(1)
    assert received.token == device.push_token
    [push] = _pushes(db)
    assert push.state == "sent"
