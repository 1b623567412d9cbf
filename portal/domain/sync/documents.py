"""Job documents and action results as devices see them, loaded without ORM objects."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY

from portal.models import InboxMessage, Job, JobFile, Status


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


_JOB_COLUMNS = (
    Job.id,
    Job.reference,
    Job.title,
    Job.description,
    Job.customer,
    Job.address,
    Job.scheduled_start,
    Job.scheduled_end,
    Job.status,
    Job.version,
    Job.report,
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


# Built once: an IN list is one array parameter on PostgreSQL, an expanding one elsewhere.
_IDS_PG = any_(bindparam("ids", type_=ARRAY(Integer)))
_IDS = bindparam("ids", expanding=True)
_JOBS_PG = select(*_JOB_COLUMNS).where(Job.id == _IDS_PG)
_JOBS = select(*_JOB_COLUMNS).where(Job.id.in_(_IDS))
_FILES_PG = select(*_FILE_COLUMNS).where(JobFile.job_id == _IDS_PG).order_by(JobFile.id)
_FILES = select(*_FILE_COLUMNS).where(JobFile.job_id.in_(_IDS)).order_by(JobFile.id)


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
    """Return the job as a device sees it: data, report values and file metadata only."""
    return {
        "id": job.id,
        "reference": job.reference,
        "title": job.title,
        "description": job.description or "",
        "customer": job.customer or "",
        "address": job.address or "",
        "scheduled_start": iso(job.scheduled_start),
        "scheduled_end": iso(job.scheduled_end),
        "status": job.status,
        "version": job.version,
        "report": job.report or {},
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


def load_jobs(conn: Any, job_ids: list[int]) -> tuple[dict[int, Any], dict[int, list[Any]]]:
    """Return the rows of ``job_ids`` and their files, by job id (two indexed reads)."""
    pg = conn.dialect.name == "postgresql"
    params = {"ids": job_ids}
    jobs = {j.id: j for j in conn.execute(_JOBS_PG if pg else _JOBS, params)}
    files: dict[int, list[Any]] = {}
    for f in conn.execute(_FILES_PG if pg else _FILES, params):
        files.setdefault(f.job_id, []).append(f)
    return jobs, files
