"""The commit-ordered feed: late commits are never skipped, cursors expire cleanly."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from portal.domain import jobs as job_ops
from portal.domain import retention
from portal.effects import after_commit
from portal.extensions import db as _db
from portal.models import FeedEntry, FeedKind, SyncPosition, utcnow
from tests.conftest import BACKEND

postgres_only = pytest.mark.skipif(
    BACKEND != "postgresql", reason="needs concurrent writers (SQLite has one writer at a time)"
)


class HeldWrite:
    """A dispatcher's edit on its own connection whose transaction stays open until told."""

    def __init__(self, app, job_id: int, title: str):
        self.go, self.ready = threading.Event(), threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(app, job_id, title))
        self.thread.start()
        assert self.ready.wait(10), "the held writer did not start"

    def _run(self, app, job_id: int, title: str) -> None:
        with app.app_context():
            try:
                job = job_ops.get_for_update(job_id)
                job_ops.update(job, {"title": title}, job_ops.Actor(None, job_ops.Origin.SYSTEM))
                _db.session.flush()  # its feed entry is inserted now, its position comes later
                self.ready.set()
                self.go.wait(30)
                _db.session.commit()
            except BaseException as exc:
                self.error = exc
            finally:
                self.ready.set()
                _db.session.remove()

    def commit(self) -> None:
        self.go.set()
        self.thread.join(30)
        assert self.error is None, self.error


@postgres_only
def test_a_change_committed_after_a_pull_is_not_skipped(app, sign_in, make_job, dispatcher, db):
    """A writer whose transaction stays open across other commits and pulls is still seen."""
    phone = sign_in()
    slow_job, other_job = make_job(phone.technician), make_job(phone.technician)
    cursor = phone.pull()["cursor"]
    held = HeldWrite(app, slow_job.id, "Edited slowly")
    job_ops.update(other_job, {"title": "Quick"}, _portal(dispatcher))
    db.session.commit()
    first = phone.pull(cursor)
    assert [j["title"] for j in first["jobs"]] == ["Quick"]

    held.commit()

    second = phone.pull(first["cursor"])
    assert [j["title"] for j in second["jobs"]] == ["Edited slowly"]
    assert phone.pull(second["cursor"])["jobs"] == []


def _portal(user) -> job_ops.Actor:
    return job_ops.Actor.portal(user)


@postgres_only
def test_one_technicians_commit_waits_only_for_that_technicians_writers(
    app, make_job, make_user, dispatcher, db
):
    """The counter lock orders one technician's commits and nobody else's."""
    busy, free = make_user("technician"), make_user("technician")
    busy_job, free_job = make_job(busy), make_job(free)
    other = _db.engine.connect()
    trans = other.begin()
    try:
        # Another transaction is committing a change for ``busy``: it holds the counter.
        other.execute(
            text("UPDATE sync_positions SET position = position + 1 WHERE technician_id = :t"),
            {"t": busy.id},
        )
        db.session.execute(text("SET LOCAL lock_timeout = '1s'"))
        job_ops.update(free_job, {"title": "Free"}, _portal(dispatcher))
        db.session.commit()  # not held up

        db.session.execute(text("SET LOCAL lock_timeout = '300ms'"))
        job_ops.update(busy_job, {"title": "Busy"}, _portal(dispatcher))
        with pytest.raises(Exception, match="lock timeout"):
            db.session.commit()  # waits its turn behind the other commit
        db.session.rollback()
    finally:
        trans.rollback()
        other.close()


def test_a_pull_with_a_cursor_older_than_the_history_kept_answers_410(
    app, sign_in, make_job, dispatcher, db
):
    phone = sign_in()
    job = make_job(phone.technician)
    cursor = phone.pull()["cursor"]
    job_ops.update(job, {"title": "While the phone was away"}, _portal(dispatcher))
    db.session.commit()
    days = app.config["SYNC_FEED_RETENTION_DAYS"]
    retention.clean_feed(utcnow() + timedelta(days=days, seconds=1))

    resp = phone.get(f"/api/v1/sync/pull?cursor={cursor}")

    assert resp.status_code == 410
    assert resp.get_json()["error"] == "cursor_expired"
    again = phone.pull()  # starting over works and sends the job as it is now
    assert [j["title"] for j in again["jobs"]] == ["While the phone was away"]
    assert phone.pull(again["cursor"])["jobs"] == []


def test_a_cursor_of_the_id_based_form_is_answered_410(app, sign_in, make_job):
    from portal.domain.sync import pull

    phone = sign_in()
    make_job(phone.technician)
    old = pull._serializer().dumps([phone.technician.id, 5])

    resp = phone.get(f"/api/v1/sync/pull?cursor={old}")

    assert resp.status_code == 410 and resp.get_json()["error"] == "cursor_expired"


