"""In a real Chromium: every portal page passes its Content-Security-Policy, for every role."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest

from portal.domain import files as file_ops
from portal.domain import jobs as job_ops
from portal.models import ErrorCategory, FileKind, InboxMessage, MessageState
from tests.conftest import browser_login

pytestmark = pytest.mark.browser

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def world(db, make_user):
    """One of everything a page can show: a job with files, a failed action, a technician."""
    dispatcher = make_user("dispatcher")
    tech = make_user("technician")
    actor = job_ops.Actor.portal(dispatcher)
    job = job_ops.create(
        {"title": "Boiler <b>service</b>", "scheduled_start": datetime.now(UTC)}, actor
    )
    job_ops.assign(job, tech, actor)
    photo, _ = file_ops.add_file(job, io.BytesIO(PNG), "site.png", "image/png",
                                 FileKind.ATTACHMENT, actor)  # fmt: skip
    file_ops.add_file(job, io.BytesIO(b"<svg onload='alert(1)'/>"), "x.svg", "image/svg+xml",
                      FileKind.ATTACHMENT, actor)  # fmt: skip
    message = InboxMessage(
        action_id="7f1c1d1e-0000-4000-8000-000000000001",
        technician_id=tech.id,
        job_id=job.id,
        seq=1,
        type="status_change",
        payload={"to": "started"},
        payload_hash="0" * 64,
        state=MessageState.FAILED.value,
        error_category=ErrorCategory.VALIDATION.value,
        error_message="A required field is empty.",
    )
    db.session.add(message)
    db.session.commit()
    return {
        "job_id": job.id,
        "message_id": message.id,
        "user_id": tech.id,
        "file_id": photo.id,
    }


def _pages(app, world, role) -> list[str]:
    """Every GET page of the portal this role may open, with real ids filled in."""
    from portal.access import PUBLIC, rule_for
    from portal.models import Role

    urls = []
    for rule in app.url_map.iter_rules():
        # The technician app (/app/) is checked under its policy by tests/technician.
        if "GET" not in rule.methods or rule.rule.startswith(("/api/", "/static/", "/app/")):
            continue
        if rule.endpoint in ("auth.healthz", "auth.login", "dispatch.job_file"):
            continue
        access = rule_for(app, rule.endpoint)
        if access != PUBLIC and not Role(role).at_least(access):
            continue
        url = rule.rule
        for name in rule.arguments:
            url = re.sub(rf"<(?:\w+:)?{name}>", str(world[name]), url)
        urls.append(url)
    return sorted(urls)


def _violations(page) -> list[str]:
    return page.evaluate("window.__csp || []")


@pytest.mark.parametrize("role", ["dispatcher", "admin", "support"])
def test_every_page_passes_the_policy(app, strict_page, make_user, world, role):
    page = strict_page
    user = make_user(role)
    browser_login(page, user.email)

    pages = _pages(app, world, role)
    assert "/board" in pages and "/account/password" in pages
    assert ("/inbox/" in pages) is (role != "dispatcher")
    seen = {}
    for url in pages:
        if "text/html" not in page.request.head(url).headers.get("content-type", ""):
            continue  # a download (an export), not a page
        response = page.goto(url)
        assert response.status < 400, (url, response.status)
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
        # The live channel connects under the policy (connect-src) on every page.
        page.wait_for_selector("html[data-live=on]", state="attached")
        seen[url] = _violations(page)
    assert not {u: v for u, v in seen.items() if v}, seen


def test_the_moved_handlers_still_work_and_a_photo_opens_alone(strict_page, make_user, world):
    page = strict_page
    browser_login(page, make_user("support").email)

    # The day board's date field sends its form when it changes (was an inline onchange).
    page.goto("/board?day=2026-03-02")
    page.fill("#board-day input[name=day]", "2026-03-05")
    page.wait_for_url(re.compile(r"day=2026-03-05"))

    # Discarding asks first (was an inline onsubmit): dismissing keeps the action.
    page.goto(f"/inbox/messages/{world['message_id']}")
    dialogs = []

    def dismiss(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.click("form[action$='/discard'] button[type=submit]")
    assert dialogs == ["Discard this action? It will never be applied."]
    assert "/discard" not in page.url

    # A photo opened on its own shows, under the files' sandboxing policy.
    page.goto(f"/jobs/{world['job_id']}/files/{world['file_id']}?inline=1")
    page.wait_for_selector("img", state="attached")
    assert (
        page.evaluate("document.images[0].decode().then(() => document.images[0].naturalWidth)")
        == 1
    )
    assert _violations(page) == []


def test_headers_on_pages_errors_and_api_answers(client, app):
    from flask import render_template_string

    login = client.get("/login")
    missing = client.get("/no-such-page")
    api = client.get("/api/v1/openapi.json")
    with app.test_request_context("/"):
        app.preprocess_request()
        html = render_template_string('<script nonce="{{ csp_nonce() }}"></script>')
        response = app.process_response(app.make_response(html))

    for resp in (login, missing):
        policy = resp.headers["Content-Security-Policy"]
        assert (
            "script-src 'self' 'nonce-" in policy
            and "unsafe-inline" not in policy.split("style-src-attr")[0]
        )
        assert "frame-ancestors 'none'" in policy
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["X-Frame-Options"] == "DENY"
    assert api.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert api.headers["X-Content-Type-Options"] == "nosniff"
    nonce = re.search(r'nonce="([^"]+)"', html).group(1)
    assert f"'nonce-{nonce}'" in response.headers["Content-Security-Policy"]
