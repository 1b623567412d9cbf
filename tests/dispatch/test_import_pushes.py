"""A CSV import wakes each technician's phone once, naming every job it gave or changed."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.domain import import_file, imports
from portal.domain import jobs as job_ops
from portal.models import Device, FeedEntry, JobEvent, Push, PushJob

HEADER = "reference,title,description,customer,address,scheduled_start,scheduled_end,assignee_email"


def test_an_import_records_one_push_per_technicians_phone(db, tech, make_job):
    ann, bob = tech("Ann", email="ann@example.com"), tech("Bob", email="bob@example.com")
    earlier = make_job("Earlier job", assignee=ann)  # an update in the file, not a new job
    for who in (ann, bob):  # the phones sign in after that job was given: no push about it yet
        db.session.add(Device(device_id=f"phone-{who.id}", user_id=who.id, push_token="t"))
    db.session.commit()
    lines = [f"N-{i},New job {i},,,,,,{'ann' if i % 2 else 'bob'}@example.com" for i in range(600)]
    lines.append(f"{earlier.reference},Earlier job renamed,,,,,,")
    text = HEADER + "\n" + "\n".join(lines) + "\n"
    result = imports.import_rows(
        import_file.read_csv(text), job_ops.Actor(None, job_ops.Origin.IMPORT)
    )
    db.session.commit()
    assert (result.created, result.updated, result.errors) == (600, 1, [])

    pushes = {p.technician_id: p for p in db.session.scalars(select(Push))}
    assert set(pushes) == {ann.id, bob.id}  # one each, not one per row
    assert pushes[ann.id].title == "301 jobs changed"
    assert pushes[bob.id].title == "300 jobs changed"
    named = dict(
        db.session.execute(select(PushJob.push_id, func.count()).group_by(PushJob.push_id)).all()
    )
    assert named == {pushes[ann.id].id: 301, pushes[bob.id].id: 300}
    # History and the phones' feed are written for every job, as one by one.
    assert db.session.scalar(select(func.count()).select_from(JobEvent)) == 2 + 600 * 2 + 1
    feed = db.session.scalar(
        select(func.count(func.distinct(FeedEntry.job_id))).where(FeedEntry.kind == "upsert")
    )
    assert feed == 601


def test_a_chunk_redone_row_by_row_pushes_each_job_once(db, tech, make_job):
    ann = tech("Ann", email="ann@example.com")
    db.session.add(Device(device_id="phone-ann", user_id=ann.id, push_token="t"))
    gone = make_job("Cancelled job")
    job_ops.cancel(gone, job_ops.Actor(None, job_ops.Origin.SYSTEM))
    db.session.commit()
    text = (
        HEADER
        + "\nB-1,Good,,,,,,ann@example.com\n"
        + f"{gone.reference},Renamed,,,,,,\n"  # refused by the domain: the chunk is redone
        + "B-2,Also good,,,,,,ann@example.com\n"
    )
    result = imports.import_rows(
        import_file.read_csv(text), job_ops.Actor(None, job_ops.Origin.IMPORT)
    )
    db.session.commit()
    assert result.created == 2 and [e.line for e in result.errors] == [3]
    push = db.session.scalars(select(Push)).one()
    assert push.title == "2 jobs changed" and push.coalesced == 2
    assert db.session.scalar(select(func.count()).select_from(PushJob)) == 2
