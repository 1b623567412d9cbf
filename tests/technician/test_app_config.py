"""The app follows the office's configuration: transitions, rights, report fields, zone."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.sync_api import expect
from sqlalchemy import delete

from portal.domain import timezones
from portal.models import ReportField, StatusTransition, TechnicianRight


def test_status_buttons_follow_the_configured_transitions_and_the_right(
    phone, technician, make_job, db
):
    make_job(technician, "Fix the boiler")
    tab = phone.tab
    phone.open()
    phone.sign_in(technician.email)
    phone.open_job("Fix the boiler")
    buttons = tab.locator("#status-buttons button")
    expect(buttons).to_have_text(["On my way", "Start"])

    db.session.rollback()
    db.session.execute(
        delete(StatusTransition).where(
            StatusTransition.from_status == "assigned", StatusTransition.to_status == "started"
        )
    )
    db.session.add(
        ReportField(key="meter", label="Meter reading", type="number", required_for="finished")
    )
    db.session.commit()
    phone.sync()
    expect(buttons).to_have_text(["On my way"])
    expect(tab.locator("label[for=field-meter]")).to_have_text("Meter reading needed to finish")

    db.session.rollback()
    db.session.execute(
        delete(TechnicianRight).where(
            TechnicianRight.user_id == technician.id, TechnicianRight.right == "change_status"
        )
    )
    db.session.commit()
    phone.sync()
    expect(buttons).to_have_count(0)
    expect(tab.locator("#status-buttons")).to_contain_text("You may not change the status")


def test_times_read_in_the_company_zone_whatever_the_phone_clock(phone, technician, make_job, db):
    timezones.set_company_zone("Asia/Tokyo", None)
    db.session.commit()
    make_job(
        technician,
        "Inspect the roof",
        scheduled_start=datetime(2030, 1, 15, 0, 30, tzinfo=UTC),
        scheduled_end=datetime(2030, 1, 15, 2, 0, tzinfo=UTC),
    )
    phone.open()
    phone.sign_in(technician.email)
    # 00:30 UTC is 09:30 in Tokyo (and 18:30 the day before on the phone's Chicago clock).
    card = phone.tab.locator(".job-card", has_text="Inspect the roof")
    expect(card).to_contain_text("Tue, Jan 15 09:30 AM – 11:00 AM")
