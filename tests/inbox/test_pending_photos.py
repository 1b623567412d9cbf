"""Photos on their way: shown on the job, the message and the status page; admins can give up."""

from __future__ import annotations

from sqlalchemy import select

from portal.models import JobEvent, PendingPhoto


def _photo_on_its_way(technician, make_job, upload, run_worker):
    job = make_job(technician)
    m = upload(
        technician, job.id, 1, "photo_added", {"file_id": "lost-1"}, device=technician.device
    )
    run_worker(["inbox"])
    return job, m


def test_the_job_message_and_status_pages_show_a_photo_on_its_way(
    client, login_as, technician, make_job, upload, run_worker
):
    job, m = _photo_on_its_way(technician, make_job, upload, run_worker)
    login_as("admin")
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "A photo is on its way from Tess Tech" in page
    assert "took a photo that is on its way from the phone" in page  # in the history
    message = client.get(f"/inbox/messages/{m.id}").get_data(as_text=True)
    assert 'id="photo-on-its-way"' in message
    status = client.get("/admin/status").get_data(as_text=True)
    assert "<b>1</b> photo" in status
    assert 'data-table="Sync feed"' in status and "SYNC_FEED_RETENTION_DAYS" in status


def test_an_admin_stops_waiting_for_a_photo_that_never_comes_and_history_says_who(
    client, auth, login_as, technician, make_job, upload, run_worker, db
):
    job, _ = _photo_on_its_way(technician, make_job, upload, run_worker)
    pending = db.session.scalars(select(PendingPhoto)).one()
    url = f"/jobs/{job.id}/pending-photos/{pending.id}/give-up"
    login_as("dispatcher")
    assert client.post_form(url).status_code == 403  # admins decide that
    auth.logout()
    admin = login_as("admin")
    assert client.post_form(url).status_code == 302
    db.session.expire_all()
    assert db.session.scalars(select(PendingPhoto)).all() == []
    event = db.session.scalars(
        select(JobEvent).where(JobEvent.job_id == job.id, JobEvent.kind == "photo_given_up")
    ).one()
    assert event.actor_id == admin.id
    assert (
        "on its way"
        not in client.get(f"/jobs/{job.id}")
        .get_data(as_text=True)
        .split("<h2>Photos</h2>")[1]
        .split("</section>")[0]
    )
