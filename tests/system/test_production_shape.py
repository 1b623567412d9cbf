"""The system runs as production does: gunicorn ×2, workers ×2, cron, Socket.IO via Redis."""

from __future__ import annotations

import time

import pytest

from tests.conftest import browser_login

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _wait_for(predicate, timeout: float = 30.0, every: float = 0.3):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    return predicate()


def test_status_page_shows_two_workers_and_cron_alive(system, _browser, make_user):
    admin = make_user("admin")
    context = _browser.new_context(base_url=system.url)
    tab = context.new_page()
    try:
        browser_login(tab, admin.email)
        tab.goto("/admin/status")

        def two_workers() -> bool:
            tab.reload()
            return "2 alive" in tab.inner_text("#worker-count")

        assert _wait_for(two_workers)
        assert tab.locator("#cron-missing").count() == 0
        # Socket.IO over WebSocket works across gunicorn's processes without sticky sessions.
        tab.wait_for_selector("html[data-live=on]", state="attached")
    finally:
        context.close()
