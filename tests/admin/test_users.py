"""User administration over HTTP: who may do what, what each change does, and its record."""

from __future__ import annotations

import re
import subprocess
import threading
import time

import pytest
from sqlalchemy import select, text

from portal.domain import user_admin
from portal.domain.accounts import AccountError
from portal.models import Device, TechnicianRight, User, UserAudit
from tests.api.conftest import sign_in  # noqa: F401  (the fixture: a phone signed in)
from tests.conftest import BACKEND, ROOT, PortalClient
from tests.security.conftest import IsolatedClient


def browser(app, user=None, password: str = "password123") -> PortalClient:
    """A browser of its own (cookies, request contexts), signed in as ``user`` if given."""
    client = PortalClient(IsolatedClient(app, app.response_class, use_cookies=True))
    if user is not None:
        resp = client.post_form("/login", {"email": user.email, "password": password})
        assert resp.status_code == 302, resp.get_data(as_text=True)
    return client


def signs_in(app, email: str, password: str) -> bool:
    resp = browser(app).post_form("/login", {"email": email, "password": password})
    return resp.status_code == 302


def fresh(db, model, id_):
    db.session.rollback()  # the requests committed in their own sessions
    return db.session.get(model, id_)


def history(db, user) -> list[tuple[str, int | None]]:
    db.session.rollback()
    rows = db.session.scalars(
        select(UserAudit).where(UserAudit.user_id == user.id).order_by(UserAudit.id)
    )
    return [(r.action, r.actor_id) for r in rows]


def test_only_admins_open_the_user_pages_and_nobody_posts_without_the_form_token(
    app, make_user, db
):
    tech = make_user("technician")
    dispatcher = browser(app, make_user("dispatcher"))
    for path in ("/admin/users", "/admin/users/new", f"/admin/users/{tech.id}"):
        assert dispatcher.get(path).status_code == 403
    refused = dispatcher.post_form(f"/admin/users/{tech.id}/active", {"active": "0"})
    assert refused.status_code == 403
    assert fresh(db, User, tech.id).active

    admin = browser(app, make_user("admin"))
    assert admin.get("/admin/users").status_code == 200
    no_token = admin.raw.post(f"/admin/users/{tech.id}/active", data={"active": "0"})
    assert no_token.status_code == 400 and "expired" in no_token.get_data(as_text=True)
    no_token = admin.raw.post(
        "/admin/users/new",
        data={"email": "x@example.com", "role": "technician", "password": "long-enough"},
    )
    assert no_token.status_code == 400
    assert fresh(db, User, tech.id).active
    assert db.session.scalar(select(User).where(User.email == "x@example.com")) is None


def test_an_admin_adds_a_technician_who_can_then_sign_in_on_a_phone(app, make_user, db):
    me = make_user("admin", name="Adam Admin")
    admin = browser(app, me)
    resp = admin.post_form(
        "/admin/users/new",
        {
            "email": "  Nina@Example.com ",
            "name": "Nina Notes",
            "role": "technician",
            "password": "first-pass-1",
        },
    )
    assert resp.status_code == 302, resp.location
    db.session.rollback()
    nina = db.session.scalar(select(User).where(User.email == "nina@example.com"))
    assert nina.role == "technician" and nina.name == "Nina Notes"
    assert (
        len(
            db.session.scalars(
                select(TechnicianRight).where(TechnicianRight.user_id == nina.id)
            ).all()
        )
        == 4
    )
    phone = app.test_client().post(
        "/api/v1/auth/device",
        json={"email": "nina@example.com", "password": "first-pass-1", "device_id": "p1"},
    )
    assert phone.status_code == 200
    assert history(db, nina) == [("created", me.id)]
    page = admin.get(f"/admin/users/{nina.id}").get_data(as_text=True)
    assert "added as technician" in page and "by Adam Admin" in page
    listing = admin.get("/admin/users").get_data(as_text=True)
    assert "Nina Notes" in listing and "nina@example.com" in listing


