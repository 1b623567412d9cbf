"""In a real Chromium: failures appear live, an admin repairs and retries, support edits."""

from __future__ import annotations

import pytest

from portal.models import Right
from tests.conftest import browser_login, screenshot

pytestmark = pytest.mark.browser


def go_live(page) -> None:
    page.wait_for_function("document.documentElement.dataset.live === 'on'")


def test_admin_sees_a_failure_live_fixes_the_right_and_sees_it_complete(
    page, db, make_user, make_job, upload, run_worker
):
    admin = make_user("admin")
    tech = make_user("technician", name="Tom Field", rights=[Right.ADD_NOTES])
    job = make_job(tech)
    browser_login(page, admin.email)
    page.goto("/inbox/")
    go_live(page)
    assert page.locator("#inbox-rows tr[data-message]").count() == 0

    # The device's upload is processed by a real worker and fails: it appears without reload.
    failing = upload(tech, job.id, 1, "status_change", {"to": "en_route"})
    run_worker(["inbox"])
    row = page.locator(f"#msg-{failing.id}[data-state=failed]")
    row.wait_for()
    assert "authorization" in row.inner_text()
    page.evaluate("window.__sameDocument = true")
    assert page.locator('[data-count="failed"] b').inner_text() == "1"
    assert page.inner_text("#inbox-total") == "1 message"
    screenshot(page, "inbox-list-failed")

    row.locator("a").first.click()
    page.wait_for_selector("#message-error")
    assert "lacks the right 'change_status'" in page.inner_text("#message-error")
    page.click("text=Fix the technician's rights")
    page.check("input[name=change_status]")
    page.click("#rights-form button[type=submit]")
    page.wait_for_selector(".flash-success")

    page.goto(f"/inbox/messages/{failing.id}")
    go_live(page)
    page.click("#retry")
    page.wait_for_selector("#message-live[data-state=queued]")
    page.evaluate("window.__sameDocument = true")
    db.session.rollback()
    run_worker(["inbox"])
    page.wait_for_selector("#message-live[data-state=completed]")
    assert page.evaluate("window.__sameDocument") is True  # updated in place, no reload
    assert "completed" in page.inner_text("#attempts")
    screenshot(page, "inbox-message-completed")


def test_support_edits_a_payload_and_the_action_completes(
    page, db, make_user, technician, make_job, upload, run_worker
):
    support = make_user("support")
    job = make_job(technician)
    m = upload(technician, job.id, 1, "status_change", {"to": "enroute"})
    run_worker(["inbox"])
    browser_login(page, support.email)
    page.goto(f"/inbox/messages/{m.id}")
    assert "validation" in page.inner_text("#message-error")
    page.click("#edit-payload")
    page.fill("textarea[name=payload]", "{not json")
    page.click("text=Save and retry")
    assert "Not valid JSON" in page.inner_text("#payload-error")
    page.fill("textarea[name=payload]", '{"to": "en_route"}')
    page.fill("input[name=note]", "misspelt status")
    page.click("text=Save and retry")
    page.wait_for_selector("#message-live[data-state=queued]")
    go_live(page)
    page.evaluate("window.__sameDocument = true")
    db.session.rollback()
    run_worker(["inbox"])
    page.wait_for_selector("#message-live[data-state=completed]")
    assert page.evaluate("window.__sameDocument") is True
    audit = page.inner_text("#audit")
    assert "edit" in audit and "enroute" in audit and "misspelt status" in audit
    screenshot(page, "inbox-support-edit")
