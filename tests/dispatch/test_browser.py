"""A dispatcher's day in a real Chromium: create, assign, edit, status, attach, board, filter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.domain import jobs as job_ops
from portal.models import Job
from tests.conftest import browser_login, screenshot

pytestmark = pytest.mark.browser


def fresh_job(db, reference: str) -> Job:
    db.session.rollback()
    return db.session.scalar(select(Job).where(Job.reference == reference))


def test_dispatcher_plans_a_job_from_creation_to_the_day_board(
    page, make_user, make_job, db, tmp_path
):
    dispatcher = make_user("dispatcher", name="Dana Dispatcher")
    tariq = make_user("technician", name="Tariq Technician")
    make_user("technician", name="Tess Technician")
    # Tomorrow: a start already past today would ask for a confirmation first.
    today = datetime.now(UTC).date() + timedelta(days=1)
    for i, title in enumerate(["Annual inspection", "Replace thermostat", "Check smoke alarms"]):
        start = datetime.combine(today, datetime.min.time(), tzinfo=UTC) + timedelta(
            hours=8 + 3 * i
        )
        make_job(
            title,
            customer=["Globex Offices", "Initech", "Hooli Campus"][i],
            scheduled_start=start,
            scheduled_end=start + timedelta(hours=2),
            assignee=tariq if i == 1 else None,
        )
    browser_login(page, dispatcher.email)

    # A validation error shows next to its field.
    page.click("#new-job")
    page.fill("input[name=customer]", "Acme Bakery")
    page.click("button:has-text('Create job')")
    assert page.locator("#field-title .field-error").inner_text() == "A job needs a title."

    # Create the job with every field.
    page.fill("input[name=title]", "Boiler service")
    page.fill("input[name=address]", "12 Harbour Street, Springfield")
    page.fill("textarea[name=description]", "Annual service. Gate code 4411.")
    page.fill("input[name=scheduled_start]", f"{today}T13:00")
    page.fill("input[name=scheduled_end]", f"{today}T15:30")
    page.click("button:has-text('Create job')")
    page.wait_for_selector("text=created.")
    reference = page.locator("h1 .ref").inner_text()
    job = fresh_job(db, reference)
    assert job.title == "Boiler service" and job.scheduled_end.hour == 15

    # Assign it.
    page.select_option("#assign-form select", label="Tariq Technician")
    page.click("#assign-form button")
    page.wait_for_selector("text=is now assigned to Tariq Technician")
    assert "Tariq Technician" in page.locator("#job-assignee").inner_text()

    # Edit it.
    page.click("#edit-job")
    page.fill("input[name=customer]", "Acme Bakery & Café")
    page.click("button:has-text('Save changes')")
    page.wait_for_selector("text=saved.")
    assert "Acme Bakery & Café" in page.locator("#job-summary").inner_text()

    # Change its status: only configured targets are offered.
    offered = page.locator("#status-form button").all_inner_texts()
    assert offered == ["→ En route", "→ Started"]
    page.click("#status-form button:has-text('En route')")
    page.wait_for_selector("text=is now en route")
    assert page.locator("#job-status").inner_text() == "En route"

    # Attach a file.
    doc = tmp_path / "boiler-manual.pdf"
    doc.write_bytes(b"%PDF-1.4 boiler manual")
    page.set_input_files("#attach-form input[type=file]", str(doc))
    page.click("#attach-form button")
    page.wait_for_selector("a.file-link:has-text('boiler-manual.pdf')")
    history = page.locator("#job-history").inner_text()
    assert "attached a file" in history and "Dana Dispatcher" in history
    assert "En route" in history
    screenshot(page, "dispatch-job-detail")

    # Find it on the day board (tomorrow's), in Tariq's row.
    page.click("nav.mainnav a:has-text('Day board')")
    page.click("a[aria-label='Next day']")
    page.wait_for_url(f"**day={today.isoformat()}")
    lane = page.locator(f".lane[data-tech-id='{tariq.id}']")
    assert lane.locator(f".bjob[data-job-id='{job.id}']").count() == 1
    # Assign an unassigned job by dragging it onto Tess's row.
    db.session.rollback()
    loose = db.session.scalar(select(Job).where(Job.title == "Annual inspection"))
    card = page.locator(f".lane[data-tech-id=''] .bjob[data-job-id='{loose.id}']")
    tess_lane = page.locator(".lane[data-tech-id]").filter(has_text="Tess Technician")
    card.drag_to(tess_lane.locator(".lane-track"))
    page.wait_for_selector("text=is now assigned to Tess Technician")
    assert tess_lane.locator(f".bjob[data-job-id='{loose.id}']").count() == 1
    screenshot(page, "dispatch-day-board")

    # Filter the list.
    page.click("nav.mainnav a:has-text('Jobs')")
    page.fill("input[name=q]", "harbour")
    page.select_option("select[name=status]", "en_route")
    page.click("button:has-text('Filter')")
    page.wait_for_url("**q=harbour**")  # the filtered list, not the one being left
    rows = page.locator("#job-list tbody tr")
    assert rows.count() == 1 and reference in rows.first.inner_text()
    page.click("text=Clear")
    page.wait_for_url(lambda url: "q=" not in url)
    assert page.locator("#job-list tbody tr").count() == 4
    screenshot(page, "dispatch-job-list")


def test_a_stale_edit_is_refused_with_a_message(page, make_user, make_job, db):
    dispatcher = make_user("dispatcher")
    job = make_job("Fix radiator", customer="Northwind Hotel")
    browser_login(page, dispatcher.email)
    page.goto(f"/jobs/{job.id}/edit")
    # A colleague changes the job while this form is open.
    colleague = make_user("dispatcher", name="Colin Colleague")
    current = fresh_job(db, job.reference)
    job_ops.update(current, {"customer": "Northwind Grand Hotel"}, job_ops.Actor.portal(colleague))
    db.session.commit()
    page.fill("input[name=title]", "Fix radiator in room 12")
    page.click("button:has-text('Save changes')")
    conflict = page.locator("#conflict")
    assert "changed by Colin Colleague" in conflict.inner_text()
    assert "Northwind Grand Hotel" in conflict.inner_text()
    assert fresh_job(db, job.reference).title == "Fix radiator"
    # Their change is taken into the form; this dispatcher's own edit stays.
    assert page.input_value("input[name=customer]") == "Northwind Grand Hotel"
    assert page.input_value("input[name=title]") == "Fix radiator in room 12"
    screenshot(page, "dispatch-stale-edit")
    page.click("button:has-text('Save changes')")
    page.wait_for_selector("text=saved.")
    saved = fresh_job(db, job.reference)
    assert (saved.title, saved.customer) == ("Fix radiator in room 12", "Northwind Grand Hotel")


def test_list_and_detail_update_live_when_a_job_changes(page, make_user, make_job, db, _browser):
    dispatcher = make_user("dispatcher")
    tech = make_user("technician", name="Theo Technician")
    job = make_job("Repair AC unit")
    browser_login(page, dispatcher.email)
    page.goto("/jobs")
    page.wait_for_function("document.documentElement.dataset.live === 'on'")
    detail = page.context.new_page()
    detail.goto(f"/jobs/{job.id}")
    detail.wait_for_function("document.documentElement.dataset.live === 'on'")
    current = fresh_job(db, job.reference)
    job_ops.assign(current, tech, job_ops.Actor.portal(dispatcher))
    db.session.commit()
    page.wait_for_selector(f"#job-list tr[data-job-id='{job.id}'] .badge.s-assigned")
    detail.wait_for_selector("#job-assignee:has-text('Theo Technician')")
    assert "assigned the job" in detail.locator("#job-history").inner_text()


def test_technicians_page_shows_sync_state_and_revokes_a_device(page, make_user, db):
    from portal.domain import devices
    from portal.models import Device, utcnow

    dispatcher = make_user("dispatcher")
    tariq = make_user("technician", name="Tariq Technician")
    tess = make_user("technician", name="Tess Technician")
    make_user("technician", name="Theo Technician")
    phone, _ = devices.issue_token(tariq, "android-7f3a", "android", "2.4.1")
    phone.last_sync_at, phone.unsent_count, phone.network = (
        utcnow() - timedelta(minutes=3),
        0,
        "wifi",
    )
    phone.push_token = "fcm-token"
    old, _ = devices.issue_token(tess, "iphone-19c2", "ios", "2.3.0")
    old.last_sync_at, old.unsent_count, old.network = utcnow() - timedelta(days=2), 4, "2g"
    db.session.commit()
    browser_login(page, dispatcher.email)
    page.click("nav.mainnav a:has-text('Technicians')")
    fresh_row = page.locator(f"tr[data-device-id='{phone.id}']")
    assert "3 min ago" in fresh_row.inner_text() and "push token" in fresh_row.inner_text()
    stale_row = page.locator(f"tr[data-device-id='{old.id}']")
    assert "stale" in stale_row.get_attribute("class")
    assert "no push token" in stale_row.inner_text() and "4 unsent" in stale_row.inner_text()
    screenshot(page, "dispatch-technicians")
    page.on("dialog", lambda dialog: dialog.accept())
    stale_row.locator("button:has-text('Revoke')").click()
    page.wait_for_selector("text=was revoked")
    db.session.rollback()
    assert db.session.get(Device, old.id).revoked_at is not None


def test_import_from_the_portal_page_lists_bad_rows(page, make_user, db, tmp_path):
    dispatcher = make_user("dispatcher")
    make_user("technician", email="tariq@example.com", name="Tariq")
    path = tmp_path / "jobs.csv"
    path.write_text(
        "reference,title,description,customer,address,scheduled_start,scheduled_end,assignee_email\n"
        "B-1,Boiler service,,Acme,,2030-01-01T09:00:00Z,,tariq@example.com\n"
        "B-2,,,Acme,,,,\n"
        "B-3,Fix radiator,,Globex,,tomorrow,,\n"
    )
    browser_login(page, dispatcher.email)
    page.click("text=Import CSV")
    page.set_input_files("#import-form input[type=file]", str(path))
    page.click("#import-form button")
    page.wait_for_selector("#import-errors")  # the answer has loaded, not the form still
    errors = page.locator("#import-errors tbody tr").all_inner_texts()
    assert len(errors) == 2
    assert errors[0].startswith("3\tB-2") and "A job needs a title." in errors[0]
    assert errors[1].startswith("4\tB-3") and "not an ISO 8601" in errors[1]
    screenshot(page, "dispatch-import")
    page.click("text=← Jobs")
    page.wait_for_url("**/jobs")
    page.wait_for_selector("#job-list")
    assert page.locator("#job-list tbody tr").count() == 1