def test_bad_input_shows_in_the_form_and_adds_no_one(app, make_user, db):
    taken = make_user("dispatcher")
    admin = browser(app, make_user("admin"))
    cases = [
        ({"email": "not an email", "role": "dispatcher", "password": "long-enough"}, "email"),
        ({"email": "a@example.com", "role": "dispatcher", "password": "short"}, "8 characters"),
        ({"email": taken.email, "role": "dispatcher", "password": "long-enough"}, "already"),
        ({"email": "b@example.com", "role": "wizard", "password": "long-enough"}, "Unknown role"),
        # An admin gives only roles below their own.
        ({"email": "c@example.com", "role": "admin", "password": "long-enough"}, "may not give"),
        ({"email": "d@example.com", "role": "support", "password": "long-enough"}, "may not give"),
    ]
    before = db.session.scalars(select(User.id)).all()
    for form, message in cases:
        resp = admin.post_form("/admin/users/new", form)
        assert resp.status_code == 422, form
        html = resp.get_data(as_text=True)
        assert "field-error" in html and message in html, (form, html)
    db.session.rollback()
    assert db.session.scalars(select(User.id)).all() == before
    assert db.session.scalar(select(UserAudit)) is None


def test_changing_a_role_and_name_is_recorded_and_a_stale_form_is_refused(app, make_user, db):
    me = make_user("admin")
    dana = make_user("dispatcher", name="Dana")
    admin, other_admin = browser(app, me), browser(app, make_user("admin"))
    page = admin.get(f"/admin/users/{dana.id}").get_data(as_text=True)
    seen = re.search(r'name="seen_role" value="([^"]+)"', page).group(1)

    # Another admin makes Dana a technician first; this admin's form still shows dispatcher.
    moved = other_admin.post_form(
        f"/admin/users/{dana.id}/edit",
        {"name": "Dana", "role": "technician", "seen_role": "dispatcher"},
    )
    assert moved.status_code == 302
    stale = admin.post_form(
        f"/admin/users/{dana.id}/edit",
        {"name": "Dana D.", "role": "dispatcher", "seen_role": seen},
    )
    assert stale.status_code == 422
    assert "Someone else changed the role to technician" in stale.get_data(as_text=True)
    dana = fresh(db, User, dana.id)
    assert (dana.role, dana.name) == ("technician", "Dana")
    assert dana.has_right("change_status")  # a new technician may work their jobs

    saved = admin.post_form(
        f"/admin/users/{dana.id}/edit",
        {"name": "Dana D.", "role": "dispatcher", "seen_role": "technician"},
    )
    assert saved.status_code == 302
    dana = fresh(db, User, dana.id)
    assert (dana.role, dana.name) == ("dispatcher", "Dana D.")
    assert [a for a, _ in history(db, dana)] == ["role", "renamed", "role"]
    page = admin.get(f"/admin/users/{dana.id}").get_data(as_text=True)
    assert "role technician → dispatcher" in page and "name “Dana” → “Dana D.”" in page


def test_a_technician_moved_to_the_office_loses_their_phones(app, make_user, sign_in, db):  # noqa: F811
    phone = sign_in()
    assert phone.get("/api/v1/sync/pull").status_code == 200
    admin = browser(app, make_user("admin"))
    tech = phone.technician
    resp = admin.post_form(
        f"/admin/users/{tech.id}/edit",
        {"name": tech.name, "role": "dispatcher", "seen_role": "technician"},
    )
    assert resp.status_code == 302
    db.session.rollback()
    assert phone.get("/api/v1/sync/pull").status_code == 401


