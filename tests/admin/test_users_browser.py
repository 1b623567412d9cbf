"""An admin manages people from a phone-sized Chromium: add, deactivate, reset, read history."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.models import User
from tests.conftest import browser_login

pytestmark = pytest.mark.browser


def test_an_admin_adds_deactivates_and_resets_a_technician_from_a_phone(
    page, make_user, db, tmp_path
):
    admin = make_user("admin", name="Adam Admin")
    page.set_viewport_size({"width": 390, "height": 844})
    browser_login(page, admin.email)

    page.click(".mainnav >> text=Users")
    page.click("#add-user")
    page.fill("input[name=email]", "nina@example.com")
    page.fill("input[name=name]", "Nina Notes")
    page.select_option("select[name=role]", "technician")
    page.fill("input[name=password]", "short")
    page.click("#user-new-form button[type=submit]")
    assert "8 characters" in page.locator("#user-new-form .field-error").inner_text()
    page.fill("input[name=password]", "first-pass-1")
    page.click("#user-new-form button[type=submit]")
    page.wait_for_selector("text=Nina Notes (technician) was added")
    assert "Has not signed in on a phone yet." in page.locator("#user-devices").inner_text()
    page.screenshot(path=str(tmp_path / "user-added.png"), full_page=True)

    # Deactivation asks first; saying no changes nothing.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("#active-form button")
    assert page.locator("#deactivated-badge").count() == 0
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#active-form button")
    page.wait_for_selector("text=Nina Notes is deactivated")
    assert page.locator("#deactivated-badge").is_visible()

    page.fill("#user-password-form input[name=password]", "second-pass-2")
    page.fill("#user-password-form input[name=password_again]", "second-pass-2")
    page.click("#user-password-form button[type=submit]")
    page.wait_for_selector("text=has a new password")

    page.click("#active-form button:has-text('Reactivate')")
    page.wait_for_selector("text=Nina Notes may sign in again")
    entries = page.locator("#user-history .audit-row .audit-what").all_inner_texts()
    assert page.locator("#user-history .audit-what b").all_inner_texts() == [
        "reactivated",
        "password reset",
        "deactivated",
        "added as technician",
    ]
    assert all(e.endswith("by Adam Admin") for e in entries)
    page.screenshot(path=str(tmp_path / "user-history.png"), full_page=True)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390

    db.session.rollback()
    nina = db.session.scalar(select(User).where(User.email == "nina@example.com"))
    assert nina.active and nina.check_password("second-pass-2")

    page.click("text=← Users")
    row = page.locator(f"#users tr[data-user-id='{nina.id}']")
    assert "Nina Notes" in row.inner_text() and "active" in row.inner_text()
    assert "Nina Notes: reactivated" in page.locator("#recent-changes").inner_text()
