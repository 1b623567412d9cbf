"""The OpenAPI document tells the truth: real answers of every route validate against it."""

from __future__ import annotations

import hashlib
import io

import pytest
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse

from portal.domain import files as file_ops
from portal.domain import jobs
from portal.domain.jobs import Actor
from portal.models import FileKind
from tests.api.conftest import action


@pytest.fixture
def spec(app):
    resp = app.test_client().get("/api/v1/openapi.json")
    assert resp.status_code == 200
    return OpenAPI.from_dict(resp.get_json())


class _SentRequest(WerkzeugOpenAPIRequest):
    """The request as sent: its body stream was read by the app, and is not needed here."""

    @property
    def body(self) -> bytes:
        return b""


def check(spec, resp):
    """Validate one real request/response pair against the document."""
    resp.get_data()  # buffer a streamed file answer, so close() still closes the file
    request = _SentRequest(resp.request)
    spec.validate_response(request, WerkzeugOpenAPIResponse(resp))
    return resp


def test_every_route_answers_as_documented(spec, app, sign_in, make_job, dispatcher, db):
    phone = sign_in()
    job = make_job(phone.technician)
    jobs.update_report(job, {"hours": 2}, Actor.portal(dispatcher))
    record, _ = file_ops.add_file(
        job, io.BytesIO(b"%PDF-1.4 manual"), "manual.pdf", "application/pdf",
        FileKind.ATTACHMENT, Actor.portal(dispatcher),
    )  # fmt: skip
    db.session.commit()
    client = app.test_client()
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 500
    a = action(job.id)
    answers = [
        client.post(
            "/api/v1/auth/device",
            json={"email": phone.technician.email, "password": "password123", "device_id": "z"},
        ),
        client.post(
            "/api/v1/auth/device",
            json={"email": "x@example.com", "password": "no", "device_id": "z"},
        ),  # fmt: skip
        client.post("/api/v1/auth/device", json={"email": 3}),
        phone.put("/api/v1/device/push-token", json={"push_token": "fcm"}),
        phone.put("/api/v1/device/push-token", json={"push_token": None}),
        phone.get("/api/v1/sync/pull"),
        phone.get("/api/v1/sync/pull", query_string={"limit": 1, "network": "wifi"}),
        phone.get("/api/v1/sync/pull", query_string={"cursor": "forged"}),
        client.get("/api/v1/sync/pull"),
        phone.push([a, a, action(job.id, id="nope")], unsent_count=1, network="edge"),
        phone.push([dict(a, payload={"x": 1})]),
        phone.post("/api/v1/sync/push", data="[]", content_type="application/json"),
        phone.post(
            "/api/v1/files",
            data={
                "job_id": str(job.id),
                "file_id": "p1",
                "file": (io.BytesIO(png), "a.png"),
                "sha256": hashlib.sha256(png).hexdigest(),
            },
            content_type="multipart/form-data",
        ),  # fmt: skip
        phone.post("/api/v1/files", data={"job_id": "x"}, content_type="multipart/form-data"),
        phone.get(f"/api/v1/files/{record.id}"),
        phone.get(f"/api/v1/files/{record.id}", headers={"Range": "bytes=2-5"}),
        phone.get(f"/api/v1/files/{record.id}", headers={"Range": "bytes=900-"}),
        phone.get("/api/v1/files/424242"),
    ]
    codes = [check(spec, r).status_code for r in answers]
    for r in answers:
        r.close()
    assert codes == [200, 401, 422, 200, 200, 200, 200, 400, 401, 200, 200, 400, 201, 422,
                     200, 206, 416, 404]  # fmt: skip
    pulled = answers[5].get_json()["jobs"][0]
    assert pulled["report"] == {"hours": 2.0} or pulled["report"] == {"hours": 2}
    assert pulled["attachments"][0]["id"] == record.id
