"""Fixtures for the technician app: a phone-sized Chromium tab and jobs to work on."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.domain import jobs as job_ops
from portal.domain.jobs import Actor

PHONE = {"width": 390, "height": 844}
# A real PNG: what the camera hands the file input in these tests.
PNG = (Path(__file__).resolve().parents[2] / "static" / "app" / "icon-192.png").read_bytes()


class Phone:
    """A technician's phone: one browser context (own IndexedDB and service worker)."""

    def __init__(self, context, tab, console):
        self.context, self.tab, self.console = context, tab, console

    def open(self) -> None:
        self.tab.goto("/app/")

    def sign_in(self, email: str, password: str = "password123") -> None:
        self.tab.fill("#email", email)
        self.tab.fill("#password", password)
        self.tab.click("#signin button[type=submit]")
        expect(self.tab.locator("#last-sync")).to_contain_text("Last synced", timeout=15_000)

    def offline_ready(self) -> None:
        """Wait until the service worker holds the shell (the app then opens offline)."""
        self.tab.evaluate("navigator.serviceWorker.ready.then(() => true)")

    def go_offline(self) -> None:
        """Take the phone off the network once no sync is under way, as the app sees it."""
        net = self.tab.locator("#net")
        expect(net).not_to_contain_text("yncing", timeout=15_000)
        self.context.set_offline(True)
        expect(net).to_have_text("Offline")

    def note_offline(self, email: str, title: str, text: str) -> None:
        """Sign in, open the job, go offline and add a note: it waits in the outbox."""
        self.open()
        self.sign_in(email)
        self.open_job(title)
        self.go_offline()
        self.tab.fill("#note-text", text)
        self.tab.click("#note-form button[type=submit]")
        expect(self.unsent()).to_have_text("1 unsent")

    def unsent(self):
        return self.tab.locator("#unsent")

    def sync(self) -> None:
        """Sync by hand and wait until a sync has ended well since."""
        body = self.tab.locator("body")
        before = body.get_attribute("data-syncs") or ""
        self.tab.click("#sync-now")
        expect(body).not_to_have_attribute("data-syncs", before, timeout=30_000)

    def open_job(self, title: str) -> None:
        self.tab.locator(".job-card", has_text=title).click()
        expect(self.tab.locator("#job .job-title")).to_have_text(title)
        if self.tab.evaluate("navigator.onLine"):
            # Opening a job fetches its history and draws the page again: wait for that,
            # or typing could land in the page being replaced.
            expect(self.tab.locator("#history li").first).to_be_visible()


@pytest.fixture
def phone(_browser, app, live_server):
    """A 390×844 Chromium tab at the app, with the pages' real CSP (violations fail)."""
    # The phone's own clock runs in Chicago: the app must show the company's zone anyway.
    context = _browser.new_context(
        base_url=live_server,
        viewport=PHONE,
        has_touch=True,
        locale="en-US",
        timezone_id="America/Chicago",
    )
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []
    console: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    yield Phone(context, tab, console)
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
    violations = [c for c in console if "Content Security Policy" in c]
    assert not violations, violations


@pytest.fixture
def dispatcher(make_user):
    return make_user("dispatcher", name="Dana Dispatch")


@pytest.fixture
def technician(make_user):
    return make_user("technician", name="Tess Tech")


@pytest.fixture
def make_job(db, dispatcher):
    """Create a job assigned to a technician, starting ``hours`` from now."""

    def make(assignee, title="Fix the boiler", hours=1.0, **fields):
        now = datetime.now(UTC).replace(microsecond=0)
        values = {
            "title": title,
            "address": "Keizersgracht 12, Amsterdam",
            "customer": "Mrs. Jansen, 06 1234 5678",
            "description": "The boiler makes a noise.",
            "scheduled_start": now + timedelta(hours=hours),
            "scheduled_end": now + timedelta(hours=hours + 2),
            **fields,
        }
        actor = Actor.portal(dispatcher)
        job = job_ops.create(values, actor)
        job_ops.assign(job, assignee, actor)
        db.session.commit()
        return job

    return make


@pytest.fixture
def docs_screenshot():
    """Save a screenshot for the README when FIELDSYNC_DOCS_SCREENSHOTS is set."""
    from tests.conftest import ROOT

    def save(tab, name: str) -> None:
        if os.environ.get("FIELDSYNC_DOCS_SCREENSHOTS"):
            path = ROOT / "docs" / "screenshots" / f"{name}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(path))

    return save
