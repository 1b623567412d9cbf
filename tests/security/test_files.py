"""Files are private and never run as active content: cache, sniffing, inline or not, Range."""

from __future__ import annotations

import io

import pytest

from portal.domain import files as file_ops
from portal.domain.jobs import Actor
from portal.models import FileKind

BODY = bytes(range(256)) * 20


def _attach(db, job, dispatcher, name="manual.pdf", content_type="application/pdf", body=BODY):
    record, _ = file_ops.add_file(
        job, io.BytesIO(body), name, content_type, FileKind.ATTACHMENT, Actor.portal(dispatcher)
    )
    db.session.commit()
    return record


def _portal_client(app, dispatcher):
    from tests.conftest import PortalClient

    client = PortalClient(app.test_client())
    resp = client.post_form("/login", {"email": dispatcher.email, "password": "password123"})
    assert resp.status_code == 302
    return client


def _private_and_nosniff(resp):
    cache = resp.headers.get("Cache-Control", "")
    assert "public" not in cache and ("private" in cache or "no-store" in cache), cache
    assert "Expires" not in resp.headers
    assert resp.headers.get("X-Content-Type-Options") == "nosniff"


ACTIVE = [
    ("page.html", "text/html"),
    ("drawing.svg", "image/svg+xml"),
    ("data.xml", "application/xml"),
    ("data.xml", "text/xml"),
    ("run.js", "text/javascript"),
    ("run.js", "application/javascript"),
    ("page.xhtml", "application/xhtml+xml"),
    ("doc.pdf", "application/pdf"),
]


@pytest.mark.parametrize("name,content_type", ACTIVE)
def test_active_content_downloads_as_an_attachment_on_the_api_and_the_portal(
    app, sign_in, make_job, dispatcher, db, name, content_type
):
    phone = sign_in()
    job = make_job(phone.technician)
    record = _attach(db, job, dispatcher, name, content_type, b"<script>alert(1)</script>")
    portal = _portal_client(app, dispatcher)

    api = phone.get(f"/api/v1/files/{record.id}")
    page = portal.get(f"/jobs/{job.id}/files/{record.id}")
    inline = portal.get(f"/jobs/{job.id}/files/{record.id}?inline=1")

    for resp in (api, page, inline):
        assert resp.status_code == 200
        assert resp.headers["Content-Disposition"].startswith("attachment"), resp.headers
        _private_and_nosniff(resp)
        resp.close()


def test_a_photo_shows_inline_and_is_still_private(app, sign_in, make_job, dispatcher, db):
    phone = sign_in()
    job = make_job(phone.technician)
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    record = _attach(db, job, dispatcher, "site.png", "image/png", png)
    portal = _portal_client(app, dispatcher)

    api = phone.get(f"/api/v1/files/{record.id}")
    page = portal.get(f"/jobs/{job.id}/files/{record.id}?inline=1")

    for resp in (api, page):
        assert resp.status_code == 200 and resp.data == png
        assert resp.headers["Content-Disposition"].startswith("inline")
        _private_and_nosniff(resp)
        resp.close()


@pytest.mark.parametrize(
    "range_header",
    ["bytes=0-9,20-29", "bytes=0-1,5-", "items=0-5", "bytes=abc", "bytes=9-1", "garbage", "bytes="],
)
def test_a_multi_range_or_garbage_range_gets_the_whole_file(
    app, sign_in, make_job, dispatcher, db, range_header
):
    phone = sign_in()
    job = make_job(phone.technician)
    record = _attach(db, job, dispatcher)
    portal = _portal_client(app, dispatcher)

    api = phone.get(f"/api/v1/files/{record.id}", headers={"Range": range_header})
    page = portal.get(f"/jobs/{job.id}/files/{record.id}", headers={"Range": range_header})

    for resp in (api, page):
        assert resp.status_code == 200, (range_header, resp.status_code)
        assert resp.data == BODY
        resp.close()


def test_one_range_still_works_and_one_beyond_the_end_is_416(
    app, sign_in, make_job, dispatcher, db
):
    phone = sign_in()
    job = make_job(phone.technician)
    record = _attach(db, job, dispatcher)
    portal = _portal_client(app, dispatcher)
    url = f"/api/v1/files/{record.id}"

    part = phone.get(url, headers={"Range": "bytes=10-19"})
    page_part = portal.get(f"/jobs/{job.id}/files/{record.id}", headers={"Range": "bytes=10-19"})
    beyond = phone.get(url, headers={"Range": f"bytes={len(BODY) + 1}-"})

    assert part.status_code == 206 and part.data == BODY[10:20]
    assert page_part.status_code == 206 and page_part.data == BODY[10:20]
    _private_and_nosniff(part)
    assert beyond.status_code == 416 and beyond.get_json()["error"] == "range_not_satisfiable"
    for resp in (part, page_part, beyond):
        resp.close()
