"""The delta pull: what a phone sees after edits, reassignment, cancellation, paging."""

from __future__ import annotations

from sqlalchemy import select

from portal.domain import jobs
from portal.domain.jobs import Actor
from portal.models import Device as DeviceRow
from portal.models import InboxMessage


def test_first_pull_returns_all_of_the_technicians_jobs_and_only_theirs(
    sign_in, make_job, make_user
):
    phone = sign_in()
    other = make_user("technician")
    mine = [make_job(phone.technician) for _ in range(3)]
    make_job(other)
    make_job()  # unassigned

    body = phone.pull()

    assert sorted(j["id"] for j in body["jobs"]) == sorted(j.id for j in mine)
    assert body["removed"] == [] and body["has_more"] is False
    doc = next(j for j in body["jobs"] if j["id"] == mine[0].id)
    assert doc["reference"] == mine[0].reference
    assert doc["status"] == "assigned"
    assert doc["scheduled_start"] == mine[0].scheduled_start.isoformat()
    assert doc["attachments"] == [] and doc["photos"] == [] and doc["report"] == {}
    assert doc["version"] == mine[0].version


def test_after_a_portal_edit_only_that_job_comes_back(sign_in, make_job, dispatcher, db):
    phone = sign_in()
    first, second = make_job(phone.technician), make_job(phone.technician)
    cursor = phone.pull()["cursor"]

    assert phone.pull(cursor)["jobs"] == []  # nothing changed: an empty delta
    jobs.update(second, {"title": "Replace valve"}, Actor.portal(dispatcher))
    db.session.commit()
    body = phone.pull(cursor)

    assert [j["id"] for j in body["jobs"]] == [second.id]
    assert body["jobs"][0]["title"] == "Replace valve"
    assert first.id not in [j["id"] for j in body["jobs"]]


def test_reassignment_removes_the_job_from_the_old_technician_and_gives_it_to_the_new(
    sign_in, make_job, dispatcher, db
):
    old, new = sign_in(), sign_in()
    job = make_job(old.technician)
    old_cursor = old.pull()["cursor"]
    new_cursor = new.pull()["cursor"]

    jobs.assign(job, new.technician, Actor.portal(dispatcher))
    db.session.commit()

    old_body = old.pull(old_cursor)
    assert old_body["removed"] == [job.id] and old_body["jobs"] == []
    new_body = new.pull(new_cursor)
    assert [j["id"] for j in new_body["jobs"]] == [job.id]
    # A fresh install of the old technician does not get the job either.
    assert job.id not in [j["id"] for j in old.pull()["jobs"]]


def test_a_cancelled_job_is_removed(sign_in, make_job, dispatcher, db):
    phone = sign_in()
    job = make_job(phone.technician)
    cursor = phone.pull()["cursor"]
    jobs.cancel(job, Actor.portal(dispatcher))
    db.session.commit()

    body = phone.pull(cursor)

    assert body["removed"] == [job.id] and body["jobs"] == []


def test_removed_then_reassigned_back_within_one_range_is_present(
    sign_in, make_job, make_user, dispatcher, db
):
    phone = sign_in()
    other = make_user("technician")
    job = make_job(phone.technician)
    cursor = phone.pull()["cursor"]
    jobs.assign(job, other, Actor.portal(dispatcher))
    jobs.assign(job, phone.technician, Actor.portal(dispatcher))
    db.session.commit()

    body = phone.pull(cursor)

    assert [j["id"] for j in body["jobs"]] == [job.id] and body["removed"] == []


def test_paging_with_has_more_delivers_every_job_once(sign_in, make_job):
    phone = sign_in()
    made = {make_job(phone.technician).id for _ in range(7)}

    pages, cursor = phone.pull_all(limit=3)

    # has_more stayed true until every job was sent, and no job came twice.
    seen = [j["id"] for p in pages for j in p["jobs"]]
    assert sorted(seen) == sorted(made)
    assert max(len(p["jobs"]) for p in pages) == 3 and len(pages) >= 3
    assert phone.pull(cursor)["jobs"] == []


