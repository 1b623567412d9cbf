"""Property-based run over the portal's pages: any query string, any id, never a 5xx.

Hypothesis sends every GET page of the portal (as support, who may open all of them) query
strings made of the parameters the pages read plus strangers, with values people and
scripts really send: empty, huge, negative, non-ASCII digits, impossible dates, NULs. Reading
a page writes nothing, so the database must be unchanged after the run.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal.models import Device, InboxAudit, InboxMessage, Job, JobEvent, User

NAMES = [
    "status", "tech", "from", "to", "q", "sort", "dir", "page", "day", "state", "category",
    "technician", "job", "date_from", "date_to", "has_errors", "reason", "before", "inline",
    "next", "cursor", "limit",
]  # fmt: skip
ODD = [
    "", " ", "0", "-1", "1", "2147483648", "99999999999999999999", "²", "١٢", "1e3", "0x10",
    "none", "None", "desc", "asc", "NaN", "\x00", "9999-12-31", "0001-01-01", "2026-02-30",
    "2026-13-01", "failed", "held", "waiting", "<script>", "%", "' OR 1=1 --", "//evil.example",
    "add", "delete", "toggle", "save", "all", "retry", "started", "text", "2026-03-01T08:00",
]  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(ODD),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.dates().map(lambda d: d.isoformat()),
    st.text(max_size=40),
)
QUERY = st.dictionaries(st.one_of(st.sampled_from(NAMES), st.text(max_size=8)), VALUES, max_size=6)
IDS = st.one_of(st.integers(min_value=0, max_value=2**70), st.sampled_from(["real"]))


@pytest.fixture
def world(db, make_user):
    from portal.domain import jobs as job_ops

    dispatcher = make_user("dispatcher")
    tech = make_user("technician")
    actor = job_ops.Actor.portal(dispatcher)
    job = job_ops.create({"title": "Fuzzed"}, actor)
    job_ops.assign(job, tech, actor)
    message = InboxMessage(
        action_id="5b0f6d2c-0000-4000-8000-000000000001",
        technician_id=tech.id,
        job_id=job.id,
        seq=1,
        type="note",
        payload={"text": "x"},
        payload_hash="0" * 64,
        state="failed",
        error_category="validation",
        error_message="x",
    )
    device = Device(device_id="fuzz-phone", user_id=tech.id)
    db.session.add_all([message, device])
    db.session.commit()
    return {
        "job_id": job.id,
        "message_id": message.id,
        "user_id": tech.id,
        "file_id": 1,
        "device_id": device.id,
    }


def _pages(app) -> list:
    rules = []
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.rule.startswith(("/api/", "/static/")):
            rules.append(rule)
    return sorted(rules, key=lambda r: r.rule)


def _snapshot(db) -> tuple:
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Job, JobEvent, InboxMessage, InboxAudit, User)
    )


def test_any_query_string_on_any_page_is_no_server_error(app, db, client, login_as, world):
    login_as("support")
    rules = _pages(app)
    assert len(rules) >= 15
    db.session.rollback()
    before = _snapshot(db)
    failures: list[tuple[str, dict, int]] = []
    visited: list[str] = []

    @given(rule=st.sampled_from(rules), data=st.data())
    @settings(
        max_examples=400,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def visit(rule, data):
        url = rule.rule
        for name in rule.arguments:
            value = data.draw(IDS, label=name)
            real = world.get(name, 1)
            url = re.sub(rf"<(?:\w+:)?{name}>", str(real if value == "real" else value), url)
        query = data.draw(QUERY, label="query")
        resp = client.get(url, query_string=query)
        resp.close()
        visited.append(url)
        if resp.status_code >= 500:
            failures.append((url, query, resp.status_code))
        assert resp.status_code < 500, (url, query)

    visit()
    assert not failures
    assert len(visited) > 300 and len(set(visited)) > 30
    db.session.rollback()
    assert _snapshot(db) == before  # reading pages wrote nothing


FORM_NAMES = NAMES + [
    "title", "description", "customer", "address", "scheduled_start", "scheduled_end",
    "assignee", "version", "op", "id", "from_status", "to_status", "portal_only", "key", "label",
    "type", "required_for", "ids", "scope", "note", "payload", "then", "active", "change_status",
    "report-hours", "report-notes",
]  # fmt: skip
FORM = st.dictionaries(st.sampled_from(FORM_NAMES), VALUES, min_size=1, max_size=10)


def test_any_form_post_on_any_page_is_no_server_error(app, db, client, login_as, world):
    login_as("support")
    token = client.token()
    rules = sorted(
        (
            r
            for r in app.url_map.iter_rules()
            if "POST" in r.methods and not r.rule.startswith(("/api/", "/login", "/logout"))
        ),
        key=lambda r: r.rule,
    )
    assert len(rules) >= 12
    posted: list[str] = []

    @given(rule=st.sampled_from(rules), data=st.data())
    @settings(
        max_examples=600,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def post(rule, data):
        url = rule.rule
        for name in rule.arguments:
            value = data.draw(IDS, label=name)
            real = world.get(name, 1)
            url = re.sub(rf"<(?:\w+:)?{name}>", str(real if value == "real" else value), url)
        form = dict(data.draw(FORM, label="form"), csrf_token=token)
        resp = client.post(url, data=form)
        resp.close()
        posted.append(url)
        assert resp.status_code < 500, (url, form)

    post()
    assert len(posted) > 200
