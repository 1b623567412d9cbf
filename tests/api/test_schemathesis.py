"""Property-based run of the whole device API against its own OpenAPI document.

Schemathesis generates valid and invalid requests for every operation, sends them with a
signed-in device's token, and fails on any 5xx, any answer the document does not describe,
any schema-violating request the API accepts, any error that is not JSON
``{error, message}``, and any refused request that left something written.
Run alone: ``FIELDSYNC_TEST_DB=sqlite .venv/bin/python -m pytest tests/api/test_schemathesis.py``.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.parameters import ParameterLocation
from sqlalchemy import func, select

from portal.models import Device, InboxMessage, JobFile

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


OPERATIONS = [
    "POST /auth/device",
    "PUT /device/push-token",
    "GET /sync/pull",
    "POST /sync/push",
    "POST /files",
    "GET /files/{file_id}",
    "GET /openapi.json",
]


@pytest.fixture
def device_headers(sign_in, make_job, app, monkeypatch):
    # Hundreds of sign-ins from one address: the throttle would answer most of them 429.
    for key in ("LOGIN_MAX_FAILURES", "LOGIN_ACCOUNT_MAX_FAILURES", "LOGIN_CLIENT_MAX_FAILURES"):
        monkeypatch.setitem(app.config, key, 100_000)
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "100000 per minute")
    phone = sign_in()
    # Give the generated ids something real to hit: jobs 1..n exist and are this device's.
    for _ in range(3):
        make_job(phone.technician)
    return phone.headers


def _headers_negated(case) -> bool:
    """Tell whether this case's invalid part is a header (then its Authorization is left as
    generated: a missing or wrong token is the point of the case)."""
    meta = case.meta
    component = meta.components.get(ParameterLocation.HEADER) if meta is not None else None
    return component is not None and component.mode.is_negative


def _snapshot(db) -> dict:
    db.session.rollback()  # see what the requests committed
    return {
        "inbox": db.session.scalar(select(func.count(InboxMessage.id))),
        "devices": db.session.scalar(select(func.count(Device.id))),
        "files": db.session.scalar(select(func.count(JobFile.id))),
        "push_tokens": sorted(
            (d.id, d.push_token or "") for d in db.session.scalars(select(Device))
        ),
    }


def _check_error_body(response) -> None:
    """Every refusal is JSON {error, message, field?} with strings."""
    if response.status_code < 400:
        return
    body = json.loads(response.text)
    assert isinstance(body, dict), body
    assert isinstance(body.get("error"), str) and body["error"], body
    assert isinstance(body.get("message"), str) and body["message"], body
    assert set(body) <= {"error", "message", "field"}, body


def _check_nothing_half_written(label: str, response, before: dict, after: dict) -> None:
    """A refused request changes nothing; an accepted batch stores exactly what it accepted."""
    ok = response.status_code < 300
    if label == "POST /sync/push":
        accepted = 0
        if ok:
            results = response.json()["results"]
            accepted = sum(r["state"] == "accepted" for r in results)
        assert after["inbox"] - before["inbox"] == accepted, (before, after)
    if not ok:
        assert after == before, (label, response.status_code, before, after)


@pytest.mark.parametrize("label", OPERATIONS)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_error_and_no_answer_outside_the_schema(app, db, device_headers, label, mode):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    schema.config.generation.update(allow_x00=True)
    operation = schema.find_operation_by_label(label)
    assert operation is not None, label
    if mode is GenerationMode.NEGATIVE and label == "GET /openapi.json":
        pytest.skip("the schema document takes no input to get wrong")

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=120,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def exchange(case):
        # The device's real token wins over any generated Authorization header, so the
        # generated input reaches the code behind authentication.
        headers = dict(case.headers or {})
        if not _headers_negated(case):
            headers.update(device_headers)
        before = _snapshot(db)
        response = case.call(headers=headers)
        after = _snapshot(db)
        statuses.append(response.status_code)
        case.validate_response(response, checks=CHECKS)
        _check_error_body(response)
        _check_nothing_half_written(label, response, before, after)

    statuses: list[int] = []
    exchange()
    # The run must have got past authentication, not merely collected 401s.
    assert any(code != 401 for code in statuses), statuses
    if mode is GenerationMode.POSITIVE and label in ("GET /sync/pull", "POST /sync/push"):
        assert 200 in statuses, statuses