def test_admins_manage_only_users_below_them_and_never_themselves(app, make_user, db):
    me, peer, boss = make_user("admin"), make_user("admin"), make_user("support")
    admin = browser(app, me)
    for target in (me, peer, boss):
        for path, form in (
            ("edit", {"name": "x", "role": "dispatcher"}),
            ("password", {"password": "another-pass", "password_again": "another-pass"}),
            ("active", {"active": "0"}),
            ("devices/revoke", {}),
        ):
            resp = admin.post_form(f"/admin/users/{target.id}/{path}", form)
            assert resp.status_code == 403, (target.role, path)
    assert signs_in(app, peer.email, "password123") and signs_in(app, boss.email, "password123")
    assert db.session.scalar(select(UserAudit)) is None
    page = admin.get(f"/admin/users/{peer.id}").get_data(as_text=True)
    assert 'id="not-manageable"' in page and 'id="user-edit-form"' not in page
    # Support, above admins, may manage an admin (but gives no role above admin).
    support = browser(app, boss)
    resp = support.post_form(
        f"/admin/users/{peer.id}/edit", {"name": "Peer", "role": "dispatcher", "seen_role": "admin"}
    )
    assert resp.status_code == 302 and fresh(db, User, peer.id).role == "dispatcher"


def test_a_password_reset_signs_the_technician_out_of_their_phone(
    app,
    make_user,
    sign_in,  # noqa: F811
    db,
):
    phone = sign_in()
    tech = phone.technician
    me = make_user("admin")
    admin = browser(app, me)

    differ = admin.post_form(
        f"/admin/users/{tech.id}/password",
        {"password": "new-pass-123", "password_again": "new-pass-124"},
    )
    assert differ.status_code == 422 and "The two passwords differ" in differ.text
    short = admin.post_form(
        f"/admin/users/{tech.id}/password", {"password": "short", "password_again": "short"}
    )
    assert short.status_code == 422 and "8 characters" in short.text
    db.session.rollback()
    assert phone.get("/api/v1/sync/pull").status_code == 200

    done = admin.post_form(
        f"/admin/users/{tech.id}/password",
        {"password": "new-pass-123", "password_again": "new-pass-123"},
    )
    assert done.status_code == 302
    db.session.rollback()
    assert phone.get("/api/v1/sync/pull").status_code == 401
    client = app.test_client()
    old = client.post(
        "/api/v1/auth/device",
        json={"email": tech.email, "password": "password123", "device_id": "p2"},
    )
    assert old.status_code == 401
    new = client.post(
        "/api/v1/auth/device",
        json={"email": tech.email, "password": "new-pass-123", "device_id": "p2"},
    )
    assert new.status_code == 200
    assert history(db, tech) == [("password", me.id)]
    assert "password reset" in admin.get(f"/admin/users/{tech.id}").text


def test_deactivating_a_technician_stops_their_phones_until_reactivated_and_signed_in(
    app,
    make_user,
    sign_in,  # noqa: F811
    db,
):
    phone = sign_in()
    tech = phone.technician
    me = make_user("admin", name="Adam Admin")
    admin = browser(app, me)

    assert admin.post_form(f"/admin/users/{tech.id}/active", {"active": "0"}).status_code == 302
    db.session.rollback()
    assert phone.get("/api/v1/sync/pull").status_code == 401
    again = app.test_client().post(
        "/api/v1/auth/device",
        json={"email": tech.email, "password": "password123", "device_id": phone.device_id},
    )
    assert again.status_code == 401
    page = admin.get(f"/admin/users/{tech.id}").text
    assert 'id="deactivated-badge"' in page and "deactivated" in page

    # Deactivating twice records nothing new.
    admin.post_form(f"/admin/users/{tech.id}/active", {"active": "0"})
    assert admin.post_form(f"/admin/users/{tech.id}/active", {"active": "1"}).status_code == 302
    db.session.rollback()
    assert phone.get("/api/v1/sync/pull").status_code == 401  # the old token stays dead
    again = app.test_client().post(
        "/api/v1/auth/device",
        json={"email": tech.email, "password": "password123", "device_id": phone.device_id},
    )
    assert again.status_code == 200
    assert history(db, tech) == [("deactivated", me.id), ("reactivated", me.id)]
    page = admin.get(f"/admin/users/{tech.id}").text
    assert "deactivated" in page and "reactivated" in page and "by Adam Admin" in page


