"""Job documents and action results as devices see them, loaded without ORM objects."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    DateTime,
    Integer,
    String,
    Text,
    any_,
    bindparam,
    cast,
    column,
    func,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY

from portal.extensions import db, read_connection
from portal.integrations.direct_read import DirectRead
from portal.models import InboxMessage, Job, JobFile, Status

# JSON text already written (a stored report), put into an answer as it is by ``dumps``.
RawJSON = orjson.Fragment


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def dumps(document: Any) -> bytes:
    """Return a document (which may hold RawJSON) as compact UTF-8 JSON."""
    return orjson.dumps(document)


def _job_columns(pg: bool) -> tuple[Any, ...]:
    """The job's columns as a document needs them, read with the least conversion.

    Times come as naive UTC (PostgreSQL) or as stored text (SQLite) and are written as ISO
    8601 by :func:`_iso_utc`; the report comes as its stored JSON text and goes into the
    answer as it is: a 50-job page otherwise spends a fifth of its time decoding reports
    and times only to encode them again.
    """
    raw_time = DateTime() if pg else String()
    return (
        Job.id,
        Job.reference,
        Job.title,
        Job.description,
        Job.customer,
        Job.address,
        type_coerce(Job.scheduled_start, raw_time).label("scheduled_start"),
        type_coerce(Job.scheduled_end, raw_time).label("scheduled_end"),
        Job.status,
        Job.version,
        cast(Job.report, Text).label("report"),
        Job.assignee_id,
    )


_FILE_COLUMNS = (
    JobFile.id,
    JobFile.job_id,
    JobFile.kind,
    JobFile.name,
    JobFile.size,
    JobFile.sha256,
    JobFile.content_type,
)


# Built once, the ids as one parameter: an array on PostgreSQL, a JSON array read by
# json_each on SQLite (an expanding IN list is rewritten for every call).
_IDS_PG = any_(bindparam("ids", type_=ARRAY(Integer)))
_IDS = select(column("value", Integer)).select_from(
    func.json_each(bindparam("ids", type_=String()))
)
_JOBS_PG = DirectRead(select(*_job_columns(pg=True)).where(Job.id == _IDS_PG))
_JOBS = select(*_job_columns(pg=False)).where(Job.id.in_(_IDS))
_FILES_PG = DirectRead(select(*_FILE_COLUMNS).where(JobFile.job_id == _IDS_PG).order_by(JobFile.id))
_FILES = select(*_FILE_COLUMNS).where(JobFile.job_id.in_(_IDS)).order_by(JobFile.id)


def _iso_utc(value: datetime | str | None) -> str | None:
    """Write a stored UTC time (naive, or SQLite's text) as ``datetime.isoformat`` would."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.isoformat() + "+00:00"


def file_meta(f: Any) -> dict[str, Any]:
    """Return a file's metadata as devices see it (the fields of ``JobFile.to_meta``)."""
    return {
        "id": f.id,
        "name": f.name,
        "size": f.size,
        "sha256": f.sha256,
        "content_type": f.content_type,
    }


def job_document(job: Any, files: list[Any]) -> dict[str, Any]:
    """Return the job as a device sees it: data, report values and file metadata only.

    ``job`` is a row of :func:`load_jobs`; the document is meant for :func:`dumps`.
    """
    return {
        "id": job.id,
        "reference": job.reference,
        "title": job.title,
        "description": job.description or "",
        "customer": job.customer or "",
        "address": job.address or "",
        "scheduled_start": _iso_utc(job.scheduled_start),
        "scheduled_end": _iso_utc(job.scheduled_end),
        "status": job.status,
        "version": job.version,
        "report": RawJSON(job.report if job.report not in (None, "null") else "{}"),
        "attachments": [file_meta(f) for f in files if f.kind == "attachment"],
        "photos": [file_meta(f) for f in files if f.kind == "photo"],
    }


def action_result(message: InboxMessage) -> dict[str, Any]:
    """Return an inbox message's outcome as the device sees it."""
    out: dict[str, Any] = {
        "id": message.action_id,
        "job_id": message.job_id,
        "state": message.state,
        "updated_at": iso(message.updated_at),
    }
    if message.error_category:
        out["category"] = message.error_category
    if message.error_message:
        out["message"] = message.error_message
    return out


def visible_to(job: Any, technician_id: int) -> bool:
    return (
        job is not None
        and job.assignee_id == technician_id
        and job.status != Status.CANCELLED.value
    )


def load_jobs(job_ids: list[int]) -> tuple[dict[int, Any], dict[int, list[Any]]]:
    """Return the rows of ``job_ids`` and their files, by job id (two indexed reads)."""
    if db.engine.dialect.name == "postgresql":
        jobs_rows = _JOBS_PG.all(db.engine, ids=job_ids)
        file_rows = _FILES_PG.all(db.engine, ids=job_ids)
    else:
        conn, params = read_connection(), {"ids": json.dumps(job_ids)}
        jobs_rows, file_rows = conn.execute(_JOBS, params), conn.execute(_FILES, params)
    jobs = {j.id: j for j in jobs_rows}
    files: dict[int, list[Any]] = {}
    for f in file_rows:
        files.setdefault(f.job_id, []).append(f)
    return jobs, files
