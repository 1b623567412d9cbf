"""Error pages are portal pages: the layout, a heading in words, what to do next."""

from __future__ import annotations

import re

import pytest


def main_of(body: str) -> str:
    inner = body[body.index("<main") : body.index("</main>")]
    return " ".join(re.sub(r"<[^>]+>", " ", inner).split())


def test_not_found_and_forbidden_pages_use_the_layout_and_plain_words(client, login_as):
    login_as("dispatcher")
    missing = client.get("/no-such-page")
    assert missing.status_code == 404
    body = missing.get_data(as_text=True)
    assert 'class="topbar"' in body and "mainnav" in body
    assert main_of(body).startswith("Page not found There is no such page")
    forbidden = client.get("/inbox/")
    assert forbidden.status_code == 403
    text = main_of(forbidden.get_data(as_text=True))
    assert text.startswith("Not for your role")
    assert "You are signed in as dispatcher." in text


@pytest.fixture
def small_uploads(app):
    before = app.config["MAX_CONTENT_LENGTH"]
    # Small enough that the test client keeps the body in memory (no temporary file left open).
    app.config["MAX_CONTENT_LENGTH"] = 100 * 1024
    yield
    app.config["MAX_CONTENT_LENGTH"] = before


def test_a_too_large_upload_says_the_limit(client, login_as, make_job, small_uploads):
    import io

    login_as("dispatcher")
    job = make_job("Service lift")
    response = client.post_form(
        f"/jobs/{job.id}/attachments",
        {"file": (io.BytesIO(b"x" * (200 * 1024)), "plan.pdf", "application/pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    text = main_of(response.get_data(as_text=True))
    response.close()
    assert text.startswith("Too large What was sent is larger than the limit of 100 KB.")
