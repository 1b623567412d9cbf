"""Device sign-in, tokens, push tokens, and JSON errors for everything under /api/."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.models import Device, utcnow


def test_sign_in_gives_a_token_that_opens_the_api(app, make_user):
    tech = make_user("technician")
    client = app.test_client()
    body = {"email": tech.email, "password": "password123", "device_id": "p1"}

    resp = client.post("/api/v1/auth/device", json=body)

    assert resp.status_code == 200
    data = resp.get_json()
    assert data["technician"]["id"] == tech.id and data["technician"]["email"] == tech.email
    pull = client.get("/api/v1/sync/pull", headers={"Authorization": f"Bearer {data['token']}"})
    assert pull.status_code == 200


def test_wrong_password_is_401_and_repeated_failures_are_throttled(app, make_user):
    tech = make_user("technician")
    client = app.test_client()
    body = {"email": tech.email, "password": "wrong", "device_id": "p1"}
    codes = [client.post("/api/v1/auth/device", json=body).status_code for _ in range(6)]
    assert codes[0] == 401 and codes[-1] == 429
    last = client.post("/api/v1/auth/device", json=dict(body, password="password123"))
    assert last.status_code == 429 and int(last.headers["Retry-After"]) > 0
    assert last.get_json()["error"] == "throttled"


def test_office_staff_cannot_sign_in_on_a_device(app, make_user):
    user = make_user("dispatcher")
    resp = app.test_client().post(
        "/api/v1/auth/device",
        json={"email": user.email, "password": "password123", "device_id": "p1"},
    )
    assert resp.status_code == 403 and resp.is_json


def test_bad_missing_and_revoked_tokens_are_401_json(sign_in, db):
    from portal.domain import devices

    phone = sign_in()
    no_token = phone.client.get("/api/v1/sync/pull")
    bad = phone.client.get("/api/v1/sync/pull", headers={"Authorization": "Bearer nope"})
    row = db.session.scalar(select(Device))
    devices.revoke(row)
    db.session.commit()
    revoked = phone.get("/api/v1/sync/pull")

    for resp in (no_token, bad, revoked):
        assert resp.status_code == 401 and resp.is_json
        assert set(resp.get_json()) >= {"error", "message"}


def test_last_seen_is_written_at_most_once_a_minute(sign_in, db):
    phone = sign_in()
    row = db.session.scalar(select(Device))
    stale = utcnow() - timedelta(minutes=5)
    row.last_seen_at = stale
    db.session.commit()

    phone.pull()
    db.session.refresh(row)
    seen = row.last_seen_at
    assert seen > stale
    phone.pull()
    db.session.refresh(row)
    assert row.last_seen_at == seen


def test_push_token_is_registered_and_taken_from_a_stale_install(sign_in, db):
    tech_phone = sign_in()
    reinstall = sign_in(technician=tech_phone.technician)
    assert (
        tech_phone.put("/api/v1/device/push-token", json={"push_token": "fcm-1"}).status_code == 200
    )
    assert (
        reinstall.put("/api/v1/device/push-token", json={"push_token": "fcm-1"}).status_code == 200
    )
    rows = {d.device_id: d.push_token for d in db.session.scalars(select(Device))}
    assert rows == {tech_phone.device_id: None, reinstall.device_id: "fcm-1"}
    bad = reinstall.put("/api/v1/device/push-token", json={"push_token": 5})
    assert bad.status_code == 422 and bad.get_json()["field"] == "push_token"


def test_errors_under_api_are_json_never_html(sign_in):
    phone = sign_in()
    unknown = phone.get("/api/v1/nothing-here")
    wrong_method = phone.client.delete("/api/v1/sync/pull", headers=phone.headers)
    form_body = phone.post("/api/v1/sync/push", data={"actions": "x"})
    bad_limit = phone.get("/api/v1/sync/pull?limit=100000")
    nul = phone.client.post(
        "/api/v1/auth/device",
        json={"email": "a\x00@example.com", "password": "x", "device_id": "d"},
    )
    for resp, code in (
        (unknown, 404),
        (wrong_method, 405),
        (form_body, 415),
        (bad_limit, 400),
        (nul, 422),
    ):
        assert resp.status_code == code, (resp.status_code, resp.data[:200])
        assert resp.is_json and "error" in resp.get_json() and "message" in resp.get_json()


def test_an_idle_token_expires_and_a_former_technician_is_shut_out(sign_in, db, app):
    phone, other = sign_in(), sign_in()
    row = db.session.scalar(select(Device).where(Device.device_id == phone.device_id))
    idle = app.config["DEVICE_TOKEN_IDLE_DAYS"]
    row.last_seen_at = utcnow() - timedelta(days=idle + 1)
    other.technician.role = "dispatcher"
    db.session.commit()

    assert phone.get("/api/v1/sync/pull").status_code == 401
    assert other.get("/api/v1/sync/pull").status_code == 401
