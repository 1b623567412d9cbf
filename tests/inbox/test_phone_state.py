"""Dispatchers see what is stuck on the phone side of a job: the job page and the job list."""

from __future__ import annotations

import html
import re

import pytest

from portal.models import Right
from tests.conftest import browser_login, screenshot


def text_of(page: str, element_id: str) -> str:
    """Return the visible words of an element of a page (tags dropped, spaces collapsed)."""
    start = page.index(f'id="{element_id}"')
    end = page.index("</section>", start)
    words = re.sub(r"<[^>]+>", " ", page[start:end].split(">", 1)[1])
    return " ".join(html.unescape(words).split())


def stuck_job(make_user, make_job, upload, run_worker):
    """A job whose phone's status change failed (no right), a note held behind it."""
    tess = make_user("technician", name="Tess Tech", rights=[Right.ADD_NOTES])
    job = make_job(tess)
    failed = upload(tess, job.id, 1, "status_change", {"to": "en_route"})
    upload(tess, job.id, 2, "note", {"text": "on my way"})
    run_worker(["inbox"])
    return job, failed


def test_a_dispatcher_sees_a_failed_phone_action_and_who_can_fix_it(
    client, login_as, make_user, make_job, upload, run_worker
):
    job, failed = stuck_job(make_user, make_job, upload, run_worker)
    login_as("dispatcher")
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    phone = text_of(page, "job-phone")
    assert (
        "Tess Tech's phone could not change the status to En route: "
        "Tess Tech is not allowed to change a job's status from the phone. "
        "1 later action from that phone waits behind it."
    ) in phone
    assert "An admin can give the technician that right" in phone
    # The job's line, read-only: no link into the inbox, which dispatchers cannot open.
    assert "Step 1 from Tess Tech: change the status to En route failed" in phone
    assert "Step 2 from Tess Tech: add a note held back" in phone
    assert "/inbox/" not in page
    listing = client.get("/jobs").get_data(as_text=True)
    row = re.search(rf'<tr data-job-id="{job.id}">.*?</tr>', listing, re.S).group(0)
    assert "Phone: 1 failed" in row


def test_an_admin_gets_the_same_line_linked_to_the_inbox(
    client, login_as, make_user, make_job, upload, run_worker
):
    job, failed = stuck_job(make_user, make_job, upload, run_worker)
    login_as("admin")
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert f'href="/inbox/messages/{failed.id}"' in page
    assert f'href="/inbox/jobs/{job.id}"' in page


def test_waiting_steps_and_photos_still_on_the_phone_are_named(
    client, login_as, make_job, upload, run_worker, technician
):
    job = make_job(technician)
    upload(technician, job.id, 2, "note", {"text": "arrived"}, device=technician.device)
    other = make_job(technician)
    upload(technician, other.id, 1, "photo_added", {"file_id": "cam-9"}, device=technician.device)
    run_worker(["inbox"])
    login_as("dispatcher")
    waiting = text_of(client.get(f"/jobs/{job.id}").get_data(as_text=True), "job-phone")
    assert "Tess Tech's phone sent step 2 (add a note) but not step 1 yet" in waiting
    assert "The phone sends the missing step on its next sync" in waiting
    photo = text_of(client.get(f"/jobs/{other.id}").get_data(as_text=True), "job-phone")
    assert "Waiting for a photo from Tess Tech's phone." in photo
    listing = client.get("/jobs").get_data(as_text=True)
    assert "Phone: 1 waiting" in listing and "Phone: 1 photo to come" in listing


@pytest.mark.browser
def test_the_job_page_shows_a_phone_failure_live(page, make_user, make_job, upload, run_worker, db):
    dispatcher = make_user("dispatcher", name="Dana Dispatcher")
    tess = make_user("technician", name="Tess Tech", rights=[Right.ADD_NOTES])
    job = make_job(tess)
    browser_login(page, dispatcher.email)
    page.goto(f"/jobs/{job.id}")
    page.wait_for_function("document.documentElement.dataset.live === 'on'")
    assert "Nothing from a phone yet." in page.locator("#job-phone").inner_text()
    upload(tess, job.id, 1, "status_change", {"to": "started"})
    run_worker(["inbox"])
    issue = page.locator("#job-phone .phone-failed")
    issue.wait_for()
    assert "Tess Tech's phone could not change the status to Started" in issue.inner_text()
    page.click("#phone-line summary")
    screenshot(page, "job-phone-failure")
