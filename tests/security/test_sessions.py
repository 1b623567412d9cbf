"""Sessions end when they should: sign-out, a password change, deactivation."""

from __future__ import annotations

import subprocess

import pytest
from sqlalchemy import select

from portal import config as settings
from portal.domain import accounts
from portal.models import Device
from tests.conftest import ROOT, PortalClient
from tests.security.conftest import IsolatedClient


def _signed_in(app, user, remember=False) -> PortalClient:
    client = _browser(app)
    data = {"email": user.email, "password": "password123"}
    if remember:
        data["remember"] = "y"
    resp = client.post_form("/login", data)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return client


def _cookie(client, name):
    cookie = client.get_cookie(name)
    assert cookie is not None, name
    return cookie.value


def _browser(app) -> PortalClient:
    return PortalClient(IsolatedClient(app, app.response_class, use_cookies=True))


def _replay(app, **cookies):
    """A new browser that holds nothing but the given cookies."""
    other = _browser(app)
    for name, value in cookies.items():
        other.set_cookie(name, value)
    return other


def test_a_replayed_session_cookie_is_dead_after_sign_out(app, make_user):
    admin = make_user("admin")
    client = _signed_in(app, admin)
    stolen = _cookie(client, "session")
    assert _replay(app, session=stolen).get("/inbox/").status_code == 200

    client.post_form("/logout")

    resp = _replay(app, session=stolen).get("/inbox/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_a_remember_cookie_alone_is_dead_after_sign_out(app, make_user):
    admin = make_user("admin")
    client = _signed_in(app, admin, remember=True)
    remember = _cookie(client, "remember_token")
    assert _replay(app, remember_token=remember).get("/inbox/").status_code == 200

    client.post_form("/logout")

    resp = _replay(app, remember_token=remember).get("/inbox/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_sign_out_ends_the_users_other_sessions_too(app, make_user):
    user = make_user("dispatcher")
    laptop, phone = _signed_in(app, user), _signed_in(app, user, remember=True)

    laptop.post_form("/logout")

    assert phone.get("/jobs").status_code == 302


def test_a_password_change_ends_every_session_but_the_one_that_made_it(app, make_user):
    user = make_user("dispatcher")
    here, elsewhere = _signed_in(app, user), _signed_in(app, user, remember=True)
    remember = _cookie(elsewhere, "remember_token")

    page = here.get("/account/password")
    wrong = here.post_form(
        "/account/password",
        {"current": "nope-nope", "new": "a-new-password", "confirm": "a-new-password"},
    )
    changed = here.post_form(
        "/account/password",
        {"current": "password123", "new": "a-new-password", "confirm": "a-new-password"},
    )

    assert page.status_code == 200
    assert wrong.status_code == 422 and "current password" in wrong.get_data(as_text=True)
    assert changed.status_code == 302
    assert here.get("/jobs").status_code == 200
    assert elsewhere.get("/jobs").status_code == 302
    assert _replay(app, remember_token=remember).get("/jobs").status_code == 302
    assert _signed_in_with(app, user.email, "a-new-password")


def _signed_in_with(app, email, password) -> bool:
    client = _browser(app)
    return client.post_form("/login", {"email": email, "password": password}).status_code == 302


def test_a_technicians_password_change_signs_their_devices_out(app, sign_in, db):
    phone = sign_in()
    phone.put("/api/v1/device/push-token", json={"push_token": "fcm-x"})

    accounts.change_password(phone.technician, "another-password")
    db.session.commit()

    assert phone.get("/api/v1/sync/pull").status_code == 401
    assert db.session.scalar(select(Device)).push_token is None


def test_deactivation_ends_sessions_and_devices_and_reactivation_needs_a_new_sign_in(
    app, make_user, sign_in, db
):
    user = make_user("dispatcher")
    session = _signed_in(app, user, remember=True)
    remember = _cookie(session, "remember_token")
    phone = sign_in()
    phone.put("/api/v1/device/push-token", json={"push_token": "fcm-y"})
    admin = _signed_in(app, make_user("admin"))

    for target in (phone.technician, user):
        switched = admin.post_form(f"/admin/users/{target.id}/active", {"active": "0"})
        assert switched.status_code == 302

    assert session.get("/jobs").status_code == 302
    assert _replay(app, remember_token=remember).get("/jobs").status_code == 302
    db.session.rollback()  # the phone's requests share this session: see what was committed
    assert phone.get("/api/v1/sync/pull").status_code == 401
    device = db.session.scalar(select(Device))
    assert device.push_token is None and device.revoked_at is not None
    assert not _signed_in_with(app, user.email, "password123")
    assert "deactivated" in admin.get(f"/admin/technicians/{phone.technician.id}/rights").text

    assert admin.post_form(f"/admin/users/{user.id}/active", {"active": "1"}).status_code == 302
    assert session.get("/jobs").status_code == 302  # reactivation restores no old session
    assert _signed_in_with(app, user.email, "password123")


def test_an_admin_cannot_switch_off_themselves_or_an_equal(app, make_user):
    admin, other = make_user("admin"), make_user("admin")
    client = _signed_in(app, admin)

    assert client.post_form(f"/admin/users/{admin.id}/active", {"active": "0"}).status_code == 403
    assert client.post_form(f"/admin/users/{other.id}/active", {"active": "0"}).status_code == 403
    assert client.get("/jobs").status_code == 200


def _cli(env, *args):
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_cli_changes_a_password_and_deactivates_a_user(app, db, base_env, make_user):
    user = make_user("dispatcher")
    session = _signed_in(app, user)

    changed = _cli(base_env, "users", "password", user.email, "--password", "changed-pass-1")
    assert changed.returncode == 0, changed.stderr
    assert session.get("/jobs").status_code == 302
    assert _signed_in_with(app, user.email, "changed-pass-1")

    off = _cli(base_env, "users", "deactivate", user.email)
    assert off.returncode == 0, off.stderr
    assert not _signed_in_with(app, user.email, "changed-pass-1")
    on = _cli(base_env, "users", "activate", user.email)
    assert on.returncode == 0, on.stderr
    assert _signed_in_with(app, user.email, "changed-pass-1")
    unknown = _cli(base_env, "users", "deactivate", "nobody@example.com")
    assert unknown.returncode != 0 and "No user" in unknown.stderr


@pytest.mark.parametrize("value,secure", [("1", True), ("", False)])
def test_the_remember_cookie_follows_the_secure_setting(app, make_user, monkeypatch, value, secure):
    monkeypatch.setenv("SESSION_COOKIE_SECURE", value)
    loaded = settings.load(app.instance_path)
    assert loaded["SESSION_COOKIE_SECURE"] is secure
    assert loaded["REMEMBER_COOKIE_SECURE"] is secure

    for key in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        monkeypatch.setitem(app.config, key, secure)
    client = _browser(app)
    user = make_user("dispatcher")
    resp = client.post_form(
        "/login", {"email": user.email, "password": "password123", "remember": "y"}
    )
    cookies = [v for k, v in resp.headers.items() if k == "Set-Cookie"]
    for name in ("session=", "remember_token="):
        (header,) = [c for c in cookies if c.startswith(name)]
        assert ("; Secure" in header) is secure, header
        assert "HttpOnly" in header and "SameSite=Lax" in header


def test_the_device_api_neither_takes_nor_sets_the_portal_cookie(app, make_user, sign_in):
    dispatcher = make_user("dispatcher")
    browser = _signed_in(app, dispatcher, remember=True)
    phone = sign_in()

    # The portal's cookies stand for nobody under /api/ ...
    refused = browser.get("/api/v1/sync/pull")
    assert refused.status_code == 401 and refused.get_json()["error"] == "unauthenticated"
    # ... and a phone's answers never set one, even to a client that sent them.
    for name in ("session", "remember_token"):
        phone.client.set_cookie(name, _cookie(browser, name))
    answer = phone.get("/api/v1/sync/pull")
    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers
    # The portal itself still knows the browser.
    assert browser.get("/jobs").status_code == 200
