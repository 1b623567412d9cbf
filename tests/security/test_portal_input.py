"""Odd input in the portal: clamped with a message, refused next to its field, never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.models import ErrorCategory, InboxMessage, MessageState


@pytest.fixture
def support(client, login_as):
    return login_as("support")


def _failed_message(db, make_user, payload=None) -> InboxMessage:
    tech = make_user("technician")
    message = InboxMessage(
        action_id="6c7a0a51-0000-4000-8000-00000000000a",
        technician_id=tech.id,
        job_id=1,
        seq=1,
        type="note",
        payload=payload or {"text": "hello"},
        payload_hash="0" * 64,
        state=MessageState.FAILED.value,
        error_category=ErrorCategory.VALIDATION.value,
        error_message="x",
    )
    db.session.add(message)
    db.session.commit()
    return message


@pytest.mark.parametrize(
    "day,shown,note",
    [
        ("9999-12-31", "2999-12-31", "Days end at 2999-12-31"),
        ("0001-01-01", "1900-01-01", "Days start at 1900-01-01"),
        ("2026-02-30", None, "is not a date"),
    ],
)
def test_the_board_clamps_its_day_and_says_so(client, support, day, shown, note):
    resp = client.get("/board", query_string={"day": day})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert note in page.replace("&#39;", "'")
    if shown:
        assert f'value="{shown}"' in page


def test_the_job_list_clamps_its_dates(client, support):
    resp = client.get("/jobs", query_string={"from": "0001-01-01", "to": "9999-12-31"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Days start at 1900-01-01" in page and "Days end at 2999-12-31" in page


@pytest.mark.parametrize("raw", ["99999999999999999999", "999", "²", "-5", "abc"])
def test_the_inbox_page_number_is_clamped(client, support, db, make_user, raw):
    _failed_message(db, make_user)
    resp = client.get("/inbox/", query_string={"page": raw})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "msg-" in page  # the one message is shown: the last (and only) page
    if raw in ("99999999999999999999", "999"):
        assert "showing the last page (1)" in page
    if raw in ("²", "abc"):
        assert "is not a page number" in page


@pytest.mark.parametrize(
    "url",
    [
        "/inbox/?technician=99999999999999999999&job=²&date_from=0001-01-01&date_to=9999-12-31",
        "/admin/pushes?technician=99999999999999999999&job=99999999999999999999&before=²",
        "/admin/pushes?before=99999999999999999999",
        "/jobs?tech=99999999999999999999&page=99999999999999999999",
        "/jobs?tech=²",
    ],
)
def test_huge_and_odd_numbers_in_filters_are_no_error(client, support, url):
    assert client.get(url).status_code in (200, 400)


def test_huge_ids_in_posted_forms_are_no_error(client, support):
    transitions = client.post_form("/admin/transitions", {"op": "delete", "id": "9" * 30})
    retry = client.post_form("/inbox/retry", {"ids": ["9" * 30, "²", "12"]})
    assert transitions.status_code == 404 and retry.status_code == 302


@pytest.mark.parametrize(
    "text,message",
    [
        ("[" * 2000 + "]" * 2000, "levels deep"),
        ('{"text": ' + "[" * 40 + "]" * 40 + "}", "levels deep"),
        ('{"text": "nul \\u0000 here"}', "NUL"),
        ('{"text": NaN}', "non-finite"),
    ],
)
def test_a_bad_payload_edit_is_a_form_error(client, support, db, make_user, text, message):
    m = _failed_message(db, make_user)
    resp = client.post_form(f"/inbox/messages/{m.id}/payload", {"payload": text})
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(select(InboxMessage.payload)) == {"text": "hello"}