def test_a_successful_sync_is_recorded_with_unsent_count_and_network(sign_in, make_job, db):
    phone = sign_in()
    for _ in range(3):
        make_job(phone.technician)

    first = phone.pull(limit=2, unsent_count=4, network="edge")
    row = db.session.get(DeviceRow, db.session.query(DeviceRow.id).scalar())
    db.session.refresh(row)
    assert first["has_more"] is True and row.last_sync_at is None

    phone.pull(first["cursor"], limit=2, unsent_count=4, network="edge")
    db.session.refresh(row)
    assert row.last_sync_at is not None
    assert (row.unsent_count, row.network) == (4, "edge")


def test_a_tampered_or_foreign_cursor_is_refused_with_400(sign_in, make_job):
    alice, bob = sign_in(), sign_in()
    make_job(alice.technician)
    cursor = alice.pull()["cursor"]

    foreign = bob.get("/api/v1/sync/pull", query_string={"cursor": cursor})
    tampered = alice.get("/api/v1/sync/pull", query_string={"cursor": cursor[:-2] + "xx"})
    garbage = alice.get("/api/v1/sync/pull", query_string={"cursor": "%%%"})

    for resp in (foreign, tampered, garbage):
        assert resp.status_code == 400
        assert resp.get_json()["error"] == "bad_cursor"
        assert resp.get_json()["field"] == "cursor"


def test_pull_reads_only_the_entries_after_the_cursor(sign_in, make_job, statements):
    """The cursor maps to the feed id: an empty delta touches no job rows."""
    phone = sign_in()
    for _ in range(3):
        make_job(phone.technician)
    cursor = phone.pull()["cursor"]
    with statements() as seen:
        phone.pull(cursor)
    assert not seen.touching("FROM jobs")
    # The technician's feed counter (read with the token) says nothing is after the cursor.
    assert seen.touching("sync_positions") or seen.touching("sync_feed")


def test_a_pull_with_the_cursor_just_returned_is_empty_at_once(sign_in, make_job, dispatcher, db):
    """No time window: the change is sent once, and the next pull is empty right away."""
    phone = sign_in()
    job = make_job(phone.technician)
    first = phone.pull()
    jobs.update(job, {"title": "Changed"}, Actor.portal(dispatcher))
    db.session.commit()
    delta = phone.pull(first["cursor"])
    assert [j["title"] for j in delta["jobs"]] == ["Changed"]
    empty = phone.pull(delta["cursor"])
    assert (empty["jobs"], empty["removed"], empty["action_results"]) == ([], [], [])
    assert empty["has_more"] is False


def test_a_first_sync_costs_the_current_jobs_not_the_history(
    sign_in, make_job, dispatcher, db, make_user
):
    phone = sign_in()
    mine = [make_job(phone.technician) for _ in range(3)]
    gone = make_job(phone.technician)
    for n in range(40):  # a long history of edits
        jobs.update(mine[n % 3], {"title": f"Edit {n}"}, Actor.portal(dispatcher))
    jobs.assign(gone, make_user("technician"), Actor.portal(dispatcher))
    db.session.commit()

    body = phone.pull(limit=5)

    assert body["has_more"] is False
    assert sorted(j["id"] for j in body["jobs"]) == sorted(j.id for j in mine)
    assert {j["title"] for j in body["jobs"]} >= {"Edit 39"}
    assert phone.pull(body["cursor"])["jobs"] == []


def test_a_device_starting_over_hears_of_its_unfinished_actions(sign_in, make_job, db):
    from tests.api.conftest import action

    phone = sign_in()
    job = make_job(phone.technician)
    a, b = action(job.id, 1), action(job.id, 2)
    phone.push([a, b])
    first = db.session.scalar(select(InboxMessage).where(InboxMessage.action_id == a["id"]))
    first.state, first.error_category = "completed", None
    db.session.commit()

    body = phone.pull()

    assert [(r["id"], r["state"]) for r in body["action_results"]] == [(b["id"], "queued")]
