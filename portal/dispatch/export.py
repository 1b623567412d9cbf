"""Export the job list (as filtered) to CSV, in the columns the import reads back.

Times are ISO 8601 in the viewer's zone with their offset (2030-06-03T09:00:00+02:00): the
reader sees their local time, and the file imports back to the same instants whatever the
company's zone.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from flask import Response, request, stream_with_context
from sqlalchemy.orm import selectinload

from portal import localtime
from portal.dispatch import bp
from portal.dispatch.jobs_list import SORTS, Filters, filtered
from portal.domain.import_file import COLUMNS
from portal.extensions import db
from portal.models import Job, utcnow

EXTRA = ("status",)  # not read by the import, which ignores unknown columns
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    """Return a cell a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _time(value) -> str:
    return localtime.local(value).isoformat() if value is not None else ""


def _rows(f: Filters) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out)

    def flush() -> str:
        chunk = out.getvalue()
        out.seek(0)
        out.truncate()
        return chunk

    writer.writerow([*COLUMNS, *EXTRA])
    yield flush()
    column = SORTS[f.sort]
    order = (column.desc(), Job.id.desc()) if f.desc else (column.asc(), Job.id.asc())
    query = filtered(f).options(selectinload(Job.assignee)).order_by(*order)
    for job in db.session.scalars(query.execution_options(yield_per=500)):
        writer.writerow(
            [
                _cell(job.reference),
                _cell(job.title),
                _cell(job.description),
                _cell(job.customer),
                _cell(job.address),
                _time(job.scheduled_start),
                _time(job.scheduled_end),
                _cell(job.assignee.email if job.assignee else ""),
                job.status,
            ]
        )
        if out.tell() > 64 * 1024:
            yield flush()
    yield flush()


@bp.route("/jobs/export.csv")
def jobs_export():
    """Download the jobs the list's filters match, all pages, as CSV."""
    f = Filters.from_args(request.args)
    stamp = localtime.local(utcnow()).strftime("%Y%m%d-%H%M")  # a file name, not for reading
    return Response(
        stream_with_context(_rows(f)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="jobs-{stamp}.csv"'},
    )
