"""The push log page for admins and the job page's list of that job's pushes."""

from __future__ import annotations

import re

from flask import render_template_string
from sqlalchemy import select

from portal.domain import jobs
from portal.models import Push


def _seed(db, phone, new_job, portal_actor, run_push_worker, fake_fcm):
    """Two technicians: one push sent, one whose token is gone."""
    ann, ann_phone = phone()
    bob, bob_phone = phone()
    fake_fcm.unregister(bob_phone.push_token)
    boiler = new_job(title="Boiler", assignee=ann)
    roof = new_job(title="Roof", assignee=bob)
    run_push_worker()
    return ann, bob, boiler, roof


def test_admin_sees_the_push_log_with_counts_and_filters(
    fcm_app, db, client, login_as, fake_fcm, phone, new_job, portal_actor, run_push_worker
):
    ann, bob, boiler, roof = _seed(db, phone, new_job, portal_actor, run_push_worker, fake_fcm)
    login_as("admin")

    page = client.get("/admin/pushes").get_data(as_text=True)
    assert boiler.reference in page and roof.reference in page
    assert re.search(r'data-state="sent"[^>]*><b>1</b>', page)
    assert re.search(r'data-state="token_removed"[^>]*><b>1</b>', page)
    assert "UNREGISTERED" in page
    assert 'role="img"' in page  # the counts as a bar

    by_state = client.get("/admin/pushes?state=token_removed").get_data(as_text=True)
    assert roof.reference in by_state and boiler.reference not in by_state

    by_tech = client.get(f"/admin/pushes?technician={ann.id}").get_data(as_text=True)
    assert boiler.reference in by_tech and roof.reference not in by_tech

    by_job = client.get(f"/admin/pushes?job={roof.reference.lower()}").get_data(as_text=True)
    assert roof.reference in by_job and "Boiler" not in by_job

    by_reason = client.get("/admin/pushes?reason=cancelled").get_data(as_text=True)
    assert "No pushes match these filters" in by_reason


def test_bad_filters_answer_with_a_message_not_an_error_page(
    fcm_app, db, client, login_as, fake_fcm, phone, new_job, portal_actor, run_push_worker
):
    _seed(db, phone, new_job, portal_actor, run_push_worker, fake_fcm)
    login_as("admin")
    response = client.get("/admin/pushes?job=J-999999&state=exploded&technician=bob")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "There is no job J-999999." in page
    assert "Choose one of the listed states." in page
    assert "Choose a technician from the list." in page


def test_the_push_log_is_for_admins_only(app, client, login_as):
    login_as("dispatcher")
    assert client.get("/admin/pushes").status_code == 403


def test_without_credentials_the_page_says_pushes_are_recorded(
    app, db, client, login_as, phone, new_job
):
    tech, _ = phone()
    new_job(assignee=tech)
    login_as("admin")
    page = client.get("/admin/pushes").get_data(as_text=True)
    assert "FCM is not configured" in page
    assert re.search(r'data-state="recorded"[^>]*><b>1</b>', page)


def test_job_page_partial_lists_that_jobs_pushes(
    fcm_app, db, fake_fcm, phone, new_job, portal_actor, run_push_worker
):
    tech, _ = phone()
    job = new_job(assignee=tech)
    run_push_worker()
    other = new_job(title="Elsewhere", assignee=tech)
    run_push_worker()
    jobs.update(job, {"title": "Boiler, again"}, portal_actor)
    db.session.commit()
    run_push_worker()
    assert len(db.session.scalars(select(Push).where(Push.job_id == job.id)).all()) == 2

    with fcm_app.test_request_context():
        html = render_template_string('{% include "push/_job_pushes.html" %}', job=job)
        empty = render_template_string(
            '{% include "push/_job_pushes.html" %}', job=type("J", (), {"id": -1})()
        )
    assert html.count("data-push=") == 2
    assert "assigned" in html and "changed" in html and "sent" in html
    assert tech.display_name in html
    assert str(other.reference) not in html
    assert "No pushes about this job yet." in empty


def test_a_burst_over_several_jobs_shows_on_each_jobs_page(
    fcm_app, db, client, login_as, phone, new_job, monkeypatch
):
    monkeypatch.setitem(fcm_app.config, "PUSH_COALESCE_SECONDS", 2)
    tech, _ = phone()
    first = new_job(title="First", assignee=tech)
    second = new_job(title="Second", assignee=tech)
    assert db.session.query(Push).count() == 1
    with fcm_app.test_request_context():
        for job in (first, second):
            html = render_template_string('{% include "push/_job_pushes.html" %}', job=job)
            assert html.count("data-push=") == 1
    login_as("admin")
    page = client.get(f"/admin/pushes?job={first.reference}").get_data(as_text=True)
    assert page.count("data-push=") == 1 and "+1 more" in page
