"""The foundation: migrations, sign-in, roles, CSRF, and the users CLI."""

from __future__ import annotations

import subprocess

from sqlalchemy import func, inspect, select

from portal.models import StatusTransition, User
from tests.conftest import ROOT


def test_migrations_build_every_table_from_empty(app, db, migrated):
    tables = set(inspect(db.engine).get_table_names())
    assert {"users", "jobs", "devices", "inbox_messages", "sync_feed", "pushes"} <= tables
    assert "Running upgrade  -> 0001" in migrated.stderr


def test_seeded_transitions_match_the_design(app, db):
    pairs = {(t.from_status, t.to_status) for t in db.session.scalars(select(StatusTransition))}
    assert ("started", "finished") in pairs
    assert ("new", "cancelled") in pairs
    assert ("finished", "cancelled") not in pairs


def test_sign_in_shows_the_job_list_and_sign_out_ends_it(client, auth, make_user):
    user = make_user("dispatcher")
    response = auth.login(user.email)
    assert response.status_code == 302
    page = client.get("/jobs")
    assert page.status_code == 200
    assert "Jobs" in page.get_data(as_text=True)
    auth.logout()
    assert client.get("/jobs").status_code == 302


def test_wrong_password_is_refused_with_a_message(client, auth, make_user):
    user = make_user("dispatcher")
    response = auth.login(user.email, "not-the-password")
    assert response.status_code == 401
    assert "Wrong email or password" in response.get_data(as_text=True)
    assert client.get("/jobs").status_code == 302


def test_repeated_failures_lock_the_login_even_with_the_right_password(client, auth, make_user):
    user = make_user("dispatcher")
    for _ in range(5):
        auth.login(user.email, "wrong-password")
    response = auth.login(user.email)  # the right password, but too late
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.get_data(as_text=True)
    assert client.get("/jobs").status_code == 302


def test_dispatcher_gets_403_on_admin_pages(client, login_as):
    login_as("dispatcher")
    assert client.get("/admin/").status_code == 403
    assert client.get("/inbox/").status_code == 403


def test_admin_reaches_admin_pages(client, login_as):
    login_as("admin")
    assert client.get("/admin/").status_code == 200


def test_technician_is_refused_at_the_portal(client, auth, make_user):
    tech = make_user("technician")
    response = auth.login(tech.email)
    assert response.status_code == 401
    assert "Technicians use the mobile app" in response.get_data(as_text=True)
    assert client.get("/jobs").status_code == 302


def test_form_post_without_csrf_token_is_refused(client, make_user):
    user = make_user("dispatcher")
    response = client.raw.post("/login", data={"email": user.email, "password": "password123"})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)


def test_every_route_declares_who_may_use_it(app):
    from portal.access import rule_for

    undeclared = [r.endpoint for r in app.url_map.iter_rules() if rule_for(app, r.endpoint) is None]
    assert undeclared == []


def test_passwords_are_stored_hashed(app, db, make_user):
    user = make_user("dispatcher", password="s3cret-password")
    stored = db.session.get(User, user.id).password_hash
    assert "s3cret-password" not in stored
    assert stored.startswith("scrypt:")


def _cli(base_env, *args):
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=base_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_users_create_adds_a_user(app, db, base_env):
    result = _cli(
        base_env,
        "users",
        "create",
        "new@example.com",
        "--role",
        "admin",
        "--password",
        "long-enough-pw",
        "--name",
        "New Admin",
    )
    assert result.returncode == 0, result.stderr
    db.session.expire_all()
    assert db.session.scalar(select(User).where(User.email == "new@example.com")).role == "admin"


def test_users_create_refuses_unknown_role_and_duplicates_and_changes_nothing(
    app, db, base_env, make_user
):
    make_user("dispatcher", email="taken@example.com")
    before = db.session.scalar(select(func.count(User.id)))
    bad_role = _cli(
        base_env,
        "users",
        "create",
        "x@example.com",
        "--role",
        "wizard",
        "--password",
        "long-enough-pw",
    )
    assert bad_role.returncode != 0
    assert "Unknown role 'wizard'" in bad_role.stderr
    duplicate = _cli(
        base_env,
        "users",
        "create",
        "TAKEN@example.com",
        "--role",
        "admin",
        "--password",
        "long-enough-pw",
    )
    assert duplicate.returncode != 0
    assert "already exists" in duplicate.stderr
    db.session.expire_all()
    assert db.session.scalar(select(func.count(User.id))) == before
