"""The dispatcher pages through the test client: list, forms, actions, files, technicians."""

from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import select

from portal.domain import devices
from portal.models import Device, Job, JobEvent, JobFile


def test_job_list_filters_by_status_technician_date_and_text(
    client, dispatcher, tech, make_job, nine_am
):
    tariq = tech("Tariq")
    a = make_job("Boiler service", customer="Acme Bakery", assignee=tariq)
    b = make_job("Fix radiator", customer="Northwind Hotel")
    c = make_job(
        "Leaking pipe",
        customer="Globex",
        scheduled_start=nine_am + timedelta(days=3),
        scheduled_end=nine_am + timedelta(days=3, hours=1),
    )

    def refs(query: str) -> set[str]:
        html = client.get("/jobs" + query).get_data(as_text=True)
        return {j.reference for j in (a, b, c) if f">{j.reference}</a>" in html}

    assert refs("") == {a.reference, b.reference, c.reference}
    assert refs("?status=assigned") == {a.reference}
    assert refs(f"?tech={tariq.id}") == {a.reference}
    assert refs("?tech=none") == {b.reference, c.reference}
    day = nine_am.date().isoformat()
    assert refs(f"?from={day}&to={day}") == {a.reference, b.reference}
    assert refs("?q=northwind") == {b.reference}
    assert refs(f"?q={c.reference.lower()}") == {c.reference}
    assert refs("?q=100%25") == set()  # a LIKE wildcard is searched literally


def test_job_list_shows_counts_per_status_and_pages(client, dispatcher, make_job, db):
    for i in range(55):
        make_job(f"Job {i:02d}")
    html = client.get("/jobs").get_data(as_text=True)
    assert 'data-status="new"' in html and "<b>55</b>" in html
    assert 'rel="next"' in html
    second = client.get("/jobs?page=2").get_data(as_text=True)
    assert second.count("<tr data-job-id=") == 5


def test_job_list_sorts_by_a_column_both_ways(client, dispatcher, make_job):
    make_job("Alpha")
    make_job("Zulu")
    asc = client.get("/jobs?sort=title").get_data(as_text=True)
    desc = client.get("/jobs?sort=title&dir=desc").get_data(as_text=True)
    assert asc.index("Alpha") < asc.index("Zulu")
    assert desc.index("Zulu") < desc.index("Alpha")


def test_create_job_with_every_field_and_a_technician(client, dispatcher, tech, db):
    tess = tech("Tess")
    response = client.post_form(
        "/jobs/new",
        {
            "title": "Install heat pump",
            "customer": "Initech",
            "address": "5 Elm Road",
            "description": "Bring the ladder.",
            "scheduled_start": "2030-05-04T09:00",
            "scheduled_end": "2030-05-04T12:30",
            "assignee": str(tess.id),
        },
    )
    assert response.status_code == 302
    job = db.session.scalar(select(Job).where(Job.title == "Install heat pump"))
    assert (job.customer, job.address, job.description) == (
        "Initech",
        "5 Elm Road",
        "Bring the ladder.",
    )
    assert job.scheduled_start.isoformat() == "2030-05-04T09:00:00+00:00"
    assert job.assignee_id == tess.id and job.status == "assigned"
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "Bring the ladder." in page and "Tess" in page


