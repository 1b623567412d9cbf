"""A dispatcher in Chicago and one in Tokyo, for a company in Amsterdam, in a real Chromium.

The browser runs in the person's zone and language (Playwright's ``timezone_id`` and
``locale``). Each takes their computer's zone as their own (Chicago from the offer the
portal makes, Tokyo on My settings), then creates and reschedules a job, opens the day
board, filters the inbox by day and imports a CSV file. The test checks what is stored
(UTC) and what is shown (their local time, in their format).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel import dates
from sqlalchemy import select

from portal.domain import jobs as job_ops
from portal.domain import timezones
from portal.models import Job, User, utcnow
from tests.conftest import CHROMIUM, browser_login, screenshot
from tests.dispatch.conftest import completed_note

pytestmark = pytest.mark.browser

COMPANY = "Europe/Amsterdam"
VIEWERS = [
    pytest.param("America/Chicago", "en-US", "en_US", id="chicago"),
    pytest.param("Asia/Tokyo", "ja-JP", "en_JP", id="tokyo"),
]
# Count the live refreshes a page makes, so a test acts once the page has settled.
COUNT_REFRESHES = """
document.addEventListener("fieldsync:refreshed", function () {
  window.__fsRefreshed = (window.__fsRefreshed || 0) + 1;
});
"""
HEADER = "reference,title,description,customer,address,scheduled_start,scheduled_end,assignee_email"


def plain(text: str) -> str:
    """CLDR puts narrow no-break spaces in 9:00 AM; compare with plain ones."""
    return " ".join(text.replace("\u202f", " ").replace("\u00a0", " ").split())


@pytest.fixture
def zoned_page(_browser, app, live_server):
    """Open a tab whose browser lives in ``zone`` and speaks ``locale``."""
    contexts, errors = [], []

    def open_tab(zone: str, locale: str):
        assert CHROMIUM
        context = _browser.new_context(
            base_url=live_server,
            viewport={"width": 1400, "height": 900},
            timezone_id=zone,
            locale=locale,
            bypass_csp=True,  # wait_for_function evaluates script (the CSP has its own tests)
        )
        context.set_default_timeout(10_000)
        context.add_init_script(COUNT_REFRESHES)
        contexts.append(context)
        tab = context.new_page()
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        return tab

    yield open_tab
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def settle(page) -> None:
    """Wait until the page is live and its catch-up refresh (on connection) has landed."""
    page.wait_for_function(
        "document.documentElement.dataset.live === 'on' && (window.__fsRefreshed || 0) > 0"
    )


def fresh(db, model, **where):
    db.session.rollback()
    return db.session.scalar(select(model).filter_by(**where))


@pytest.mark.parametrize(("zone", "browser_locale", "cldr"), VIEWERS)
def test_a_dispatcher_abroad_plans_in_their_own_time(
    zoned_page, make_user, db, tmp_path, zone, browser_locale, cldr
):
    timezones.set_company_zone(COMPANY, None)
    db.session.commit()
    me = make_user("admin", name="Dana Dispatcher")
    tech = make_user("technician", name="Tariq Technician")
    tz = ZoneInfo(zone)

    def local(day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=tz)

    def clock(hour: int, minute: int = 0) -> str:
        return plain(dates.format_time(time(hour, minute), "short", locale=cldr))

    page = zoned_page(zone, browser_locale)
    browser_login(page, me.email)

    # 1. The portal shows the company's zone and offers the computer's; they take it.
    assert COMPANY in page.inner_text("#tz-chip")
    if zone == "America/Chicago":
        offer = page.locator("#tz-offer")
        offer.wait_for(state="visible")
        assert f"This computer is set to {zone}" in offer.inner_text()
        offer.locator("button[type=submit]").click()
    else:
        # "Keep" is remembered: the offer does not come back on the next page.
        page.click("#tz-offer-keep")
        page.wait_for_selector("#tz-offer", state="hidden")
        page.goto("/board")
        page.wait_for_function("document.documentElement.dataset.live === 'on'")
        assert page.locator("#tz-offer").is_hidden()
        page.click("#my-settings")
        page.click("#use-browser-zone")
        assert page.input_value("#timezone") == zone
        page.click("#settings-form button[type=submit]")
    page.wait_for_selector(f"#tz-chip:has-text('{zone}')")
    assert fresh(db, User, id=me.id).timezone == zone
    assert page.locator("#tz-offer").is_hidden()

    # 2. Create a job for tomorrow morning, their time.
    today = utcnow().astimezone(tz).date()
    tomorrow = today + timedelta(days=1)
    page.goto("/jobs/new")
    assert zone in page.inner_text("#form-zone")
    page.fill("input[name=title]", "Boiler service")
    page.fill("input[name=scheduled_start]", f"{tomorrow}T09:00")
    page.fill("input[name=scheduled_end]", f"{tomorrow}T11:30")
    page.click("#job-form button[type=submit]")
    page.wait_for_selector("#job-page")
    job = fresh(db, Job, title="Boiler service")
    assert job.scheduled_start == local(tomorrow, 9).astimezone(UTC)
    assert job.scheduled_end == local(tomorrow, 11, 30).astimezone(UTC)
    shown = plain(page.inner_text("#job-scheduled"))
    assert f"{clock(9)} – {clock(11, 30)}" in shown
    assert local(tomorrow, 9).tzname() in shown  # CST/CDT, JST

    # 3. Reschedule it from its page; the history tells from when to when.
    settle(page)
    later = tomorrow + timedelta(days=1)
    page.fill("#schedule-form input[name=scheduled_start]", f"{later}T14:30")
    page.fill("#schedule-form input[name=scheduled_end]", f"{later}T16:00")
    page.click("#schedule-form button[type=submit]")
    page.wait_for_selector(".flash-success")
    job = fresh(db, Job, id=job.id)
    assert job.scheduled_start == local(later, 14, 30).astimezone(UTC)
    history = plain(page.inner_text("#job-history"))
    assert "rescheduled from" in history and f"{clock(9)} – {clock(11, 30)}" in history
    assert f"{clock(14, 30)} – {clock(16)}" in history
    screenshot(page, f"tz-job-{zone.split('/')[1].lower()}")

    # A start in the past is not taken silently: they confirm it.
    settle(page)
    yesterday = today - timedelta(days=1)
    page.fill("#schedule-form input[name=scheduled_start]", f"{yesterday}T10:00")
    page.fill("#schedule-form input[name=scheduled_end]", f"{yesterday}T11:00")
    page.click("#schedule-form button[type=submit]")
    page.wait_for_selector("#schedule-form .past-warning")
    settle(page)  # the page's catch-up refresh leaves a refused form as it is
    assert "is in the past" in page.inner_text("#schedule-form .past-warning")
    assert page.input_value("#schedule-form input[name=scheduled_start]") == f"{yesterday}T10:00"
    assert fresh(db, Job, id=job.id).scheduled_start == local(later, 14, 30).astimezone(UTC)
    page.check("#schedule-form input[name=confirm_past]")
    page.click("#schedule-form button[type=submit]")
    page.wait_for_selector(".flash-success")
    assert fresh(db, Job, id=job.id).scheduled_start == local(yesterday, 10).astimezone(UTC)

    # 4. The day board opens on their today, midnight to midnight their time.
    actor = job_ops.Actor.portal(me)
    early = job_ops.create({"title": "Early", "scheduled_start": local(today, 0, 30)}, actor)
    late = job_ops.create({"title": "Late", "scheduled_start": local(today, 23, 15)}, actor)
    job_ops.assign(late, tech, actor)
    gone = job_ops.create({"title": "Tomorrow", "scheduled_start": local(tomorrow, 0, 30)}, actor)
    db.session.commit()
    page.click("nav.mainnav a:has-text('Day board')")
    settle(page)
    label = plain(page.inner_text("#board-day-label"))
    assert label == plain(dates.format_date(today, "full", locale=cldr))
    assert page.locator(f".lane[data-tech-id=''] .bjob[data-job-id='{early.id}']").count() == 1
    assert page.locator(f".lane[data-tech-id='{tech.id}'] .bjob[data-job-id='{late.id}']").count()
    assert page.locator(f".bjob[data-job-id='{gone.id}']").count() == 0
    card_time = page.inner_text(f".bjob[data-job-id='{early.id}'] .bjob-time")
    assert plain(card_time) == clock(0, 30)
    assert page.locator(".now-line").count() > 0  # their now is on their today
    assert zone in page.inner_text("#board-zone")
    screenshot(page, f"tz-board-{zone.split('/')[1].lower()}")

    # 5. The inbox's date filter takes their days.
    first = completed_note(db, tech, early.id, local(today, 0, 20))
    last = completed_note(db, tech, late.id, local(today, 0, 20) - timedelta(minutes=40))
    page.goto("/inbox/")
    page.fill("#inbox-filter input[name=date_from]", today.isoformat())
    page.fill("#inbox-filter input[name=date_to]", today.isoformat())
    page.click("#inbox-filter button[type=submit]")
    page.wait_for_url(f"**date_from={today.isoformat()}**")
    settle(page)
    assert page.locator(f"#msg-{first.id}").count() == 1
    assert page.locator(f"#msg-{last.id}").count() == 0
    page.fill("#inbox-filter input[name=date_from]", yesterday.isoformat())
    page.fill("#inbox-filter input[name=date_to]", yesterday.isoformat())
    page.click("#inbox-filter button[type=submit]")
    page.wait_for_url(f"**date_from={yesterday.isoformat()}**")
    settle(page)
    assert page.locator(f"#msg-{last.id}").count() == 1
    assert page.locator(f"#msg-{first.id}").count() == 0

    # 6. A CSV import reads times without an offset in the company's zone, not theirs.
    path = tmp_path / "jobs.csv"
    path.write_text(
        f"{HEADER}\nI-1,Imported local,,,,2030-06-03T09:00,,\n"
        "I-2,Imported with offset,,,,2030-06-03T09:00+09:00,,\n"
    )
    page.goto("/jobs/import")
    assert COMPANY in page.inner_text("#import-times")
    page.set_input_files("#import-form input[type=file]", str(path))
    page.click("#import-form button")
    page.wait_for_selector("#import-result")
    first_import = fresh(db, Job, reference="I-1")
    assert first_import.scheduled_start == datetime(2030, 6, 3, 7, tzinfo=UTC)
    assert fresh(db, Job, reference="I-2").scheduled_start == datetime(2030, 6, 3, 0, tzinfo=UTC)
    page.goto("/jobs?q=I-1")
    row = page.locator(f"#job-list tr[data-job-id='{first_import.id}'] td.scheduled")
    shown_local = datetime(2030, 6, 3, 7, tzinfo=UTC).astimezone(tz)
    assert clock(shown_local.hour) in plain(row.inner_text())
