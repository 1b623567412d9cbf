"""Action upload: duplicates, id reuse, malformed actions, limits, the inbox enqueue."""

from __future__ import annotations

import uuid

from rq import Queue
from sqlalchemy import func, select

from portal.domain import jobs
from portal.domain.jobs import Actor
from portal.integrations.queue import Task
from portal.models import InboxMessage
from tests.api.conftest import action


def _count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(InboxMessage))


def test_accepted_actions_are_stored_queued_in_the_inbox(sign_in, make_job, db, redis_url):
    phone = sign_in()
    job = make_job(phone.technician)
    a = action(job.id, 1, "status_change", {"to": "en_route"})
    b = action(job.id, 2, "note", {"text": "Gate code 1234"})

    resp = phone.push([a, b], unsent_count=0, network="lte")

    assert resp.status_code == 200
    assert resp.get_json()["results"] == [
        {"id": a["id"], "state": "accepted"},
        {"id": b["id"], "state": "accepted"},
    ]
    rows = db.session.scalars(select(InboxMessage).order_by(InboxMessage.seq)).all()
    assert [(r.action_id, r.state, r.seq, r.type) for r in rows] == [
        (a["id"], "queued", 1, "status_change"),
        (b["id"], "queued", 2, "note"),
    ]
    assert rows[0].payload == {"to": "en_route"} and rows[0].client_created_at is not None
    # One enqueue per job line, by name, on the inbox queue.
    import redis

    queue = Queue("inbox", connection=redis.Redis.from_url(redis_url))
    enqueued = [(j.func_name, j.args) for j in queue.jobs]
    assert enqueued == [(Task.PROCESS_LINE, (job.id,))]


def test_a_duplicate_upload_answers_duplicate_and_is_stored_once(sign_in, make_job, db):
    phone = sign_in()
    job = make_job(phone.technician)
    a = action(job.id)

    assert phone.push([a]).get_json()["results"][0]["state"] == "accepted"
    again = phone.push([a]).get_json()["results"]
    twice_in_one = phone.push([a, a]).get_json()["results"]

    assert again == [{"id": a["id"], "state": "duplicate"}]
    assert [r["state"] for r in twice_in_one] == ["duplicate", "duplicate"]
    assert _count(db) == 1


def test_the_same_id_with_another_payload_is_rejected(sign_in, make_job, db):
    phone = sign_in()
    job = make_job(phone.technician)
    a = action(job.id, payload={"text": "first"})
    phone.push([a])

    changed = dict(a, payload={"text": "second"})
    result = phone.push([changed]).get_json()["results"][0]

    assert result["state"] == "rejected" and result["error"] == "id_reused"
    assert db.session.scalar(select(InboxMessage.payload)) == {"text": "first"}


def test_one_malformed_action_does_not_stop_the_others(sign_in, make_job, db):
    phone = sign_in()
    job = make_job(phone.technician)
    good1, good2 = action(job.id, 1), action(job.id, 2)
    bad = [
        action(job.id, 3, id="not-a-uuid"),
        action(job.id, 0),
        action(job.id, 3, type_="teleport"),
        action(job.id, 3, payload=["not", "an", "object"]),
        action("12", 3),
        action(job.id, 3, created_at="yesterday"),
        action(job.id, True),
        "not an object",
        action(job.id, 3, payload={"text": "nul \x00 inside"}),
        action(2**40, 3),
    ]

    results = phone.push([good1, *bad, good2]).get_json()["results"]

    assert results[0] == {"id": good1["id"], "state": "accepted"}
    assert results[-1] == {"id": good2["id"], "state": "accepted"}
    fields = [r.get("field") for r in results[1:-1]]
    assert all(r["state"] == "rejected" and r["error"] == "malformed" for r in results[1:-1])
    assert fields == [
        "id", "seq", "type", "payload", "job_id", "created_at", "seq", "action", "payload",
        "job_id",
    ]  # fmt: skip
    assert results[1]["id"] == "not-a-uuid" and results[8]["id"] is None
    assert _count(db) == 2