def test_validation_errors_show_next_to_their_field(client, dispatcher):
    response = client.post_form(
        "/jobs/new",
        {"title": "", "scheduled_start": "2030-05-04T12:00", "scheduled_end": "2030-05-04T09:00"},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'data-field="title">A job needs a title.' in html
    response = client.post_form(
        "/jobs/new",
        {"title": "T", "scheduled_start": "2030-05-04T12:00", "scheduled_end": "2030-05-04T09:00"},
    )
    assert 'data-field="scheduled_end">The end must not be before the start.' in response.get_data(
        as_text=True
    )


def test_stale_edit_is_refused_and_shows_what_changed(client, dispatcher, make_job, db):
    job = make_job("Boiler service")
    form = {
        "title": "Boiler service (urgent)",
        "customer": "Acme Bakery",
        "version": str(job.version),
    }
    # Someone else renames the customer meanwhile.
    first = client.post_form(
        f"/jobs/{job.id}/edit", {**form, "title": "Boiler service", "customer": "Acme Ltd"}
    )
    assert first.status_code == 302
    stale = client.post_form(f"/jobs/{job.id}/edit", form)
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "Not saved: someone else changed this job" in html
    assert "<del>Acme Bakery</del>" in html and "<ins>Acme Ltd</ins>" in html
    db.session.expire_all()
    assert db.session.get(Job, job.id).title == "Boiler service"


def test_only_configured_status_targets_are_offered_and_others_refused(
    client, dispatcher, tech, make_job, db
):
    job = make_job(assignee=tech())
    html = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert 'value="en_route"' in html and 'value="started"' in html
    assert 'name="to" value="finished"' not in html
    response = client.post_form(
        f"/jobs/{job.id}/status", {"to": "finished", "version": job.version}, follow_redirects=True
    )
    assert "assigned → finished is not configured" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == "assigned"
    ok = client.post_form(f"/jobs/{job.id}/status", {"to": "en_route", "version": job.version})
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == "en_route"


def test_assign_reassign_unassign_reschedule_and_cancel_from_the_job_page(
    client, dispatcher, tech, make_job, db
):
    t1, t2 = tech("One"), tech("Two")
    job = make_job()

    def post(path, data):
        current = db.session.get(Job, job.id)
        db.session.refresh(current)
        return client.post_form(f"/jobs/{job.id}/{path}", {"version": current.version, **data})

    post("assign", {"assignee": t1.id})
    post("assign", {"assignee": t2.id})
    post("schedule", {"scheduled_start": "2030-01-02T10:00", "scheduled_end": "2030-01-02T11:00"})
    post("assign", {"assignee": ""})
    post("cancel", {})
    db.session.expire_all()
    current = db.session.get(Job, job.id)
    assert current.status == "cancelled" and current.assignee_id is None
    assert current.scheduled_start.hour == 10
    kinds = [
        e.kind
        for e in db.session.scalars(
            select(JobEvent).where(JobEvent.job_id == job.id).order_by(JobEvent.id)
        )
    ]
    assert kinds == ["created", "assigned", "assigned", "updated", "unassigned", "cancelled"]
    html = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "One" in html and "Two" in html and "cancelled the job" in html


def test_attachments_upload_list_and_download_with_their_content_type(
    client, dispatcher, make_job, db, app
):
    job = make_job()
    body = b"%PDF-1.4 the wiring diagram"
    response = client.post_form(
        f"/jobs/{job.id}/attachments",
        {"file": (io.BytesIO(body), "wiring.pdf", "application/pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    record = db.session.scalar(select(JobFile).where(JobFile.job_id == job.id))
    assert (record.name, record.size, record.content_type) == (
        "wiring.pdf",
        len(body),
        "application/pdf",
    )
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "wiring.pdf" in page and "attached a file" in page
    download = client.get(f"/jobs/{job.id}/files/{record.id}")
    assert download.status_code == 200 and download.data == body
    assert download.headers["Content-Type"] == "application/pdf"
    assert "attachment" in download.headers["Content-Disposition"]
    download.close()


def test_an_attachment_over_the_limit_is_refused_with_a_message(
    client, dispatcher, make_job, app, db, monkeypatch
):
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_MB", 1)
    job = make_job()
    response = client.post_form(
        f"/jobs/{job.id}/attachments",
        {"file": (io.BytesIO(b"x" * (1024 * 1024 + 1)), "big.bin")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "larger than 1 MB" in response.get_data(as_text=True)
    assert db.session.scalar(select(JobFile.id)) is None


def test_technicians_page_shows_sync_state_and_revokes_a_token(client, dispatcher, tech, db):
    from portal.models import utcnow

    tariq = tech("Tariq")
    fresh, _ = devices.issue_token(tariq, "phone-fresh", "android", "2.4.1")
    fresh.last_sync_at = utcnow() - timedelta(minutes=3)
    fresh.unsent_count, fresh.network, fresh.push_token = 2, "4g", "fcm-token"
    old, _ = devices.issue_token(tariq, "phone-old", "ios", "2.3.0")
    old.last_sync_at = utcnow() - timedelta(hours=30)
    db.session.commit()
    html = client.get("/technicians").get_data(as_text=True)
    assert "3 min ago" in html and "2 unsent" in html and "4g" in html and "2.4.1" in html
    assert "no push token" in html
    assert f'class="device stale" data-device-id="{old.id}"' in html
    assert f'class="device" data-device-id="{fresh.id}"' in html
    response = client.post_form(f"/technicians/devices/{fresh.id}/revoke")
    assert response.status_code == 302
    db.session.expire_all()
    device = db.session.get(Device, fresh.id)
    assert device.token_hash is None and device.revoked_at is not None


def test_day_board_puts_jobs_in_technician_rows_and_an_unassigned_lane(
    client, dispatcher, tech, make_job, nine_am
):
    tariq = tech("Tariq")
    mine = make_job("Boiler service", assignee=tariq)
    free = make_job("Fix radiator")
    html = client.get(f"/board?day={nine_am.date().isoformat()}").get_data(as_text=True)
    # Each lane runs from its data-tech-id to the next lane's.
    lanes = {
        part.split('"', 2)[1]: part.split("</section>", 1)[0]
        for part in html.split("data-tech-id=")[1:]
        if part[0] == '"'
    }
    assert f'data-job-id="{mine.id}"' in lanes[str(tariq.id)]
    assert f'data-job-id="{free.id}"' in lanes[""]
    assert f'data-job-id="{free.id}"' not in lanes[str(tariq.id)]
    other_day = client.get(f"/board?day={(nine_am + timedelta(days=5)).date().isoformat()}")
    assert f'data-job-id="{mine.id}"' not in other_day.get_data(as_text=True)


def test_dispatch_pages_are_closed_to_signed_out_users(client, make_job):
    job = make_job()
    for url in ("/jobs", f"/jobs/{job.id}", "/board", "/technicians", "/jobs/import", "/jobs/new"):
        assert client.get(url).status_code == 302


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


def test_job_page_shows_device_report_photos_and_who_did_what(
    client, dispatcher, tech, make_job, db
):
    from portal.domain import files
    from portal.domain import jobs as job_ops
    from portal.models import FileKind

    tariq = tech("Tariq Technician")
    job = make_job("Boiler service", assignee=tariq)
    phone, _ = devices.issue_token(tariq, "phone-1", "android", "2.4.1")
    on_phone = job_ops.Actor.on_device(tariq, phone)
    job_ops.change_status(job, "started", on_phone)
    job_ops.update_report(job, {"resolution": "Replaced the valve", "hours": "1.5"}, on_phone)
    photo, _ = files.add_file(
        job, io.BytesIO(PNG), "valve.png", "image/png", FileKind.PHOTO, on_phone
    )
    db.session.commit()
    html = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "Tariq Technician&#39;s device</strong> changed the status" in html
    assert "Tariq Technician&#39;s device</strong> updated the report" in html
    assert "Hours worked" in html and "Replaced the valve" in html
    thumb = f"/jobs/{job.id}/files/{photo.id}?inline=1"
    assert f'<img src="{thumb}"' in html
    image = client.get(thumb)
    assert image.headers["Content-Type"] == "image/png" and image.data == PNG
    assert "inline" in image.headers["Content-Disposition"]
    image.close()
    # Statuses the device may not reach from here are not offered to the dispatcher either.
    assert 'name="to" value="paused"' in html and 'name="to" value="new"' not in html


def test_a_job_on_another_job_path_is_not_served(client, dispatcher, make_job, db):
    from portal.domain import files
    from portal.domain import jobs as job_ops
    from portal.models import FileKind

    one, two = make_job("One"), make_job("Two")
    record, _ = files.add_file(
        one,
        io.BytesIO(b"secret"),
        "a.txt",
        "text/plain",
        FileKind.ATTACHMENT,
        job_ops.Actor.portal(dispatcher),
    )
    db.session.commit()
    assert client.get(f"/jobs/{two.id}/files/{record.id}").status_code == 404


def test_job_list_queries_do_not_grow_with_the_rows_shown(client, dispatcher, tech, make_job, db):
    from sqlalchemy import event

    def statements_for_list() -> int:
        seen = []
        # The company's time zone is read once per process every few seconds, not per row.
        listener = lambda *args: "company_settings" in args[2] or seen.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get("/jobs").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    techs = [tech(f"T{i}") for i in range(6)]
    make_job("first", assignee=techs[0])
    few = statements_for_list()
    for i in range(30):
        make_job(f"job {i}", assignee=techs[i % 6])
    assert statements_for_list() == few