def test_the_reference_client_starts_over_after_410_and_drops_stale_jobs(
    app, live_server, make_user, dispatcher, db
):
    from portal.simulator.client import DeviceClient

    tech = make_user("technician")
    keep = job_ops.create({"title": "Keep"}, _portal(dispatcher))
    leave = job_ops.create({"title": "Leave"}, _portal(dispatcher))
    for job in (keep, leave):
        job_ops.assign(job, tech, _portal(dispatcher))
    db.session.commit()
    newcomer = make_user("technician")
    keep_id, leave_id, email = keep.id, leave.id, tech.email
    db.session.rollback()  # the server writes now: hold no snapshot from before (SQLite)
    phone = DeviceClient(live_server, email, "password123", page_limit=1)
    assert phone.sync().error is None
    assert sorted(phone.jobs) == [keep_id, leave_id]
    # While the phone is away, a job leaves it and the history of that is expired.
    job_ops.assign(job_ops.get_for_update(leave_id), newcomer, _portal(dispatcher))
    db.session.commit()
    days = app.config["SYNC_FEED_RETENTION_DAYS"]
    retention.clean_feed(utcnow() + timedelta(days=days, seconds=1))

    report = phone.sync()

    assert report.error is None
    assert sorted(phone.jobs) == [keep_id]


def test_compaction_keeps_the_newest_entry_of_each_job_and_message(
    app, sign_in, make_job, dispatcher, db
):
    phone = sign_in()
    jobs = [make_job(phone.technician) for _ in range(3)]
    cursor = phone.pull()["cursor"]
    for n in range(10):
        job_ops.update(jobs[n % 3], {"title": f"Edit {n}"}, _portal(dispatcher))
        db.session.commit()
    before = db.session.scalar(select(func.count()).select_from(FeedEntry))

    gone = retention.compact_feed(phone.technician.id)

    after = db.session.scalar(select(func.count()).select_from(FeedEntry))
    assert (before - after, after) == (gone, 3)
    delta = phone.pull(cursor)  # a cursor from before the compaction still gets everything
    assert sorted(j["title"] for j in delta["jobs"]) == ["Edit 7", "Edit 8", "Edit 9"]


def test_entries_are_written_with_their_positions_as_the_transaction_commits(
    app, make_job, make_user, dispatcher, db
):
    tech = make_user("technician")
    job = make_job(tech)
    before = db.session.scalar(select(func.count()).select_from(FeedEntry))
    job_ops.update(job, {"title": "One"}, _portal(dispatcher))
    db.session.flush()
    assert db.session.scalar(select(func.count()).select_from(FeedEntry)) == before
    db.session.commit()
    positions = list(
        db.session.scalars(
            select(FeedEntry.position)
            .where(FeedEntry.technician_id == tech.id)
            .order_by(FeedEntry.id)
        )
    )
    assert positions == list(range(1, len(positions) + 1))
    assert db.session.get(SyncPosition, tech.id).position == positions[-1]


def test_a_rolled_back_savepoint_leaves_no_entry_and_no_effect(
    app, make_job, make_user, dispatcher, db
):
    tech = make_user("technician")
    job = make_job(tech)
    ran: list[str] = []
    with db.session.begin_nested():
        job_ops.update(job, {"title": "Kept"}, _portal(dispatcher))
        after_commit(ran.append, "kept")
    assert ran == []  # releasing a savepoint is not a commit
    try:
        with db.session.begin_nested():
            job_ops.update(job, {"title": "Undone"}, _portal(dispatcher))
            after_commit(ran.append, "undone")
            raise RuntimeError("this row is refused")
    except RuntimeError:
        pass
    db.session.commit()
    assert ran == ["kept"]
    versions = db.session.scalars(
        select(FeedEntry.position).where(
            FeedEntry.technician_id == tech.id, FeedEntry.job_id == job.id
        )
    ).all()
    assert len(versions) == 2  # assigned, then "Kept": nothing of the undone edit


def test_a_root_commit_made_inside_a_savepoint_still_delivers_its_change(
    app, sign_in, make_job, dispatcher, db
):
    phone = sign_in()
    job = make_job(phone.technician)
    cursor = phone.pull()["cursor"]
    root = db.session().get_transaction() or db.session().begin()
    db.session.begin_nested()
    job_ops.update(job, {"title": "Committed oddly"}, _portal(dispatcher))
    db.session.flush()
    root.commit()  # the root commits while its savepoint is still open

    assert [j["title"] for j in phone.pull(cursor)["jobs"]] == ["Committed oddly"]


def test_expiry_leaves_a_horizon_marker_per_technician(app, sign_in, make_job, db):
    phone = sign_in()
    make_job(phone.technician)
    retention.clean_feed(utcnow() + timedelta(days=365))
    kinds = db.session.scalars(
        select(FeedEntry.kind).where(FeedEntry.technician_id == phone.technician.id)
    ).all()
    assert kinds == [FeedKind.HORIZON.value]
    body = phone.pull()  # a first sync is unaffected
    assert len(body["jobs"]) == 1 and phone.pull(body["cursor"])["jobs"] == []
