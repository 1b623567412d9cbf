"""Outcomes reach the device that sent the action; retries racing each other store once."""

from __future__ import annotations

import threading

import requests
from sqlalchemy import func, select

from portal.domain.sync import feed
from portal.models import InboxMessage, utcnow
from tests.api.conftest import action


def test_action_results_reach_only_the_device_that_sent_them(sign_in, make_job, db):
    phone = sign_in()
    tablet = sign_in(technician=phone.technician)
    job = make_job(phone.technician)
    a = action(job.id, 1, "status_change", {"to": "finished"})
    phone_cursor, tablet_cursor = phone.pull()["cursor"], tablet.pull()["cursor"]
    phone.push([a])

    # What the inbox processor does when an action fails: state, category, a feed entry.
    message = db.session.scalar(select(InboxMessage))
    message.state, message.error_category = "failed", "configuration"
    message.error_message = "The status transition assigned → finished is not configured."
    message.updated_at = utcnow()
    feed.action_result(phone.technician.id, job.id, message.id)
    db.session.commit()

    body = phone.pull(phone_cursor)
    assert body["action_results"] == [
        {
            "id": a["id"],
            "job_id": job.id,
            "state": "failed",
            "category": "configuration",
            "message": "The status transition assigned → finished is not configured.",
            "updated_at": message.updated_at.isoformat(),
        }
    ]
    assert tablet.pull(tablet_cursor)["action_results"] == []


def test_concurrent_retries_of_one_batch_store_each_action_once(live_server, sign_in, make_job, db):
    phone = sign_in()
    job = make_job(phone.technician)
    batch = [action(job.id, i + 1) for i in range(20)]
    answers: list[list[dict]] = []
    errors: list[str] = []

    def upload() -> None:
        resp = requests.post(
            f"{live_server}/api/v1/sync/push",
            json={"actions": batch},
            headers=phone.headers,
            timeout=60,
        )
        if resp.status_code != 200:
            errors.append(f"{resp.status_code} {resp.text[:200]}")
        else:
            answers.append(resp.json()["results"])

    threads = [threading.Thread(target=upload) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(InboxMessage)) == 20
    for i in range(20):
        states = sorted(a[i]["state"] for a in answers)
        assert states == ["accepted"] + ["duplicate"] * 4, (i, states)
