"""Photos up, attachments down: idempotent uploads, ranged and conditional downloads."""

from __future__ import annotations

import hashlib
import io

from sqlalchemy import func, select

from portal.domain import files as file_ops
from portal.domain.jobs import Actor
from portal.models import FileKind, JobFile

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


def upload(phone, job_id, body=PNG, file_id="photo-1", sha=None, content_type="image/png"):
    return phone.post(
        "/api/v1/files",
        data={
            "job_id": str(job_id),
            "file_id": file_id,
            "sha256": sha or hashlib.sha256(body).hexdigest(),
            "file": (io.BytesIO(body), "site.png", content_type),
        },
        content_type="multipart/form-data",
    )


def test_a_photo_uploaded_twice_is_stored_once(sign_in, make_job, db):
    phone = sign_in()
    job = make_job(phone.technician)

    first = upload(phone, job.id)
    second = upload(phone, job.id)

    assert first.status_code == 201 and second.status_code == 200
    assert first.get_json()["id"] == second.get_json()["id"]
    assert second.get_json()["created"] is False
    assert db.session.scalar(select(func.count()).select_from(JobFile)) == 1
    doc = phone.pull()["jobs"][0]
    assert [p["sha256"] for p in doc["photos"]] == [hashlib.sha256(PNG).hexdigest()]


def test_upload_refusals_are_json_4xx(sign_in, make_job, make_user):
    phone = sign_in()
    job = make_job(phone.technician)
    foreign = make_job(make_user("technician"))

    damaged = upload(phone, job.id, sha="0" * 64)
    not_image = upload(phone, job.id, file_id="doc", content_type="application/pdf")
    not_mine = upload(phone, foreign.id, file_id="x")
    bad_id = upload(phone, job.id, file_id="../../etc")
    reused = upload(phone, job.id, file_id="photo-1")
    other_body = upload(phone, job.id, body=PNG + b"!", file_id="photo-1")

    assert damaged.status_code == 422 and damaged.get_json()["field"] == "sha256"
    assert not_image.status_code == 415
    assert not_mine.status_code == 404
    assert bad_id.status_code == 422 and bad_id.get_json()["field"] == "file_id"
    assert reused.status_code == 201
    assert other_body.status_code == 409


def test_a_technician_without_the_photo_right_is_refused(sign_in, make_job):
    phone = sign_in(rights=[])
    job = make_job(phone.technician)
    resp = upload(phone, job.id)
    assert resp.status_code == 403 and resp.is_json


def test_an_oversized_photo_is_413_json(sign_in, make_job, app, monkeypatch):
    phone = sign_in()
    job = make_job(phone.technician)
    monkeypatch.setitem(app.config, "PHOTO_MAX_BYTES", 1024)
    resp = upload(phone, job.id, body=b"x" * 200_000)
    assert resp.status_code == 413 and resp.is_json


def _attach(db, job, dispatcher, body: bytes) -> JobFile:
    record, _ = file_ops.add_file(
        job, io.BytesIO(body), "manual.pdf", "application/pdf", FileKind.ATTACHMENT,
        Actor.portal(dispatcher),
    )  # fmt: skip
    db.session.commit()
    return record


def test_a_range_download_resumes_and_the_etag_saves_a_second_download(
    sign_in, make_job, dispatcher, db
):
    phone = sign_in()
    job = make_job(phone.technician)
    body = bytes(range(256)) * 100
    record = _attach(db, job, dispatcher, body)
    url = f"/api/v1/files/{record.id}"
    meta = phone.pull()["jobs"][0]["attachments"][0]
    assert meta == record.to_meta()

    head = phone.get(url, headers={"Range": "bytes=0-9999"})
    rest = phone.get(url, headers={"Range": "bytes=10000-"})
    whole = phone.get(url)
    unchanged = phone.get(url, headers={"If-None-Match": whole.headers["ETag"]})
    beyond = phone.get(url, headers={"Range": f"bytes={len(body) + 10}-"})

    assert head.status_code == 206 and len(head.data) == 10000
    assert rest.status_code == 206
    assert rest.headers["Content-Range"] == f"bytes 10000-{len(body) - 1}/{len(body)}"
    assert head.data + rest.data == body
    assert hashlib.sha256(head.data + rest.data).hexdigest() == meta["sha256"]
    assert whole.status_code == 200 and whole.headers["ETag"] == f'"{meta["sha256"]}"'
    assert unchanged.status_code == 304
    assert beyond.status_code == 416 and beyond.is_json
    assert beyond.headers["Content-Range"] == f"bytes */{len(body)}"
    for resp in (head, rest, whole, unchanged, beyond):
        resp.close()  # a WSGI server closes the file; the test client leaves it to us


def test_another_technicians_file_is_not_found(sign_in, make_job, make_user, dispatcher, db):
    phone = sign_in()
    foreign = make_job(make_user("technician"))
    record = _attach(db, foreign, dispatcher, b"secret plans")

    resp = phone.get(f"/api/v1/files/{record.id}")
    missing = phone.get("/api/v1/files/987654")

    assert resp.status_code == 404 and resp.get_json()["error"] == "not_found"
    assert missing.status_code == 404


def test_odd_job_ids_and_file_names_never_break_an_upload(sign_in, make_job):
    phone = sign_in()
    job = make_job(phone.technician)
    superscript = upload(phone, "²")
    body = PNG + b"odd"
    odd_name = phone.post(
        "/api/v1/files",
        data={
            "job_id": str(job.id),
            "file_id": "odd-1",
            "sha256": hashlib.sha256(body).hexdigest(),
            "file": (io.BytesIO(body), "x" * 300 + ".png", "image/png"),
        },
        content_type="multipart/form-data",
    )
    assert superscript.status_code == 422 and superscript.get_json()["field"] == "job_id"
    assert odd_name.status_code == 201 and odd_name.get_json()["name"] == "odd-1.jpg"
