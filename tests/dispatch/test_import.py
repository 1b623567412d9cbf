"""CSV import: through the real CLI (progress bar, 10,000 rows) and from the portal page."""

from __future__ import annotations

import csv
import io
import subprocess

from sqlalchemy import func, select

from portal.domain import counts
from portal.models import Job, JobEvent
from tests.conftest import ROOT

HEADER = "reference,title,description,customer,address,scheduled_start,scheduled_end,assignee_email"


def run_cli(base_env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "jobs", "import", *args],
        cwd=ROOT,
        env=base_env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def write_rows(path, rows: list[list[str]]) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER.split(","))
        writer.writerows(rows)


def test_ten_thousand_rows_import_with_a_progress_bar(db, tech, base_env, tmp_path):
    techs = [tech(f"Tech {i}", email=f"t{i}@example.com") for i in range(5)]
    rows = [
        [
            f"IMP-{i:05d}",
            f"Service visit {i}",
            "Imported",
            f"Customer {i % 97}",
            f"{i} Long Road",
            f"2030-03-{1 + i % 28:02d}T{8 + i % 9:02d}:00:00Z",
            f"2030-03-{1 + i % 28:02d}T{9 + i % 9:02d}:30:00Z",
            techs[i % 5].email if i % 3 else "",
        ]
        for i in range(10_000)
    ]
    path = tmp_path / "jobs.csv"
    write_rows(path, rows)
    result = run_cli(base_env, str(path))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "10000/10000" in result.stderr and "100%" in result.stderr  # tqdm's bar
    assert "10000 created, 0 updated, 0 unchanged, 0 bad rows." in result.stdout
    db.session.rollback()  # end the snapshot taken before the import
    assert db.session.scalar(select(func.count(Job.id))) == 10_000
    job = db.session.scalar(select(Job).where(Job.reference == "IMP-00001"))
    assert job.assignee_id == techs[1].id and job.status == "assigned"
    assert job.scheduled_start.isoformat() == "2030-03-02T09:00:00+00:00"
    assert counts.by_status()["assigned"] == 6666 and counts.by_status()["new"] == 3334
    origins = set(db.session.scalars(select(JobEvent.origin).where(JobEvent.job_id == job.id)))
    assert origins == {"import"}


def test_bad_rows_are_reported_by_line_and_the_rest_imported(db, tech, base_env, tmp_path):
    tech("Tariq", email="tariq@example.com")
    path = tmp_path / "mixed.csv"
    path.write_text(
        HEADER
        + "\n"
        + "A-1,Boiler service,,Acme,1 Main St,2030-01-01T09:00:00Z,,tariq@example.com\n"
        + "A-2,,no title,Acme,,,,\n"
        + 'A-3,"Leaking pipe","two\nlines",Globex,,not-a-date,,\n'
        + "A-4,Fix radiator,,Initech,,2030-01-01T09:00:00Z,2030-01-01T08:00:00Z,\n"
        + "A-5,Check alarms,,Hooli,,,,nobody@example.com\n"
        + "A-6,Install heat pump,,Wayne,,2030-01-02T10:00:00,,\n"
    )
    result = run_cli(base_env, str(path))
    assert result.returncode == 1
    err = result.stderr
    assert "line 3 A-2 (title): A job needs a title." in err
    assert "line 4 A-3 (scheduled_start): 'not-a-date' is not an ISO 8601" in err
    assert "line 6 A-4 (scheduled_end): The end must not be before the start." in err
    assert "line 7 A-5 (assignee_email): No technician has the email nobody@example.com." in err
    assert "2 created, 0 updated, 0 unchanged, 4 bad rows." in result.stdout
    db.session.rollback()  # end the snapshot taken before the import
    refs = set(db.session.scalars(select(Job.reference)))
    assert refs == {"A-1", "A-6"}
    assert counts.by_status() == {**dict.fromkeys(counts.by_status(), 0), "assigned": 1, "new": 1}
    # Importing again updates by reference instead of duplicating.
    path.write_text(HEADER + "\nA-6,Install heat pump (2 units),,Wayne,,,,\n")
    again = run_cli(base_env, str(path))
    assert "0 created, 1 updated" in again.stdout
    db.session.rollback()  # end the snapshot taken before the import
    assert db.session.scalar(select(Job.title).where(Job.reference == "A-6")).endswith("(2 units)")


def test_import_page_reports_bad_rows_and_lands_the_good(client, dispatcher, db):
    body = HEADER + "\nP-1,Boiler service,,Acme,,,,\nP-2,,,,,,,\nP-3,Fix radiator,,,,,,\n"
    response = client.post_form(
        "/jobs/import",
        {"file": (io.BytesIO(body.encode()), "jobs.csv", "text/csv")},
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<td class="mono">3</td><td class="mono">P-2</td>' in html
    assert "A job needs a title." in html
    db.session.rollback()  # end the snapshot taken before the import
    assert set(db.session.scalars(select(Job.reference))) == {"P-1", "P-3"}


def test_import_page_refuses_a_file_without_the_columns(client, dispatcher):
    response = client.post_form(
        "/jobs/import",
        {"file": (io.BytesIO(b"name,when\nx,y\n"), "jobs.csv", "text/csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "missing: reference, title" in response.get_data(as_text=True)


def test_a_row_the_domain_refuses_mid_chunk_leaves_the_others_in(db, make_job):
    from portal.domain import import_file, imports
    from portal.domain import jobs as job_ops

    gone = make_job("Old job")
    job_ops.cancel(gone, job_ops.Actor(None, job_ops.Origin.SYSTEM))
    db.session.commit()
    text = (
        HEADER
        + "\nC-1,First,,,,,,\n"
        + f"{gone.reference},Renamed,,,,,,\n"  # refused by the domain: the job is cancelled
        + "C-2,Second,,,,,,\nC-1,First again,,,,,,\n"
    )
    result = imports.import_rows(
        import_file.read_csv(text), job_ops.Actor(None, job_ops.Origin.IMPORT)
    )
    db.session.commit()
    assert [(e.line, e.message) for e in result.errors] == [
        (3, "A cancelled job cannot be edited.")
    ]
    assert (result.created, result.updated) == (2, 1)
    titles = dict(db.session.execute(select(Job.reference, Job.title)).all())
    assert titles["C-1"] == "First again" and titles["C-2"] == "Second"
    assert titles[gone.reference] == "Old job"
    assert counts.by_status()["new"] == 2 and counts.by_status()["cancelled"] == 1
