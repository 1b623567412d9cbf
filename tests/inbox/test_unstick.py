"""No inbox item is stuck for good: every unfinished state offers an audited admin action."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from portal.integrations.queue import QueueName, queue
from portal.models import InboxAudit, InboxMessage, JobEvent, PendingPhoto, Right, utcnow
from tests.inbox.conftest import reload


def offered(client, message_id: int) -> tuple[str, list[str]]:
    """Return (shown state, actions offered) from the message's page."""
    page = client.get(f"/inbox/messages/{message_id}").get_data(as_text=True)
    state = re.search(r'id="message-live"[^>]*data-state="([a-z]+)"', page).group(1)
    actions = re.search(r'id="message-actions" data-actions="([^"]*)"', page).group(1).split()
    return state, actions


def audited(db, message_id: int) -> list[tuple[str, int | None]]:
    db.session.expire_all()
    rows = db.session.scalars(
        select(InboxAudit).where(InboxAudit.message_id == message_id).order_by(InboxAudit.id)
    )
    return [(a.action, a.user_id) for a in rows]


def lose_queued_tasks() -> None:
    """Redis lost the inbox queue (a flush, a failover): nothing is on its way to a worker."""
    queue(QueueName.INBOX).empty()


def test_every_unfinished_state_offers_an_action_and_each_is_audited(
    client, login_as, make_user, make_job, upload, run_worker, technician, db
):
    admin = login_as("admin")
    # failed, and held behind it: the technician lacks the right to change a status.
    notes_only = make_user("technician", name="Nina Notes", rights=[Right.ADD_NOTES])
    job = make_job(notes_only)
    failed = upload(notes_only, job.id, 1, "status_change", {"to": "en_route"})
    held = upload(notes_only, job.id, 2, "note", {"text": "on my way"})
    # waiting: step 2 of this phone never arrived.
    other = make_job(technician)
    waiting = upload(technician, other.id, 3, "note", {"text": "gate code 4411"})
    # completed, with its photo still on the phone.
    photo_job = make_job(technician)
    photo = upload(
        technician, photo_job.id, 1, "photo_added", {"file_id": "cam-1"}, device=technician.device
    )
    run_worker(["inbox"])
    # queued, and processing after its worker died: their tasks are lost with Redis's queue.
    queued_job = make_job(technician)
    queued = upload(technician, queued_job.id, 1, "note", {"text": "arrived"})
    dead_job = make_job(technician)
    dead = upload(technician, dead_job.id, 1, "note", {"text": "started"})
    dead.state = "processing"
    db.session.commit()
    lose_queued_tasks()
    run_worker(["inbox"])

    shown = {m.id: offered(client, m.id) for m in (failed, held, waiting, queued, dead, photo)}
    assert shown[failed.id] == ("failed", ["retry", "discard"])
    assert shown[held.id] == ("held", ["skip"])
    assert shown[waiting.id] == ("waiting", ["release", "skip"])
    assert shown[queued.id] == ("queued", ["process_now", "skip"])
    assert shown[dead.id] == ("processing", ["put_back"])
    assert shown[photo.id] == ("completed", ["stop_waiting"])
    page = client.get(f"/inbox/messages/{held.id}").get_data(as_text=True)
    assert f'href="/inbox/messages/{failed.id}"' in page  # the failure it waits for

    # Each action does what it says, and says who did it.
    client.post_form(f"/inbox/messages/{held.id}/skip", {"note": "phoned in"})
    client.post_form(f"/inbox/messages/{waiting.id}/release")
    client.post_form(f"/inbox/messages/{queued.id}/process-now")
    client.post_form(f"/inbox/messages/{dead.id}/put-back")
    client.post_form(f"/inbox/messages/{photo.id}/stop-waiting")
    client.post_form(f"/inbox/messages/{failed.id}/discard", {"note": "wrong job"})
    run_worker(["inbox"])
    states = {m.id: reload(db, InboxMessage, m.id).state for m in (held, waiting, queued, dead)}
    assert states == {
        held.id: "discarded",
        waiting.id: "completed",
        queued.id: "completed",
        dead.id: "completed",
    }
    assert audited(db, held.id) == [("skip", admin.id)]
    assert audited(db, waiting.id) == [("release", admin.id)]
    assert audited(db, queued.id) == [("process_now", admin.id)]
    assert audited(db, dead.id) == [("put_back", admin.id)]
    assert audited(db, photo.id) == [("stop_waiting", admin.id)]
    waited = select(PendingPhoto).where(PendingPhoto.message_id == photo.id)
    assert db.session.scalar(waited) is None
    kinds = db.session.scalars(select(JobEvent.kind).where(JobEvent.job_id == photo_job.id)).all()
    assert "photo_given_up" in kinds
    # Finished ones offer nothing, and say why.
    assert offered(client, held.id) == ("discarded", [])
    assert "nothing is left to do" in client.get(f"/inbox/messages/{queued.id}").get_data(
        as_text=True
    )


def test_a_worker_holding_the_line_keeps_an_admin_from_putting_its_action_back(
    client, login_as, make_job, upload, technician, db
):
    from portal.domain.inbox.processor import LineLock

    login_as("admin")
    job = make_job(technician)
    busy = upload(technician, job.id, 1, "note", {"text": "started"})
    busy.state = "processing"
    db.session.commit()
    lock = LineLock(job.id)
    assert lock.acquire()
    try:
        response = client.post_form(f"/inbox/messages/{busy.id}/put-back")
        assert response.status_code == 302
        page = client.get(f"/inbox/messages/{busy.id}").get_data(as_text=True)
        assert "A worker is applying this job&#39;s actions right now" in page
        assert reload(db, InboxMessage, busy.id).state == "processing"
        assert audited(db, busy.id) == []
    finally:
        lock.release()


def test_overdue_actions_show_in_the_filter_and_on_the_status_page(
    client, login_as, make_job, upload, technician, db, app
):
    login_as("admin")
    job = make_job(technician)
    old = upload(technician, job.id, 2, "note", {"text": "waiting for step 1"})
    old.received_at = utcnow() - timedelta(minutes=app.config["INBOX_OVERDUE_MINUTES"] + 5)
    fresh = upload(technician, make_job(technician).id, 2, "note", {"text": "just now"})
    db.session.commit()

    listed = client.get("/inbox/?overdue=1").get_data(as_text=True)
    assert f'id="msg-{old.id}"' in listed and f'id="msg-{fresh.id}"' not in listed
    assert "1 overdue" in client.get("/inbox/").get_data(as_text=True)
    status = client.get("/admin/status").get_data(as_text=True)
    overdue = re.search(r'<p id="overdue">(.*?)</p>', status, re.S).group(1)
    assert "<b>1</b> action</a>, the oldest received" in overdue
    assert "/inbox/?overdue=1" in overdue
