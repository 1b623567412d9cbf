"""CSV import times: without an offset in the company's zone, with one as given, DST exact."""

from __future__ import annotations

import csv
import io
import subprocess
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from portal.domain import timezones
from portal.models import Job
from tests.conftest import ROOT
from tests.dispatch.test_import import HEADER, run_cli
from tests.dispatch.test_local_time import visible


def _import(client, body: str):
    return client.post_form(
        "/jobs/import",
        {"file": (io.BytesIO(body.encode()), "jobs.csv", "text/csv")},
        content_type="multipart/form-data",
    )


def test_import_reads_times_without_offset_in_the_company_zone(client, dispatcher, db):
    timezones.set_company_zone("Europe/Amsterdam", None)
    dispatcher.timezone = "Asia/Tokyo"  # the importer's own zone does not matter
    db.session.commit()
    page = visible(client.get("/jobs/import"))
    assert "A time without an offset is read in the company's time zone (Europe/Amsterdam)" in page
    assert "Not your own zone, Asia/Tokyo" in page
    body = (
        HEADER
        + "\nT-1,Local,,,,2030-06-03T09:00,2030-06-03T10:30,"
        + "\nT-2,Offset,,,,2030-06-03T09:00+09:00,,"
        + "\nT-3,Zulu,,,,2030-06-03T09:00Z,,"
        + "\nT-4,Gap,,,,2030-03-31T02:30,,"
        + "\nT-5,Overlap,,,,2030-10-27T02:30,,\n"
    )
    response = _import(client, body)
    assert response.status_code == 200
    errors = visible(response)
    assert "T-4 scheduled_start 2030-03-31 02:30 does not exist: clocks go forward" in errors
    assert "from 02:00 to 03:00 on 2030-03-31 in Europe/Amsterdam" in errors
    db.session.rollback()
    starts = {
        ref: start.isoformat()
        for ref, start in db.session.execute(select(Job.reference, Job.scheduled_start))
    }
    assert starts == {
        "T-1": "2030-06-03T07:00:00+00:00",
        "T-2": "2030-06-03T00:00:00+00:00",
        "T-3": "2030-06-03T09:00:00+00:00",
        "T-5": "2030-10-27T00:30:00+00:00",  # the first of the two 02:30s, still summer time
    }
    end = db.session.scalar(select(Job.scheduled_end).where(Job.reference == "T-1"))
    assert end.isoformat() == "2030-06-03T08:30:00+00:00"


def test_the_cli_import_reads_the_company_zone_and_says_so(db, base_env, tmp_path):
    timezones.set_company_zone("America/New_York", None)
    db.session.commit()
    path = tmp_path / "jobs.csv"
    path.write_text(HEADER + "\nN-1,Boiler,,,,2030-01-15T08:00,,\nN-2,Gap,,,,2030-03-10T02:10,,\n")
    result = run_cli(base_env, str(path))
    assert result.returncode == 1
    assert "line 3 N-2 (scheduled_start): 2030-03-10 02:10 does not exist" in result.stderr
    db.session.rollback()
    start = db.session.scalar(select(Job.scheduled_start).where(Job.reference == "N-1"))
    assert start.isoformat() == "2030-01-15T13:00:00+00:00"
    help_text = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "jobs", "import", "--help"],
        cwd=ROOT,
        env=base_env,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    flat = " ".join(help_text.split())
    assert "A time without an offset (2026-05-04T09:00) is read in the company's time zone" in flat
    assert "a time with an offset (2026-05-04T09:00+02:00, or Z for +00:00) keeps it" in flat


def test_the_export_writes_local_times_with_their_offset_and_imports_back(
    client, dispatcher, make_job, db
):
    timezones.set_company_zone("Europe/Amsterdam", None)
    dispatcher.timezone = "Asia/Tokyo"
    db.session.commit()
    start = datetime(2030, 6, 3, 7, tzinfo=UTC)
    job = make_job("=HYPERLINK(1)", scheduled_start=start, scheduled_end=start + timedelta(hours=1))
    make_job("Elsewhere", customer="Globex")
    response = client.get("/jobs/export.csv?q=acme")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["reference"] for r in rows] == [job.reference]  # the list's filters apply
    row = rows[0]
    assert row["scheduled_start"] == "2030-06-03T16:00:00+09:00"  # Tokyo time, with its offset
    assert row["scheduled_end"] == "2030-06-03T17:00:00+09:00"
    assert row["title"] == "'=HYPERLINK(1)"  # a spreadsheet shows it, never runs it
    assert "UTC" not in response.get_data(as_text=True)
    # The file imports back onto the same instants: nothing changes but the quoted title.
    again = _import(client, response.get_data(as_text=True).replace("'=HYPERLINK", "=HYPERLINK"))
    assert "Every row was imported." in visible(again)
    db.session.rollback()
    assert db.session.get(Job, job.id).scheduled_start == start
    assert "0 created 0 updated 1 unchanged 0 bad rows" in visible(again)
