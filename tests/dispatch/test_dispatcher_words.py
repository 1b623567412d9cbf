"""The portal speaks a dispatcher's language and asks before surprising anyone's phone."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from portal.domain import devices
from portal.domain import jobs as job_ops
from portal.models import Job
from tests.conftest import browser_login


def flashes(body: str) -> list[str]:
    found = re.findall(r'class="flash[^"]*"[^>]*>([^<]*)<', body)
    return [" ".join(html.unescape(m).split()) for m in found]


def signed_in_phone(db, tech) -> None:
    devices.issue_token(tech, f"phone-{tech.id}", "android", "2.4.1")
    db.session.commit()


def test_assigning_to_a_technician_without_a_phone_warns(client, dispatcher, tech, make_job, db):
    theo, tess = tech("Theo Technician"), tech("Tess Technician")
    signed_in_phone(db, tess)
    job = make_job("Boiler service")
    client.post_form(f"/jobs/{job.id}/assign", {"assignee": theo.id, "version": job.version})
    shown = flashes(client.get(f"/jobs/{job.id}").get_data(as_text=True))
    assert f"{job.reference} is now assigned to Theo Technician." in shown
    assert (
        "Theo Technician has not signed in on a phone yet: the job reaches them once they do."
        in shown
    )
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    client.post_form(f"/jobs/{job.id}/assign", {"assignee": tess.id, "version": job.version})
    shown = flashes(client.get(f"/jobs/{job.id}").get_data(as_text=True))
    assert shown == [f"{job.reference} is now assigned to Tess Technician."]


def test_cancelling_names_the_phone_only_when_there_is_one(client, dispatcher, tech, make_job, db):
    never = make_job("Never signed in", assignee=tech("Nora Newcomer"))
    page = client.get(f"/jobs/{never.id}").get_data(as_text=True)
    assert f'data-confirm="Cancel {never.reference}?"' in page
    client.post_form(f"/jobs/{never.id}/cancel", {"version": never.version})
    shown = flashes(client.get(f"/jobs/{never.id}").get_data(as_text=True))
    assert shown == [f"{never.reference} is cancelled."]

    phoned = tech("Pia Phone")
    signed_in_phone(db, phoned)
    job = make_job("On a phone", assignee=phoned)
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "It leaves Pia Phone's phone." in page
    client.post_form(f"/jobs/{job.id}/cancel", {"version": job.version})
    shown = flashes(client.get(f"/jobs/{job.id}").get_data(as_text=True))
    assert shown == [f"{job.reference} is cancelled; it has left Pia Phone's phone."]


def test_unassigning_a_started_job_needs_a_confirmation(client, dispatcher, tech, make_job, db):
    theo = tech("Theo Technician")
    job = make_job("Started work", assignee=theo)
    job_ops.change_status(job, "started", job_ops.Actor.portal(dispatcher))
    db.session.commit()
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    question = f"{job.reference} is started: unassign it from Theo Technician while the work"
    assert f'data-confirm-unassign="{question}' in page

    client.post_form(f"/jobs/{job.id}/assign", {"assignee": "", "version": job.version})
    db.session.expire_all()
    assert db.session.get(Job, job.id).assignee_id == theo.id
    client.post_form(
        f"/jobs/{job.id}/assign", {"assignee": "", "version": job.version, "confirm_unassign": "1"}
    )
    db.session.expire_all()
    assert db.session.get(Job, job.id).assignee_id is None


def test_finished_and_cancelled_jobs_cannot_be_edited(client, dispatcher, tech, make_job, db):
    job = make_job("Done and dusted", assignee=tech())
    actor = job_ops.Actor.portal(dispatcher)
    job_ops.change_status(job, "started", actor)
    job_ops.update_report(job, {"resolution": "Replaced the valve", "hours": "1"}, actor)
    job_ops.change_status(job, "finished", actor)
    cancelled = make_job("Called off")
    job_ops.cancel(cancelled, actor)
    db.session.commit()
    for j in (job, cancelled):
        page = client.get(f"/jobs/{j.id}").get_data(as_text=True)
        assert 'id="edit-job"' not in page
        response = client.get(f"/jobs/{j.id}/edit")
        assert response.status_code == 302 and response.location.endswith(f"/jobs/{j.id}")
        refused = client.post_form(f"/jobs/{j.id}/edit", {"title": "Sneaky", "version": j.version})
        assert refused.status_code == 302
        db.session.expire_all()
        assert db.session.get(Job, j.id).title != "Sneaky"
    shown = flashes(client.get(f"/jobs/{cancelled.id}").get_data(as_text=True))
    assert f"{cancelled.reference} is cancelled; it can no longer be edited." in shown


def test_pages_use_words_not_internal_names(client, dispatcher, make_job, tech, db):
    job = make_job("En route job", assignee=tech())
    job_ops.change_status(job, "en_route", job_ops.Actor.portal(dispatcher))
    db.session.commit()
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    visible = re.sub(r"<[^>]+>", " ", page.split("<main", 1)[1])
    assert "Version " not in visible and "en_route" not in visible and "sha256" not in visible
    assert f'<span class="mono ref nowrap">{job.reference}</span>' in page
    listing = client.get("/jobs").get_data(as_text=True)
    assert f'<td class="mono nowrap"><a href="/jobs/{job.id}">{job.reference}</a></td>' in listing


def test_a_from_date_after_the_to_date_is_a_form_error(client, login_as, make_job, nine_am):
    login_as("admin")
    make_job("Boiler service")
    day = nine_am.date()
    args = f"from={day + timedelta(days=3)}&to={day}"
    page = client.get(f"/jobs?{args}").get_data(as_text=True)
    error = re.search(r'id="field-to".*?class="field-error">([^<]+)<', page, re.S).group(1)
    assert error == "The To date is before the From date: no day is in between."
    inbox = client.get(f"/inbox/?date_from={day + timedelta(days=3)}&date_to={day}")
    assert "The To date is before the From date" in inbox.get_data(as_text=True)


@pytest.mark.browser
def test_the_technicians_page_follows_phones_live(page, make_user, db):
    dispatcher = make_user("dispatcher")
    tariq = make_user("technician", name="Tariq Technician")
    browser_login(page, dispatcher.email)
    page.goto("/technicians")
    page.wait_for_function("document.documentElement.dataset.live === 'on'")
    card = page.locator(f".tech-card[data-tech-id='{tariq.id}']")
    assert "Has not signed in on a phone yet." in card.inner_text()
    phone, _ = devices.issue_token(tariq, "android-live", "android", "2.5.0")
    db.session.commit()
    card.locator(f"tr[data-device-id='{phone.id}']").wait_for()
    assert "2.5.0" in card.inner_text()


@pytest.mark.browser
def test_unassigning_a_started_job_asks_first_in_the_browser(page, make_user, make_job, db):
    dispatcher = make_user("dispatcher")
    theo = make_user("technician", name="Theo Technician")
    job = make_job("Started work", assignee=theo)
    job_ops.change_status(job, "started", job_ops.Actor.portal(dispatcher))
    db.session.commit()
    browser_login(page, dispatcher.email)
    page.goto(f"/jobs/{job.id}")
    asked = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    page.select_option("#assign-form select", label="Unassigned")
    page.click("#assign-form button")
    page.wait_for_selector(f"text={job.reference} is now unassigned.")
    assert asked == [
        f"{job.reference} is started: unassign it from Theo Technician while the work is under way?"
    ]