def test_signing_out_a_technicians_phones_stops_their_sync(
    app,
    make_user,
    sign_in,  # noqa: F811
    db,
):
    phone = sign_in()
    second = sign_in(technician=phone.technician)
    other = sign_in()
    me = make_user("admin")
    admin = browser(app, me)
    tech = phone.technician

    resp = admin.post_form(f"/admin/users/{tech.id}/devices/revoke")
    assert resp.status_code == 302
    db.session.rollback()
    assert phone.get("/api/v1/sync/pull").status_code == 401
    assert second.get("/api/v1/sync/pull").status_code == 401
    assert other.get("/api/v1/sync/pull").status_code == 200  # someone else's phone syncs on
    assert fresh(db, User, tech.id).active  # the technician may sign in again
    assert history(db, tech) == [("devices revoked", me.id)]
    assert "phones signed out" in admin.get(f"/admin/users/{tech.id}").text
    nothing = admin.post_form(f"/admin/users/{tech.id}/devices/revoke")
    assert nothing.status_code == 302 and history(db, tech) == [("devices revoked", me.id)]


def test_a_dispatcher_signing_one_phone_out_is_recorded(
    app,
    make_user,
    sign_in,  # noqa: F811
    db,
):
    phone = sign_in()
    dispatcher = make_user("dispatcher")
    device = db.session.scalar(select(Device).where(Device.user_id == phone.technician.id))
    client = browser(app, dispatcher)
    resp = client.post_form(f"/technicians/devices/{device.id}/revoke")
    assert resp.status_code == 302
    db.session.rollback()
    assert phone.get("/api/v1/sync/pull").status_code == 401
    assert history(db, phone.technician) == [("device revoked", dispatcher.id)]


def test_the_command_line_is_recorded_as_such(app, db, base_env, make_user):
    user = make_user("dispatcher")

    def cli(*args):
        return subprocess.run(
            [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "users", *args],
            cwd=ROOT,
            env=base_env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert cli("deactivate", user.email).returncode == 0
    assert cli("activate", user.email).returncode == 0
    assert cli("password", user.email, "--password", "cli-pass-123").returncode == 0
    assert history(db, user) == [("deactivated", None), ("reactivated", None), ("password", None)]
    admin = browser(app, make_user("admin"))
    assert "by the command line" in admin.get(f"/admin/users/{user.id}").text


@pytest.mark.skipif(BACKEND != "postgresql", reason="two writers at once need PostgreSQL")
def test_two_admins_adding_the_same_email_at_once_get_one_user_and_a_form_error(app, make_user, db):
    first_id, second_id = make_user("admin").id, make_user("admin").id
    db.session.remove()
    first_added = threading.Event()
    outcome: dict[str, object] = {}

    def second() -> None:
        # Its check finds no such user yet (the first is not committed); its insert then
        # waits on the unique index until the first commits.
        with app.app_context():
            try:
                actor = db.session.get(User, second_id)
                first_added.wait(10)
                user_admin.create(actor, "same@example.com", "technician", "long-enough-2")
                db.session.commit()
                outcome["second"] = "added"
            except AccountError as exc:
                db.session.rollback()
                outcome["second"] = str(exc)

    thread = threading.Thread(target=second)
    thread.start()
    with app.app_context():
        user_admin.create(
            db.session.get(User, first_id), "same@example.com", "dispatcher", "long-enough-1"
        )
        first_added.set()
        with db.engine.connect() as watcher:  # the second writer is blocked on our row
            for _ in range(200):
                waiting = watcher.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock'"
                    )
                ).scalar()
                if waiting:
                    break
                watcher.rollback()
                time.sleep(0.05)
        db.session.commit()
    thread.join(30)
    assert outcome["second"] == "A user with the email same@example.com already exists."
    users = db.session.scalars(select(User).where(User.email == "same@example.com")).all()
    assert [u.role for u in users] == ["dispatcher"]
    assert [a for a, _ in history(db, users[0])] == ["created"]
