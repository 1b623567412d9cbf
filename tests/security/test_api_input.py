"""Hostile or odd input to the device API: a clear JSON 4xx, never a 500, nothing half-stored."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from portal.models import InboxMessage
from tests.api.conftest import action


def _count(db) -> int:
    return db.session.scalar(select(func.count(InboxMessage.id)))


@pytest.mark.parametrize("bad_type", [{}, [], ["note"], 3, None, True])
def test_an_action_with_a_non_string_type_is_rejected_alone(sign_in, make_job, db, bad_type):
    phone = sign_in()
    job = make_job(phone.technician)
    good = action(job.id, seq=1)
    bad = action(job.id, seq=2, type_="note")
    bad["type"] = bad_type

    resp = phone.push([good, bad])

    assert resp.status_code == 200, resp.get_data(as_text=True)
    first, second = resp.get_json()["results"]
    assert first["state"] == "accepted"
    assert second["state"] == "rejected" and second["field"] == "type"
    assert _count(db) == 1


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_deeply_nested_json_is_a_400_on_push_sign_in_and_push_token(sign_in, app, db):
    phone = sign_in()
    deep_push = '{"actions": [{"payload": ' + _nested(2000) + "}]}"
    deeper_push = '{"actions": [{"payload": ' + _nested(100_000) + "}]}"
    deep_auth = '{"email": "a@example.com", "password": ' + _nested(2000) + "}"

    pushed = phone.post("/api/v1/sync/push", data=deep_push, content_type="application/json")
    deeper = phone.post("/api/v1/sync/push", data=deeper_push, content_type="application/json")
    signed = app.test_client().post(
        "/api/v1/auth/device", data=deep_auth, content_type="application/json"
    )
    token = phone.put(
        "/api/v1/device/push-token",
        data='{"push_token": ' + _nested(2000) + "}",
        content_type="application/json",
    )

    for resp in (pushed, deeper, signed, token):
        assert resp.status_code == 400, resp.get_data(as_text=True)
        body = resp.get_json()
        assert body["error"] == "too_deep" and "levels deep" in body["message"]
    assert _count(db) == 0


def test_nesting_inside_strings_does_not_count(sign_in, make_job, db):
    phone = sign_in()
    job = make_job(phone.technician)
    note = action(job.id, payload={"text": "[" * 5000 + '{"\\"' + "}" * 10})

    resp = phone.push([note])

    assert resp.status_code == 200
    assert resp.get_json()["results"][0]["state"] == "accepted"


def test_a_large_sign_in_body_is_413_before_it_is_read(app):
    body = json.dumps({"email": "a@example.com", "password": "x" * 200_000, "device_id": "d"})
    resp = app.test_client().post("/api/v1/auth/device", data=body, content_type="application/json")
    assert resp.status_code == 413 and resp.get_json()["error"] == "request_entity_too_large"


def test_invalid_utf8_json_is_a_400(sign_in):
    phone = sign_in()
    resp = phone.post("/api/v1/sync/push", data=b'{"actions": ["\xff"]}',
                      content_type="application/json")  # fmt: skip
    assert resp.status_code == 400 and resp.get_json()["error"] == "malformed"


def test_push_token_must_be_present_but_may_be_null(sign_in):
    phone = sign_in()
    empty = phone.put("/api/v1/device/push-token", json={})
    cleared = phone.put("/api/v1/device/push-token", json={"push_token": None})

    assert empty.status_code == 422 and empty.get_json()["field"] == "push_token"
    assert cleared.status_code == 200


@pytest.mark.parametrize("name", ["limit", "unsent_count", "network"])
def test_an_empty_query_parameter_is_refused_as_the_schema_says(sign_in, name):
    phone = sign_in()
    resp = phone.get("/api/v1/sync/pull", query_string={name: ""})
    assert resp.status_code == 400 and resp.get_json()["field"] == name


def test_more_actions_than_the_schema_allows_is_422_and_stores_nothing(sign_in, make_job, app, db):
    phone = sign_in()
    job = make_job(phone.technician)
    batch = [action(job.id, seq=i + 1) for i in range(201)]

    resp = phone.push(batch)
    schema = app.test_client().get("/api/v1/openapi.json").get_json()
    body = schema["paths"]["/sync/push"]["post"]["requestBody"]["content"]["application/json"]

    assert body["schema"]["properties"]["actions"]["maxItems"] == 200
    assert resp.status_code == 422
    assert resp.get_json()["error"] == "too_many_actions"
    assert resp.get_json()["field"] == "actions"
    assert _count(db) == 0
