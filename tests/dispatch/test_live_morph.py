"""Live refreshes never lose what a dispatcher typed, opened or was just told (real Chromium)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.domain import jobs as job_ops
from portal.models import Job
from tests.conftest import browser_login, screenshot

pytestmark = pytest.mark.browser

LIVE_ON = "document.documentElement.dataset.live === 'on'"


def fresh(db, job_id: int) -> Job:
    db.session.rollback()
    return db.session.scalar(select(Job).where(Job.id == job_id))


def refreshes(tab) -> int:
    return int(tab.evaluate("Number(document.documentElement.dataset.refreshes || 0)"))


def wait_for_refresh_after(tab, count: int) -> None:
    tab.wait_for_function(f"Number(document.documentElement.dataset.refreshes || 0) > {count}")


def test_a_typed_report_survives_another_users_change(page, make_user, make_job, db):
    dispatcher = make_user("dispatcher", name="Dana Dispatcher")
    colleague = make_user("dispatcher", name="Colin Colleague")
    tess = make_user("technician", name="Tess Technician")
    job = make_job("Fix radiator", customer="Northwind Hotel", assignee=tess)
    browser_login(page, dispatcher.email)
    page.goto(f"/jobs/{job.id}")
    page.wait_for_function(LIVE_ON)
    wait_for_refresh_after(page, 0)  # the catch-up of the first connection has landed

    # The dispatcher opens the report form and types what the technician phoned in.
    page.click("#report-edit summary")
    page.fill("input[name=report-resolution]", "Replaced the valve")
    page.fill("input[name=report-hours]", "2")
    # A schedule typed but not saved yet, in the side panel.
    start = page.locator("#schedule-form input[name=scheduled_start]")
    typed_start = start.input_value()[:11] + "16:45"
    start.fill(typed_start)
    page.focus("input[name=report-hours]")
    before = refreshes(page)

    # Meanwhile a colleague changes the customer and the same report value.
    current = fresh(db, job.id)
    colin = job_ops.Actor.portal(colleague)
    job_ops.update(current, {"customer": "Northwind Grand Hotel"}, colin)
    job_ops.update_report(current, {"resolution": "Tightened a screw"}, colin)
    db.session.commit()

    wait_for_refresh_after(page, before)
    page.wait_for_selector("#job-summary:has-text('Northwind Grand Hotel')")
    # Nothing the dispatcher did is lost: the section is open, the values are theirs, the
    # caret is where it was.
    assert page.locator("#report-edit").get_attribute("open") is not None
    assert page.input_value("input[name=report-resolution]") == "Replaced the valve"
    assert page.input_value("input[name=report-hours]") == "2"
    assert start.input_value() == typed_start
    assert page.evaluate("document.activeElement.name") == "report-hours"
    # Where the record under the form changed, the page says so next to the field.
    note = page.locator("#report-edit .live-changed")
    assert note.count() == 1
    assert note.inner_text() == (
        "Changed by Colin Colleague to “Tightened a screw” while you were typing "
        "— review before saving."
    )
    screenshot(page, "live-typed-report-kept")

    # Reviewed: the dispatcher saves their value on purpose.
    page.click("#report-edit button[type=submit]")
    page.wait_for_selector("text=Report saved.")
    assert fresh(db, job.id).report["resolution"] == "Replaced the valve"


def test_a_flash_survives_the_reconnect_refresh(page, make_user, make_job, db):
    dispatcher = make_user("dispatcher", name="Dana Dispatcher")
    make_user("technician", name="Tariq Technician")
    job = make_job("Replace thermostat")
    browser_login(page, dispatcher.email)
    page.goto(f"/jobs/{job.id}")
    page.wait_for_function(LIVE_ON)

    page.select_option("#assign-form select", label="Tariq Technician")
    page.click("#assign-form button")
    flash = page.locator(".flash-success")
    flash.filter(has_text="is now assigned to Tariq Technician").wait_for()
    page.wait_for_function(LIVE_ON)
    wait_for_refresh_after(page, 0)  # the catch-up of the first connection has landed
    before = refreshes(page)

    # The connection drops (a laptop sleeps, the Wi-Fi hiccups) and comes back: the page
    # catches up with what it missed.
    page.evaluate("Fieldsync.live.socket().io.engine.close()")
    wait_for_refresh_after(page, before)
    page.wait_for_function(LIVE_ON)
    assert flash.inner_text() == f"{job.reference} is now assigned to Tariq Technician."
    assert "Tariq Technician" in page.locator("#job-assignee").inner_text()


def test_another_tab_refreshing_does_not_take_the_flash_of_the_next_page(
    page, make_user, make_job, db
):
    """A refresh fetched while a form is being sent must not consume that form's message."""
    dispatcher = make_user("dispatcher")
    job = make_job("Service lift")
    browser_login(page, dispatcher.email)
    page.goto(f"/jobs/{job.id}")
    # The server sets the message; a live refresh of another tab reads the page before the
    # redirect's page is shown.
    page.evaluate(
        """async ([url, version]) => {
            const token = document.querySelector('meta[name=csrf-token]').content;
            const body = new URLSearchParams({csrf_token: token, version: String(version)});
            await fetch(url + '/cancel', {method: 'POST', body, redirect: 'manual'});
            await fetch(url, {headers: {'X-Requested-With': 'live'}});
        }""",
        [f"/jobs/{job.id}", job.version],
    )
    page.goto(f"/jobs/{job.id}")
    assert "is cancelled" in page.locator(".flash-success").inner_text()
