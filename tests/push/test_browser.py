"""An admin opens the push log in a real Chromium; it refreshes itself when jobs change."""

from __future__ import annotations

import pytest

from portal.domain import jobs
from tests.conftest import browser_login, screenshot

pytestmark = pytest.mark.browser


def test_admin_reads_the_push_log_and_sees_new_pushes_arrive(
    page, app, db, make_user, phone, new_job, portal_actor, monkeypatch
):
    monkeypatch.setitem(app.config, "PUSH_COALESCE_SECONDS", 0)  # each change its own push
    tech, _ = phone()
    job = new_job(title="Boiler", assignee=tech)
    admin = make_user("admin")
    browser_login(page, admin.email)

    page.click("nav.mainnav >> text=Pushes")
    page.wait_for_url("**/admin/pushes")
    assert page.locator("#push-log tbody tr[data-push]").count() == 1
    assert "recorded" in page.locator("#push-counts").inner_text()
    page.wait_for_function("document.documentElement.dataset.live === 'on'")

    # A dispatcher's change elsewhere: the log picks up the new push without a reload.
    jobs.update(job, {"title": "Boiler and radiators"}, portal_actor)
    db.session.commit()
    page.wait_for_function(
        "document.querySelectorAll('#push-log tbody tr[data-push]').length === 2",
        timeout=15_000,
    )
    page.select_option("select[name=reason]", "changed")
    page.click("form.toolbar button[type=submit]")
    page.wait_for_url("**reason=changed**")
    assert page.locator("#push-log tbody tr[data-push]").count() == 1
    screenshot(page, "push-log")
