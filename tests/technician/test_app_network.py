"""Slow networks and refusals: text syncs on 2G while photos wait; refusals say why."""

from __future__ import annotations

import io

from playwright.sync_api import expect
from sqlalchemy import select

from portal.domain import files as file_ops
from portal.domain import jobs as job_ops
from portal.domain.jobs import Actor
from portal.models import FileKind, InboxMessage, Job, JobFile, PendingPhoto
from tests.technician.conftest import PNG

# Chromium reports effectiveType "2g" from a round trip of 1,400 ms on.
TWO_G = {
    "offline": False,
    "latency": 1500,
    "downloadThroughput": 20_000,
    "uploadThroughput": 20_000,
    "connectionType": "cellular2g",
}
FAST = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}


def test_on_2g_text_syncs_while_photos_and_attachments_wait_for_a_better_network(
    phone, technician, dispatcher, make_job, db, run_worker
):
    job = make_job(technician, "Fix the boiler")
    tab = phone.tab
    phone.open()
    phone.sign_in(technician.email)
    phone.open_job("Fix the boiler")
    ranges: list[str] = []
    tab.on(
        "request",
        lambda r: ranges.append(r.headers.get("range")) if "/api/v1/files/" in r.url else None,
    )
    cdp = phone.context.new_cdp_session(tab)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", TWO_G)
    expect(tab.locator("#net")).to_contain_text("Slow network: text only")
    manual = b"%PDF-1.4 " + bytes(range(256)) * 1200  # 300 KB: two ranged requests
    db.session.rollback()  # a fresh transaction: the app wrote since this one began
    file_ops.add_file(
        db.session.get(Job, job.id), io.BytesIO(manual), "manual.pdf", "application/pdf",
        FileKind.ATTACHMENT, Actor.portal(dispatcher),
    )  # fmt: skip
    db.session.commit()

    tab.fill("#note-text", "Gate code 1234")
    tab.click("#note-form button[type=submit]")
    tab.set_input_files("#photo-input", files=[
        {"name": "meter.png", "mimeType": "image/png", "buffer": PNG}
    ])  # fmt: skip
    expect(phone.unsent()).to_have_text("2 unsent")
    phone.sync()
    expect(phone.unsent()).to_have_text("1 unsent")
    expect(tab.locator("#message")).to_contain_text("1 photo waiting for a better network")
    expect(tab.locator("#photos figcaption")).to_have_text("Waiting for a better network")
    expect(tab.locator("#attachments li")).to_contain_text("Waiting for a better network")
    file_id = tab.locator("#photos figure").get_attribute("data-file")

    db.session.rollback()
    types = set(db.session.scalars(select(InboxMessage.type).where(InboxMessage.job_id == job.id)))
    assert types == {"note", "photo_added"}  # the text went, the photo's action with it
    assert db.session.scalar(select(JobFile).where(JobFile.client_file_id == file_id)) is None
    run_worker(["inbox"])
    db.session.rollback()
    assert db.session.scalar(select(PendingPhoto).where(PendingPhoto.client_file_id == file_id))

    cdp.send("Network.emulateNetworkConditions", FAST)  # the phone reaches Wi-Fi or LTE
    expect(phone.unsent()).to_have_text("All sent", timeout=20_000)
    expect(tab.locator("#photos figcaption")).to_have_text("Sent")
    expect(tab.locator("#message")).to_be_hidden()
    expect(tab.locator("#attachments li a")).to_have_text("Open")
    # In 256 KB ranges, so that a download cut by a bad network goes on where it stopped.
    assert ranges == [f"bytes=0-{256 * 1024 - 1}", f"bytes={256 * 1024}-{len(manual) - 1}"]
    db.session.rollback()
    photo = db.session.scalar(select(JobFile).where(JobFile.client_file_id == file_id))
    assert photo is not None and photo.job_id == job.id and photo.size == len(PNG)


def test_text_only_choice_keeps_photos_until_switched_off(phone, technician, make_job, db):
    make_job(technician, "Fix the boiler")
    tab = phone.tab
    phone.open()
    phone.sign_in(technician.email)
    tab.click(".settings-link")
    tab.check("#text-only")
    expect(tab.locator("#net")).to_contain_text("Text only")
    tab.goto("/app/#/")
    phone.open_job("Fix the boiler")
    tab.set_input_files("#photo-input", files=[
        {"name": "meter.png", "mimeType": "image/png", "buffer": PNG}
    ])  # fmt: skip
    phone.sync()
    expect(phone.unsent()).to_have_text("1 unsent")
    expect(tab.locator("#photos figcaption")).to_have_text("Waiting for a better network")
    db.session.rollback()
    assert db.session.scalar(select(JobFile)) is None

    tab.goto("/app/#/settings")
    tab.uncheck("#text-only")
    expect(phone.unsent()).to_have_text("All sent", timeout=20_000)
    db.session.rollback()
    assert db.session.scalar(select(JobFile)).size == len(PNG)


def test_a_refused_finish_shows_the_reason_and_that_the_office_will_fix_it(
    phone, technician, dispatcher, make_job, db, run_worker
):
    job = make_job(technician, "Fix the boiler")
    job_ops.change_status(job, "started", Actor.portal(dispatcher))
    job_ops.update_report(job, {"resolution": "Pump replaced"}, Actor.portal(dispatcher))
    db.session.commit()
    tab = phone.tab
    phone.open()
    phone.sign_in(technician.email)
    phone.open_job("Fix the boiler")
    expect(tab.locator("#field-resolution")).to_have_value("Pump replaced")

    phone.go_offline()
    # Meanwhile the office empties the required field the phone still shows filled in.
    db.session.rollback()  # a fresh transaction: the app wrote since this one began
    job = db.session.get(Job, job.id)
    job_ops.update_report(job, {"resolution": ""}, Actor.portal(dispatcher))
    db.session.commit()
    tab.click("button[data-to=finished]")
    expect(tab.locator("#job-status")).to_have_text("Finished")
    phone.context.set_offline(False)
    expect(phone.unsent()).to_have_text("All sent", timeout=20_000)
    run_worker(["inbox"])
    phone.sync()

    problems = tab.locator("#problems")
    expect(problems).to_contain_text("needs report field 'Resolution'")
    expect(problems).to_contain_text("The office will fix it")
    expect(tab.locator("#job-status")).to_have_text("Started")
    expect(tab.locator(".job-card")).to_have_count(0)  # on the job page, not the list
    tab.click("#back")
    expect(tab.locator(".job-card", has_text="Fix the boiler")).to_contain_text("Not accepted")
