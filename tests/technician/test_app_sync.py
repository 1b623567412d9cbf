"""Sync edges in the app: reassigned jobs leave, an expired cursor or sign-in starts over
with nothing unsent lost, and a push makes the phone sync."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from portal.domain import devices, retention
from portal.domain import jobs as job_ops
from portal.domain.jobs import Actor
from portal.models import Device, InboxMessage, Job, utcnow


def _fresh(db, model, ident):
    db.session.rollback()  # a fresh transaction: the app wrote since this one began
    return db.session.get(model, ident)


def test_a_job_reassigned_in_the_portal_leaves_the_phone_at_the_next_sync(
    phone, technician, dispatcher, make_user, make_job, db
):
    moved = make_job(technician, "Fix the boiler")
    make_job(technician, "Replace a valve")
    other = make_user("technician", name="Otto Other")
    tab = phone.tab
    phone.open()
    phone.sign_in(technician.email)
    phone.open_job("Fix the boiler")

    job_ops.assign(_fresh(db, Job, moved.id), other, Actor.portal(dispatcher))
    db.session.commit()
    phone.sync()
    expect(tab.locator("#job-gone")).to_contain_text("not on your phone")
    tab.click("#back")
    expect(tab.locator(".job-card", has_text="Replace a valve")).to_be_visible()
    expect(tab.locator(".job-card", has_text="Fix the boiler")).to_have_count(0)


def test_an_expired_cursor_syncs_again_from_the_start_and_keeps_what_is_unsent(
    phone, technician, dispatcher, make_user, make_job, db
):
    edited = make_job(technician, "Fix the boiler")
    moved = make_job(technician, "Replace a valve")
    tab = phone.tab
    phone.note_offline(technician.email, "Fix the boiler", "Customer not home, back at 3")

    actor = Actor.portal(dispatcher)
    job_ops.update(_fresh(db, Job, edited.id), {"title": "Fix the boiler (urgent)"}, actor)
    job_ops.assign(db.session.get(Job, moved.id), make_user("technician"), actor)
    db.session.commit()
    # The feed retention passes over everything the phone has not pulled yet.
    assert retention.expire_feed(technician.id, utcnow() + timedelta(seconds=1)) > 0

    phone.context.set_offline(False)
    expect(phone.unsent()).to_have_text("All sent", timeout=20_000)
    expect(tab.locator("#job .job-title")).to_have_text("Fix the boiler (urgent)")
    tab.click("#back")
    expect(tab.locator(".job-card")).to_have_count(1)
    db.session.rollback()
    notes = db.session.scalars(select(InboxMessage).where(InboxMessage.type == "note")).all()
    assert [n.payload["text"] for n in notes] == ["Customer not home, back at 3"]


def test_a_revoked_sign_in_asks_to_sign_in_again_and_then_sends_what_waited(
    phone, technician, make_job, db
):
    job = make_job(technician, "Fix the boiler")
    tab = phone.tab
    phone.note_offline(technician.email, "Fix the boiler", "Parts ordered")

    db.session.rollback()
    device = db.session.scalar(select(Device).where(Device.user_id == technician.id))
    assert (device.platform, device.app_version) == ("web", "1.0")
    devices.revoke(device)
    db.session.commit()
    phone.context.set_offline(False)
    form = tab.locator("#signin")
    expect(form).to_contain_text("Your sign-in ended", timeout=20_000)
    expect(form).to_contain_text("1 unsent change stay")
    expect(tab.locator("#email")).to_have_value(technician.email)
    tab.fill("#password", "password123")
    tab.click("#signin button[type=submit]")
    expect(phone.unsent()).to_have_text("All sent", timeout=20_000)
    db.session.rollback()
    note = db.session.scalar(select(InboxMessage).where(InboxMessage.job_id == job.id))
    assert note.payload == {"text": "Parts ordered"}


def test_a_push_makes_the_phone_sync(phone, technician, dispatcher, make_job, db):
    job = make_job(technician, "Fix the boiler")
    tab = phone.tab
    phone.open()
    phone.sign_in(technician.email)
    phone.offline_ready()
    cdp = phone.context.new_cdp_session(tab)
    registrations: list[str] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(r["registrationId"] for r in e["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    expect(tab.locator("#job-list")).to_be_visible()
    assert registrations

    job_ops.update(
        _fresh(db, Job, job.id), {"title": "Fix the boiler today"}, Actor.portal(dispatcher)
    )
    db.session.commit()
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": tab.evaluate("location.origin"),
            "registrationId": registrations[0],
            "data": json.dumps({"type": "sync", "job_id": job.id, "reason": "updated"}),
        },
    )
    expect(tab.locator(".job-card", has_text="Fix the boiler today")).to_be_visible()


def test_with_web_push_set_up_the_app_registers_its_token(
    _browser, app, live_server, technician, make_job, db, monkeypatch
):
    make_job(technician, "Fix the boiler")
    provider = "/static/app/push-provider-test.js"
    monkeypatch.setitem(app.config, "TECHNICIAN_PUSH_PROVIDER", provider)
    # The provider a deployment writes around Firebase's getToken(); here a stand-in token.
    context = _browser.new_context(
        base_url=live_server, viewport={"width": 390, "height": 844}, service_workers="block"
    )
    context.route(
        f"**{provider}",
        lambda route: route.fulfill(
            content_type="text/javascript",
            body='export async function getToken() { return "web-fcm-token-1"; }',
        ),
    )
    tab = context.new_page()
    try:
        tab.goto("/app/")
        tab.fill("#email", technician.email)
        tab.fill("#password", "password123")
        with tab.expect_response(lambda r: r.url.endswith("/api/v1/device/push-token")) as put:
            tab.click("#signin button[type=submit]")
        assert put.value.status == 200
        expect(tab.locator(".job-card", has_text="Fix the boiler")).to_be_visible()
    finally:
        context.close()
    db.session.rollback()
    device = db.session.scalar(select(Device).where(Device.user_id == technician.id))
    assert (device.push_token, device.platform) == ("web-fcm-token-1", "web")


def test_signing_out_keeps_unsent_work_until_another_technician_signs_in(
    phone, technician, make_user, make_job, db
):
    make_job(technician, "Fix the boiler")
    other = make_user("technician", name="Otto Other")
    make_job(other, "Replace a valve")
    tab = phone.tab
    phone.note_offline(technician.email, "Fix the boiler", "Left a card")
    tab.goto("/app/#/settings")
    tab.once("dialog", lambda dialog: dialog.accept())
    tab.click("#sign-out")
    expect(tab.locator("#signin")).to_contain_text("1 unsent change stays on this phone")

    phone.context.set_offline(False)
    warnings: list[str] = []

    def answer(dialog, accept: bool) -> None:
        warnings.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    tab.once("dialog", lambda dialog: answer(dialog, False))
    tab.fill("#email", other.email)
    tab.fill("#password", "password123")
    tab.click("#signin button[type=submit]")
    expect(tab.locator("#signin .error")).to_contain_text(f"Sign in as {technician.email}")
    assert warnings == ["1 change by Tess Tech not sent yet will be deleted from this phone. "
                        "Sign in anyway?"]  # fmt: skip

    tab.once("dialog", lambda dialog: answer(dialog, True))
    phone.sign_in(other.email)
    expect(tab.locator(".job-card")).to_have_text([re.compile("Replace a valve")])
    expect(phone.unsent()).to_have_text("All sent")
