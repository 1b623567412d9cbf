"""Who gets what when not signed in, and email addresses checked one way everywhere."""

from __future__ import annotations

import subprocess

import pytest
from sqlalchemy import select

from portal.models import User
from tests.conftest import ROOT


@pytest.mark.parametrize("accept", ["*/*", "", "text/html", "text/html,*/*;q=0.8"])
def test_an_anonymous_visit_is_sent_to_sign_in(client, accept):
    headers = {"Accept": accept} if accept else {}
    resp = client.get("/", headers=headers)
    jobs = client.get("/jobs", headers=headers)

    for r in (resp, jobs):
        assert r.status_code == 302, (accept, r.status_code)
        assert "/login" in r.headers["Location"]


def test_a_client_asking_for_json_only_gets_a_401_json(client):
    resp = client.get("/jobs", headers={"Accept": "application/json"})
    assert resp.status_code == 401
    assert set(resp.get_json()) >= {"error", "message"}


INTERNAL = ["ops@corp.local", "dispatch@acme.test", "it@home.arpa", "boss@intranet", "x@a.internal"]


def _cli(env, *args):
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_internal_domains_are_created_by_the_cli_and_sign_in_to_the_portal(
    app, db, base_env, client, auth
):
    for email in INTERNAL:
        made = _cli(base_env, "users", "create", email.upper(), "--role", "dispatcher",
                    "--password", "password123")  # fmt: skip
        assert made.returncode == 0, made.stderr
        signed = auth.login(email)
        assert signed.status_code == 302, signed.get_data(as_text=True)
        assert client.get("/jobs").status_code == 200
        auth.logout()
    db.session.expire_all()
    stored = set(db.session.scalars(select(User.email)))
    assert set(INTERNAL) <= stored  # one spelling: lower case


def test_a_technician_on_an_internal_domain_signs_in_on_a_device(app, make_user):
    tech = make_user("technician", email="tech@field.local")
    resp = app.test_client().post(
        "/api/v1/auth/device",
        json={"email": "Tech@Field.Local", "password": "password123", "device_id": "p1"},
    )
    assert resp.status_code == 200 and resp.get_json()["technician"]["id"] == tech.id


BAD = ["no-at-sign", "two@@example.com", "a b@example.com", "x@example..com", "x@nowhere.invalid"]


@pytest.mark.parametrize("email", BAD)
def test_a_bad_address_gets_the_same_answer_everywhere(app, base_env, client, email):
    from portal.domain import accounts

    with pytest.raises(accounts.AccountError) as refused:
        accounts.validate_email(email)
    made = _cli(base_env, "users", "create", email, "--role", "dispatcher",
                "--password", "password123")  # fmt: skip
    form = client.post_form("/login", {"email": email, "password": "password123"})
    api = app.test_client().post(
        "/api/v1/auth/device", json={"email": email, "password": "password123", "device_id": "p"}
    )

    message = str(refused.value)
    assert made.returncode != 0 and message in made.stderr
    assert form.status_code == 400 and message in form.get_data(as_text=True).replace("&#39;", "'")
    assert api.status_code == 422 and api.get_json() == {
        "error": "invalid",
        "message": message,
        "field": "email",
    }
