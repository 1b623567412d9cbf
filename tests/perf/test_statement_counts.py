"""What one empty pull, one inbox action and one import row cost in SQL statements.

Counts do not flake the way timings do: a query per row or per request that comes back
(a lazy load, a check moved into a loop) changes these numbers at once.
"""

from __future__ import annotations

import csv
import io
from collections import Counter

import pytest
from sqlalchemy import text

from portal.domain import import_file, imports
from portal.domain import jobs as job_ops
from portal.domain.inbox import processor as inbox
from portal.extensions import db as _db
from portal.models import Device, InboxMessage, JobEvent
from tests.conftest import BACKEND
from tests.inbox.conftest import store_action


def test_an_empty_pull_is_one_indexed_read(sign_in, make_job, statements):
    """The token's device with its technician's feed counter: nothing else, no write."""
    phone = sign_in()
    for _ in range(3):
        make_job(phone.technician)
    cursor = phone.pull()["cursor"]
    phone.pull(cursor)  # the sync and last-seen writes are behind us now
    with statements() as seen:
        page = phone.pull(cursor)
    assert page["jobs"] == [] and page["has_more"] is False
    assert len(seen) == 1, seen
    assert "sync_positions" in seen[0] and "FROM devices JOIN users" in seen[0]


def test_a_pull_behind_the_counter_reads_the_feed(sign_in, make_job, statements):
    """A change after the cursor is read from the feed, never skipped by the shortcut."""
    phone = sign_in()
    make_job(phone.technician)
    cursor = phone.pull()["cursor"]
    job = make_job(phone.technician)
    with statements() as seen:
        page = phone.pull(cursor)
    assert [j["id"] for j in page["jobs"]] == [job.id]
    assert len(seen.touching("FROM sync_feed")) == 1


def _line(technician, job_id: int, actions: int) -> None:
    device = _db.session.get(Device, technician.device.id)
    for seq in range(1, actions + 1):
        store_action(technician, job_id, seq, "note", {"text": f"note {seq}"}, device=device)
    _db.session.commit()


def test_one_inbox_action_costs_a_fixed_number_of_statements(
    inbox_technician, inbox_job, statements
):
    """Applying a line of notes costs the same per action, whatever the line's length."""
    short, long_ = inbox_job(inbox_technician).id, inbox_job(inbox_technician).id
    _line(inbox_technician, short, 1)
    _line(inbox_technician, long_, 6)
    with statements() as one:
        assert inbox.process_line(short) == {"completed": 1}
    with statements() as six:
        assert inbox.process_line(long_) == {"completed": 6}
    per_action = (len(six) - len(one)) / 5
    assert per_action <= PER_ACTION, (per_action, six)
    assert len(one) <= PER_ACTION + LINE_OVERHEAD, one
    notes = _db.session.query(JobEvent).filter_by(job_id=long_, kind="note").count()
    assert notes == 6
    states = {m.state for m in _db.session.query(InboxMessage).filter_by(job_id=long_)}
    assert states == {"completed"}


# A line's actions are claimed together (mark, attempt), locked together, and applied in one
# transaction, each in a savepoint (savepoint, job, outcome, job update, history, release);
# the technician is read once per run and the attempts are closed in one statement.
PER_ACTION = 8
# Per line and run: the claim (read, mark, attempt), the check for an unfinished earlier
# action, the technician's read, the attempts' close, the last look for runnable actions, the
# claim that finds none (a line of one action: 16, as before runs were batched).
LINE_OVERHEAD = 8


def _csv(rows: int, prefix: str, email: str) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["reference", "title", "scheduled_start", "scheduled_end", "assignee_email"])
    for i in range(rows):
        w.writerow([f"{prefix}-{i}", f"Visit {i}", "2027-03-01T09:00", "2027-03-01T10:00", email])
    return out.getvalue()


def test_an_import_row_costs_no_statement_of_its_own(make_user, statements, db):
    """Importing 200 more rows costs a few statements per chunk, none per row."""
    tech = make_user("technician")
    db.session.add(Device(device_id="phone-import", user_id=tech.id, push_token="push-x"))
    db.session.commit()
    actor = job_ops.Actor(None, job_ops.Origin.IMPORT)

    def run(rows: int, prefix: str) -> list[str]:
        with statements() as seen:
            result = imports.import_rows(
                import_file.read_csv(_csv(rows, prefix, tech.email)), actor
            )
            db.session.commit()
        assert (result.created, result.errors) == (rows, [])
        return seen

    few, many = run(10, "A"), run(210, "B")
    per_row = (len(many) - len(few)) / 200
    assert per_row <= PER_ROW, (per_row, Counter(s[:60] for s in many).most_common(5))


# New jobs are written a chunk (500 rows) at a time: a statement per row would be 1.0.
PER_ROW = 0.1


@pytest.mark.skipif(BACKEND != "postgresql", reason="SQLite's planner always uses the index")
def test_a_large_import_into_an_empty_database_finds_references_by_the_index(make_user, db):
    """The planner learns the table grew, so each chunk's lookup does not read every job."""
    tech = make_user("technician")
    actor = job_ops.Actor(None, job_ops.Origin.IMPORT)
    rows = import_file.read_csv(_csv(3000, "BIG", tech.email))
    result = imports.import_rows(rows, actor)
    db.session.commit()
    assert (result.created, result.errors) == (3000, [])
    refs = ", ".join(f"'BIG-{i}'" for i in range(0, 3000, 300))
    plan = (
        db.session.execute(text(f"EXPLAIN SELECT id FROM jobs WHERE reference IN ({refs})"))
        .scalars()
        .all()
    )
    assert "Seq Scan" not in plan[0] and "uq_jobs_reference" in "\n".join(plan), plan
