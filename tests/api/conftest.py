"""Fixtures for the device API: signed-in devices, jobs assigned through the domain."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest


class Device:
    """A signed-in device talking to the API through the test client."""

    def __init__(self, client, token: str, technician, device_id: str):
        self.client, self.token, self.technician, self.device_id = (
            client,
            token,
            technician,
            device_id,
        )

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, url, **kw):
        return self.client.get(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def post(self, url, **kw):
        return self.client.post(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def put(self, url, **kw):
        return self.client.put(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def pull(self, cursor=None, **params):
        if cursor:
            params["cursor"] = cursor
        resp = self.get("/api/v1/sync/pull", query_string=params)
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    def pull_all(self, cursor=None, **params):
        """Pull pages until has_more is false; return (pages, final cursor)."""
        pages = []
        while True:
            page = self.pull(cursor, **params)
            pages.append(page)
            cursor = page["cursor"]
            if not page["has_more"]:
                return pages, cursor

    def push(self, actions, **extra):
        return self.post("/api/v1/sync/push", json={"actions": actions, **extra})


@pytest.fixture
def sign_in(app, make_user):
    """Create a technician (or use one) and sign a device in through the API."""

    def make(technician=None, device_id: str | None = None, rights=None) -> Device:
        tech = technician or make_user("technician", rights=rights)
        device_id = device_id or f"phone-{uuid.uuid4().hex[:8]}"
        client = app.test_client()
        resp = client.post(
            "/api/v1/auth/device",
            json={
                "email": tech.email,
                "password": "password123",
                "device_id": device_id,
                "platform": "android",
                "app_version": "1.0",
            },
        )
        assert resp.status_code == 200, resp.get_json()
        return Device(client, resp.get_json()["token"], tech, device_id)

    return make


@pytest.fixture
def dispatcher(make_user):
    return make_user("dispatcher")


@pytest.fixture
def make_job(db, dispatcher):
    """Create a job through the domain, optionally assigned to a technician."""
    from portal.domain import jobs
    from portal.domain.jobs import Actor

    counter = iter(range(1, 100_000))

    def make(technician=None, **fields):
        n = next(counter)
        start = datetime(2026, 12, 1, 8, tzinfo=UTC) + timedelta(hours=n)
        data = {
            "title": f"Boiler service {n}",
            "customer": f"Customer {n}",
            "address": f"{n} High Street",
            "scheduled_start": start,
            "scheduled_end": start + timedelta(hours=1),
        }
        data.update(fields)
        job = jobs.create(data, Actor.portal(dispatcher))
        if technician is not None:
            jobs.assign(job, technician, Actor.portal(dispatcher))
        db.session.commit()
        return job

    return make


def action(job_id: int, seq: int = 1, type_: str = "note", payload=None, **extra) -> dict:
    """Return a well-formed action as a device would upload it."""
    body = {
        "id": str(uuid.uuid4()),
        "job_id": job_id,
        "seq": seq,
        "type": type_,
        "payload": {"text": "Arrived on site"} if payload is None else payload,
        "created_at": datetime.now(UTC).isoformat(),
    }
    body.update(extra)
    return body
