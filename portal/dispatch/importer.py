"""Import jobs from a CSV file uploaded in the portal (the same service as the CLI)."""

from __future__ import annotations

from datetime import datetime

from flask import render_template, request

from portal import localtime
from portal.dispatch import bp
from portal.dispatch.common import actor
from portal.dispatch.forms import ImportForm
from portal.domain import import_file, imports, timezones
from portal.domain import jobs as job_ops
from portal.extensions import db


@bp.route("/jobs/import", methods=["GET", "POST"])
def jobs_import():
    form = ImportForm()
    result = None
    error = None
    if form.validate_on_submit():
        raw = form.file.data.read()
        try:
            rows = import_file.read_csv(raw.decode("utf-8-sig"))
        except UnicodeDecodeError:
            error = "The file is not UTF-8 text; save it as CSV (UTF-8) and try again."
        except import_file.ImportFileError as exc:
            error = str(exc)
        else:
            who = actor().user
            result = imports.import_rows(rows, job_ops.Actor(who, job_ops.Origin.IMPORT))
            db.session.commit()
    elif request.method == "POST":
        error = "; ".join(form.file.errors) or "Choose a CSV file to import."
    status = 422 if error else 200
    zone = timezones.company_zone()
    return (
        render_template(
            "dispatch/import.html",
            form=form,
            result=result,
            error=error,
            columns=import_file.COLUMNS,
            time_help=imports.TIME_HELP.format(zone=timezones.company_zone_name()),
            # The sample's second row spells out the company's offset on its date.
            sample_offset=localtime.offset_text(datetime(2026, 5, 4, 14, tzinfo=zone)),
        ),
        status,
    )
