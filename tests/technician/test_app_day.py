"""A technician's day in the app at 390×844: offline work, reload, drain, the portal sees it."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from portal.models import FileKind, Job, JobFile
from tests.technician.conftest import PNG


def test_offline_day_survives_a_reload_and_reaches_the_portal(
    phone, page, technician, dispatcher, make_job, db, run_worker, docs_screenshot
):
    job = make_job(technician, "Fix the boiler")
    make_job(technician, "Replace a valve", hours=26)
    tab = phone.tab
    phone.open()
    phone.sign_in(technician.email)
    expect(tab.locator(".job-card", has_text="Fix the boiler")).to_be_visible()
    expect(tab.locator(".job-card", has_text="Replace a valve")).to_be_visible()
    expect(phone.unsent()).to_have_text("All sent")
    docs_screenshot(tab, "app-jobs")
    phone.offline_ready()

    phone.context.set_offline(True)
    expect(tab.locator("#net")).to_have_text("Offline")
    phone.open_job("Fix the boiler")
    expect(tab.locator("#job")).to_contain_text("Keizersgracht 12, Amsterdam")
    expect(tab.locator("#job")).to_contain_text("Mrs. Jansen")
    # One column on a 390 px phone, every button big enough for a thumb.
    assert tab.evaluate("document.documentElement.scrollWidth") <= 390
    heights = tab.locator("#job button, #job label.button").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().height)"
    )
    assert heights and min(heights) >= 48
    tab.click("button[data-to=started]")
    expect(tab.locator("#job-status")).to_have_text("Started")
    tab.click("button[data-to=finished]")  # the report's required field is still empty
    expect(tab.locator("#status-error")).to_have_text("Fill in Resolution first.")
    expect(phone.unsent()).to_have_text("1 unsent")
    tab.fill("#field-resolution", "Replaced the pump")
    tab.fill("#field-hours", "2")
    tab.click("#report button[type=submit]")
    tab.set_input_files("#photo-input", files=[
        {"name": "boiler.png", "mimeType": "image/png", "buffer": PNG}
    ])  # fmt: skip
    expect(tab.locator("#photos figure")).to_have_count(1)
    tab.click("button[data-to=finished]")
    expect(tab.locator("#job-status")).to_have_text("Finished")
    expect(phone.unsent()).to_have_text("4 unsent")
    docs_screenshot(tab, "app-job-offline")

    tab.reload()
    expect(phone.unsent()).to_have_text("4 unsent")
    expect(tab.locator("#job-status")).to_have_text("Finished")
    expect(tab.locator("#field-resolution")).to_have_value("Replaced the pump")
    expect(tab.locator("#photos figure img")).to_have_count(1)
    expect(tab.locator("#changes li")).to_have_count(4)

    phone.context.set_offline(False)
    expect(phone.unsent()).to_have_text("All sent", timeout=20_000)
    run_worker(["inbox"])
    phone.sync()
    expect(tab.locator("#changes li[data-state=completed]")).to_have_count(4)
    expect(tab.locator("#problems")).to_have_count(0)
    expect(tab.locator("#history")).to_contain_text("Tess Tech: Status started → finished")

    db.session.rollback()  # a fresh read: the app and the worker wrote meanwhile
    stored = db.session.get(Job, job.id)
    assert stored.status == "finished"
    assert stored.report["resolution"] == "Replaced the pump"
    photo = db.session.scalar(select(JobFile).where(JobFile.job_id == job.id))
    assert photo.kind == FileKind.PHOTO.value and photo.size == len(PNG)

    from tests.conftest import browser_login

    browser_login(page, dispatcher.email)
    page.goto(f"/jobs/{job.id}")
    expect(page.locator("body")).to_contain_text("Finished")
    expect(page.locator("body")).to_contain_text(photo.name)
    page.goto("/technicians")  # the phone shows as a web app of this version
    row = page.locator("tr.device", has_text="web")
    expect(row).to_contain_text("1.0")
