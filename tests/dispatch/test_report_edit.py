"""A dispatcher completes a job's report for the technician (repairing the job's data)."""

from __future__ import annotations

from sqlalchemy import select

from portal.models import FeedEntry, Job, JobEvent


def test_dispatcher_fills_in_a_report_value_recorded_under_their_name(
    client, db, dispatcher, tech, make_job
):
    worker = tech("Tess")
    job = make_job(assignee=worker)
    response = client.post_form(
        f"/jobs/{job.id}/report", {"report-resolution": "Replaced the valve", "report-hours": ""}
    )
    assert response.status_code == 302
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "Report saved." in page
    assert "Replaced the valve" in page
    db.session.expire_all()
    assert db.session.get(Job, job.id).report == {"resolution": "Replaced the valve"}
    event = db.session.scalars(
        select(JobEvent).where(JobEvent.job_id == job.id, JobEvent.kind == "report")
    ).one()
    assert (event.origin, event.actor_id) == ("portal", dispatcher.id)
    # The technician's phone learns about it in its next pull.
    kinds = db.session.scalars(
        select(FeedEntry.kind).where(FeedEntry.technician_id == worker.id)
    ).all()
    assert kinds.count("upsert") >= 2


def test_a_bad_report_value_is_refused_with_its_reason_and_changes_nothing(
    client, db, dispatcher, tech, make_job
):
    job = make_job(assignee=tech())
    client.post_form(f"/jobs/{job.id}/report", {"report-hours": "two"})
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "&#39;Hours worked&#39; must be a number." in page
    db.session.expire_all()
    assert db.session.get(Job, job.id).report == {}