def test_actions_on_a_job_never_theirs_are_refused_at_once_naming_no_one(
    sign_in, make_job, make_user, db
):
    phone = sign_in()
    mine = make_job(phone.technician)
    foreign = make_job(make_user("technician", name="Otto Other"))
    ok, a, missing = action(mine.id), action(foreign.id), action(999_999)

    results = phone.push([ok, a, missing]).get_json()["results"]

    assert [r["state"] for r in results] == ["accepted", "rejected", "rejected"]
    assert results[1]["error"] == results[2]["error"] == "unknown_job"
    assert results[1]["message"] == results[2]["message"]  # an unknown and a foreign job alike
    assert "Otto" not in results[1]["message"] and foreign.reference not in results[1]["message"]
    assert _count(db) == 1  # only the action on their own job was stored


def test_actions_on_a_job_reassigned_away_are_kept_for_the_office(
    sign_in, make_job, make_user, dispatcher, db
):
    phone = sign_in()
    job = make_job(phone.technician)
    jobs.assign(job, make_user("technician"), Actor.portal(dispatcher))
    db.session.commit()

    results = phone.push([action(job.id)]).get_json()["results"]

    assert [r["state"] for r in results] == ["accepted"]
    assert _count(db) == 1


def test_the_same_seq_twice_from_one_device_is_refused(sign_in, make_job, db):
    phone = sign_in()
    job = make_job(phone.technician)
    first = action(job.id, 1)
    phone.push([first])

    again = phone.push([action(job.id, 1), action(job.id, 2), action(job.id, 2)]).get_json()

    assert [(r["state"], r.get("error")) for r in again["results"]] == [
        ("rejected", "seq_reused"),
        ("accepted", None),
        ("rejected", "seq_reused"),
    ]
    assert phone.push([first]).get_json()["results"][0]["state"] == "duplicate"
    assert _count(db) == 2


def test_bad_batches_are_refused_as_a_whole_with_json(sign_in, make_job, db):
    phone = sign_in()
    job = make_job(phone.technician)
    too_many = [action(job.id, i + 1) for i in range(201)]

    long_batch = phone.push(too_many)
    not_a_list = phone.post("/api/v1/sync/push", json={"actions": {"a": 1}})
    not_json = phone.post("/api/v1/sync/push", data="{", content_type="application/json")
    bad_unsent = phone.push([action(job.id)], unsent_count=-1)

    assert long_batch.status_code == 422 and long_batch.get_json()["field"] == "actions"
    assert not_a_list.status_code == 422
    assert not_json.status_code == 400 and not_json.get_json()["error"] == "malformed"
    assert bad_unsent.status_code == 422
    assert _count(db) == 0  # nothing of a refused batch was stored


def test_an_oversized_body_is_413_json(sign_in, make_job, db):
    phone = sign_in()
    job = make_job(phone.technician)
    huge = action(job.id, payload={"text": "x" * (3 * 1024 * 1024)})

    resp = phone.push([huge])

    assert resp.status_code == 413
    assert resp.is_json and resp.get_json()["error"] == "request_entity_too_large"
    assert _count(db) == 0


def test_push_records_the_reported_unsent_count_and_network(sign_in, db):
    from portal.models import Device

    phone = sign_in()
    assert phone.push([], unsent_count=3, network="gprs").status_code == 200
    row = db.session.scalar(select(Device))
    assert (row.unsent_count, row.network) == (3, "gprs")


def test_uuid_case_does_not_make_a_new_action(sign_in, make_job, db):
    phone = sign_in()
    job = make_job(phone.technician)
    a = action(job.id, id=str(uuid.uuid4()).upper())
    phone.push([a])
    results = phone.push([dict(a, id=a["id"].lower())]).get_json()["results"]
    assert results[0]["state"] == "duplicate" and _count(db) == 1
