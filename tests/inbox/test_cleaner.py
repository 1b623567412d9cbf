"""The cleaner deletes only completed messages older than the retention period."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.domain.inbox import maintenance as inbox_maintenance
from portal.models import InboxMessage, utcnow
from workers import maintenance


def test_the_cleaner_deletes_only_old_completed_messages(
    db, technician, make_job, upload, run_worker
):
    job = make_job(technician)
    dev = technician.device
    old_done = [
        upload(technician, job.id, s, "note", {"text": f"n{s}"}, device=dev) for s in (1, 2)
    ]
    run_worker(["inbox"])
    recent_done = upload(technician, job.id, 3, "note", {"text": "n3"}, device=dev)
    old_failed = upload(technician, job.id, 4, "status_change", {"to": "finished"}, device=dev)
    old_held = upload(technician, job.id, 5, "note", {"text": "n5"}, device=dev)
    run_worker(["inbox"])
    long_ago = utcnow() - timedelta(days=30)
    for m in [*old_done, old_failed, old_held]:
        row = db.session.get(InboxMessage, m.id)
        row.received_at = row.processed_at = long_ago
    db.session.commit()
    result = maintenance.clean_inbox()
    assert result["deleted"] == 2
    left = {m.id: m.state for m in db.session.scalars(select(InboxMessage))}
    assert left == {recent_done.id: "completed", old_failed.id: "failed", old_held.id: "queued"}


def test_a_successor_of_a_cleaned_action_does_not_wait_for_it(
    db, technician, make_job, upload, run_worker
):
    job = make_job(technician)
    dev = technician.device
    first = upload(technician, job.id, 1, "note", {"text": "one"}, device=dev)
    run_worker(["inbox"])
    row = db.session.get(InboxMessage, first.id)
    row.processed_at = utcnow() - timedelta(days=30)
    db.session.commit()
    assert inbox_maintenance.clean()["deleted"] == 1
    second = upload(technician, job.id, 2, "note", {"text": "two"}, device=dev)
    run_worker(["inbox"])
    db.session.expire_all()
    assert db.session.get(InboxMessage, second.id).state == "completed"
