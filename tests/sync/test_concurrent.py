"""Bulk import, portal edits and phones pulling at the same time leave no phone behind."""

from __future__ import annotations

import subprocess
import threading

from sqlalchemy import select

from portal.domain import jobs as job_ops
from portal.extensions import db, sqlite_writer
from portal.models import Job, User
from portal.simulator.client import DeviceClient
from tests.conftest import ROOT

TECHNICIANS = 3
ROWS = 300


def _csv(path, emails: list[str]) -> None:
    lines = [
        "reference,title,description,customer,address,scheduled_start,scheduled_end,assignee_email"
    ]
    for n in range(ROWS):
        start = f"2027-02-{1 + n % 28:02d}T{8 + n % 9:02d}:00:00+00:00"
        lines.append(f"IMP-{n:05d},Imported visit {n},,Customer {n},,{start},,{emails[n % 3]}")
    path.write_text("\n".join(lines) + "\n")


def test_phones_converge_while_an_import_and_portal_edits_commit(
    app, live_server, base_env, make_user, tmp_path
):
    techs = [make_user("technician") for _ in range(TECHNICIANS)]
    emails = [t.email for t in techs]
    tech_ids = [t.id for t in techs]
    dispatcher_id = make_user("dispatcher").id
    actor = job_ops.Actor.portal(db.session.get(User, dispatcher_id))
    for n in range(30):
        job = job_ops.create({"title": f"Planned {n}"}, actor)
        job_ops.assign(job, techs[n % TECHNICIANS], actor)
    db.session.commit()
    db.session.remove()
    phones = [DeviceClient(live_server, email, "password123", page_limit=7) for email in emails]
    for phone in phones:
        assert phone.sync().error is None
    csv_path = tmp_path / "jobs.csv"
    _csv(csv_path, emails)
    done = threading.Event()
    edit_errors: list[BaseException] = []

    def edit_in_the_portal() -> None:
        # A dispatcher keeps editing and reassigning the planned jobs meanwhile.
        sqlite_writer.set(True)  # as a portal form post does
        with app.app_context():
            try:
                n = 0
                while not done.is_set():
                    ids = list(db.session.scalars(select(Job.id).order_by(Job.id).limit(30)))
                    job = job_ops.get_for_update(ids[n % len(ids)])
                    job_ops.update(job, {"title": f"Edited {n}"}, actor_in_thread())
                    if n % 4 == 0:
                        tech = db.session.get(User, tech_ids[n % TECHNICIANS])
                        job_ops.assign(job, tech, actor_in_thread())
                    db.session.commit()
                    n += 1
            except BaseException as exc:
                edit_errors.append(exc)
            finally:
                db.session.remove()

    def actor_in_thread() -> job_ops.Actor:
        return job_ops.Actor.portal(db.session.get(User, dispatcher_id))

    importer = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/flask"),
            "--app",
            "wsgi",
            "jobs",
            "import",
            str(csv_path),
            "--batch",
            "20",
        ],
        cwd=ROOT,
        env=base_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    editor = threading.Thread(target=edit_in_the_portal)
    editor.start()
    pulls = 0
    try:
        while importer.poll() is None:  # phones keep syncing while the import commits
            for phone in phones:
                report = phone.sync()
                assert report.error is None, report.error
                pulls += report.pulls
    finally:
        done.set()
        editor.join(60)
        out, err = importer.communicate(timeout=120)
    assert importer.returncode == 0, err
    assert not edit_errors, edit_errors
    assert pulls > len(phones)  # they did pull while the import was under way
    for phone, email in zip(phones, emails, strict=True):
        assert phone.sync().error is None
        fresh = DeviceClient(live_server, email, "password123", page_limit=50)
        assert fresh.sync().error is None
        assert phone.jobs == fresh.jobs
        assert len([j for j in fresh.jobs.values() if j["reference"].startswith("IMP-")]) == (
            ROWS // TECHNICIANS
        )
