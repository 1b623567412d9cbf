"""A technician's day, end to end, in the production shape.

gunicorn (2 processes, Socket.IO through Redis), 2 RQ workers, cron, the fake FCM server,
PostgreSQL; a reference device client and a real Chromium for the dispatcher and the admin.
"""

from __future__ import annotations

import base64
import time

import pytest
from sqlalchemy import select

from portal.domain import jobs as job_ops
from portal.models import InboxMessage
from portal.simulator.client import DeviceClient
from tests.conftest import BACKEND, browser_login, screenshot
from tests.fakes.fcm import fake_fcm  # noqa: F401  (fixture)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

# A 1×1 PNG: the photo the technician takes.
PHOTO = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@pytest.fixture
def system_env(fake_fcm):  # noqa: F811
    return fake_fcm.settings()


def wait_until(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_technicians_day(system, fake_fcm, _browser, db, make_user):  # noqa: F811
    if BACKEND != "postgresql":
        pytest.skip("the production-shape day runs in the PostgreSQL pass of the suite")
    dispatcher = make_user("dispatcher", name="Dana Dispatcher")
    admin = make_user("admin", name="Adam Admin")
    tech = make_user("technician", name="Tariq Technician")
    job = job_ops.create(
        {"title": "Boiler service", "customer": "Acme Bakery", "address": "1 Main Street"},
        job_ops.Actor.portal(dispatcher),
    )
    db.session.commit()
    job_id = job.id

    phone = DeviceClient(system.url, tech.email, "password123", network="wifi")
    phone.sign_in()
    phone.register_push_token("phone-token-1")
    assert phone.sync().error is None
    assert phone.jobs == {}

    office = _browser.new_context(base_url=system.url, viewport={"width": 1400, "height": 900})
    desk = office.new_page()
    back_office = _browser.new_context(base_url=system.url, viewport={"width": 1400, "height": 900})
    inbox = back_office.new_page()
    try:
        # The dispatcher assigns the job in the browser; the phone is woken by a push.
        browser_login(desk, dispatcher.email)
        desk.goto(f"/jobs/{job_id}")
        desk.select_option("#assign-form select", label="Tariq Technician")
        desk.click("#assign-form button[type=submit]")
        desk.wait_for_selector("#job-assignee:has-text('Tariq Technician')")
        [push] = fake_fcm.wait_for(1, timeout=30)
        assert push.token == "phone-token-1"
        assert push.data["type"] == "sync" and push.data["job_id"] == str(job_id)
        phone.on_push(push.data)
        assert phone.tick().error is None
        assert phone.jobs[job_id]["status"] == "assigned"
        screenshot(desk, "system-job-assigned")

        # The admin watches the inbox live.
        browser_login(inbox, admin.email)
        inbox.goto("/inbox/")
        inbox.wait_for_selector("html[data-live=on]", state="attached")
        desk.wait_for_selector("html[data-live=on]", state="attached")
        desk.evaluate("window.__sameDocument = true")

        # Offline, the technician starts, pauses, resumes, reports and photographs, finishes;
        # the required Resolution is left empty.
        phone.go_offline()
        phone.act(job_id, "status_change", {"to": "started"})
        phone.act(job_id, "status_change", {"to": "paused"})
        phone.act(job_id, "status_change", {"to": "started"})
        phone.act(job_id, "report_update", {"fields": {"hours": 2, "customer_present": True}})
        phone.take_photo(job_id, PHOTO, "image/png")
        finish = phone.act(job_id, "status_change", {"to": "finished"})
        assert phone.sync().skipped
        assert phone.unsent_count == 7

        # Back online on EDGE: text goes up, the photo waits for a fast network.
        phone.go_online("edge")
        report = phone.sync()
        assert (report.error, report.accepted, report.files_uploaded) == (None, 6, 0)
        assert phone.unsent_count == 1
        wait_until(lambda: "Started" in desk.inner_text("#job-status"), what="job started, live")

        # On Wi-Fi the photo follows; then the finish fails: Resolution is empty.
        phone.go_online("wifi")
        assert phone.sync().files_uploaded == 1
        failed = wait_until(lambda: _message(db, finish["id"], "failed"), what="finish fails")
        assert failed.error_category == "validation"
        assert "Resolution" in failed.error_message
        row = inbox.locator(f"#msg-{failed.id}[data-state=failed]")
        row.wait_for(timeout=20_000)  # appeared live, no reload
        screenshot(inbox, "system-inbox-failed")
        desk.wait_for_selector("#job-photos img, .thumbs img", timeout=20_000)
        screenshot(desk, "system-job-before-retry")

        # The admin repairs the job (the technician phoned the resolution in) and retries.
        row.locator("a").first.click()
        inbox.wait_for_selector("#message-error")
        assert "Resolution" in inbox.inner_text("#message-error")
        repair = back_office.new_page()
        repair.goto(f"/jobs/{job_id}")
        repair.click("#report-edit summary")
        repair.fill("input[name=report-resolution]", "Replaced the pressure valve")
        repair.click("#report-edit button[type=submit]")
        repair.wait_for_selector(".flash-success")
        repair.close()
        inbox.click("#retry")
        inbox.wait_for_selector(".flash-success, .flash-info")
        inbox.evaluate("window.__sameDocument = true")
        inbox.wait_for_selector("#message-live[data-state=completed]", timeout=30_000)
        assert inbox.evaluate("window.__sameDocument") is True
        screenshot(inbox, "system-inbox-after-retry")

        # The dispatcher's page shows the job finished with its photo, without a reload.
        wait_until(lambda: "Finished" in desk.inner_text("#job-status"), what="job finished, live")
        assert desk.evaluate("window.__sameDocument") is True
        assert desk.locator(".thumbs img").count() == 1
        screenshot(desk, "system-job-after-retry")

        # The phone learns every outcome in its next pull.
        assert phone.sync().error is None
        assert phone.results[finish["id"]]["state"] == "completed"
        assert all(r["state"] == "completed" for r in phone.results.values())
        assert phone.jobs[job_id]["status"] == "finished"
        assert len(phone.jobs[job_id]["photos"]) == 1
        # Pushes: the assignment and the office's report repair; none for the phone's own work.
        reasons = [p.data["reason"] for p in fake_fcm.delivered]
        assert "status" not in reasons
        assert reasons[0] == "assigned"
    finally:
        office.close()
        back_office.close()


def _message(db, action_id: str, state: str) -> InboxMessage | None:
    db.session.rollback()
    return db.session.scalar(
        select(InboxMessage).where(InboxMessage.action_id == action_id, InboxMessage.state == state)
    )
