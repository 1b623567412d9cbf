"""A form sent after the session ended, or from an expired page, loses nothing typed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.domain import accounts
from portal.models import Job, User
from tests.conftest import browser_login

pytestmark = pytest.mark.browser


def fresh_job(db, job_id: int) -> Job:
    db.session.rollback()
    return db.session.scalar(select(Job).where(Job.id == job_id))


def test_an_edit_sent_after_the_session_ended_keeps_the_typed_text_through_sign_in(
    page, make_user, make_job, db
):
    dispatcher = make_user("dispatcher", name="Dana Dispatcher")
    job = make_job("Fix radiator", customer="Northwind Hotel")
    browser_login(page, dispatcher.email)
    page.goto(f"/jobs/{job.id}/edit")
    page.fill("textarea[name=description]", "Radiator in room 12 leaks at the valve.")
    page.fill("input[name=title]", "Fix radiator in room 12")
    # Signed out everywhere (a password change elsewhere) while the form is open.
    accounts.end_sessions(db.session.get(User, dispatcher.id))
    db.session.commit()

    page.click("button:has-text('Save changes')")
    page.wait_for_url("**/login**")
    page.fill("input[name=email]", dispatcher.email)
    page.fill("input[name=password]", "password123")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/jobs/{job.id}/edit")
    assert page.input_value("input[name=title]") == "Fix radiator in room 12"
    assert page.input_value("textarea[name=description]") == (
        "Radiator in room 12 leaks at the valve."
    )
    assert "What you typed before is back" in page.locator(".draft-note").inner_text()
    assert fresh_job(db, job.id).title == "Fix radiator"  # nothing was saved unseen

    page.click("button:has-text('Save changes')")
    page.wait_for_selector("text=saved.")
    assert fresh_job(db, job.id).title == "Fix radiator in room 12"


def test_an_expired_form_says_so_in_the_page_and_keeps_the_typed_report(
    page, make_user, make_job, db
):
    dispatcher = make_user("dispatcher")
    tess = make_user("technician", name="Tess Technician")
    job = make_job("Service lift", assignee=tess)
    browser_login(page, dispatcher.email)
    page.goto(f"/jobs/{job.id}")
    page.click("#report-edit summary")
    page.fill("input[name=report-resolution]", "Replaced the cable")
    # The browser lost its session (restarted, cookies cleared): the page's security token
    # belongs to a session that no longer exists.
    page.context.clear_cookies()
    page.click("#report-edit button[type=submit]")

    page.wait_for_url("**/login**")
    # The sign-in page says why, in words, instead of a bare "400".
    warning = page.locator(".flash-warning").inner_text()
    assert "opened before your session changed, so it was not sent" in warning
    assert "What you typed is back in the form" in warning
    page.fill("input[name=email]", dispatcher.email)
    page.fill("input[name=password]", "password123")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/jobs/{job.id}")
    assert "What you typed before is back" in page.locator(".draft-note").inner_text()
    assert page.locator("#report-edit").get_attribute("open") is not None
    assert page.input_value("input[name=report-resolution]") == "Replaced the cable"
    assert fresh_job(db, job.id).report == {}
    page.click("#report-edit button[type=submit]")
    page.wait_for_selector("text=Report saved.")
    assert fresh_job(db, job.id).report == {"resolution": "Replaced the cable"}
