"""A real Chromium signs in to the portal and connects the live channel."""

import pytest

from tests.conftest import browser_login, screenshot

pytestmark = pytest.mark.browser


def test_dispatcher_signs_in_and_goes_live(page, make_user):
    user = make_user("dispatcher")
    browser_login(page, user.email)
    assert page.locator("h1").first.inner_text() == "Jobs"
    # The live channel (Socket.IO over WebSocket) connects for a signed-in user.
    page.wait_for_function("document.documentElement.dataset.live === 'on'")
    screenshot(page, "smoke-jobs")


def test_wrong_password_shows_the_error_in_the_page(page, make_user):
    user = make_user("dispatcher")
    page.goto("/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", "nope-nope")
    page.click("button[type=submit]")
    assert "Wrong email or password" in page.locator("#login-error").inner_text()
