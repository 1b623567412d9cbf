"""The delta pull: a technician's feed since a cursor, collapsed into job documents.

Cost is proportional to the feed entries after the cursor (an indexed range on
``(technician_id, id)``), never to the number of jobs in the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Integer, any_, bindparam, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from portal.extensions import db
from portal.models import (
    Device,
    FeedEntry,
    FeedKind,
    InboxMessage,
    Job,
    JobFile,
    Status,
    utcnow,
)

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
NETWORKS = ("offline", "2g", "edge", "gprs", "3g", "lte", "5g", "wifi", "unknown")
# A successful sync is recorded at most this often when nothing else changed, so a
# device polling an empty feed does not cost a write per pull.
RECORD_EVERY = timedelta(seconds=30)
# Longer than any transaction that appends to the feed is expected to stay open.
SETTLE_SECONDS = 5.0


_SERIALIZERS: dict[str, URLSafeSerializer] = {}


class CursorError(ValueError):
    """The cursor was not made by this server for this technician."""


def _serializer() -> URLSafeSerializer:
    # Built once per key: making one costs more than signing a cursor.
    key = current_app.config["SECRET_KEY"]
    cached = _SERIALIZERS.get(key)
    if cached is None:
        cached = _SERIALIZERS[key] = URLSafeSerializer(key, salt="fieldsync.sync-cursor")
    return cached


def encode_cursor(technician_id: int, position: int) -> str:
    """Return the opaque cursor for a technician's feed position."""
    return _serializer().dumps([technician_id, position])


def decode_cursor(cursor: str | None, technician_id: int) -> int:
    """Return the feed position of ``cursor`` (0 when absent); raise CursorError if bad."""
    if not cursor:
        return 0
    try:
        value = _serializer().loads(cursor)
    except (BadSignature, ValueError, UnicodeError) as exc:
        raise CursorError("The cursor is damaged or was not issued by this server.") from exc
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        or value[1] < 0
    ):
        raise CursorError("The cursor is damaged or was not issued by this server.")
    if value[0] != technician_id:
        raise CursorError("The cursor belongs to another technician: pull without a cursor.")
    return value[1]


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


@dataclass
class Page:
    jobs: list[dict] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    action_results: list[dict] = field(default_factory=list)
    position: int = 0
    has_more: bool = False


def visible_to(job: Any, technician_id: int) -> bool:
    return (
        job is not None
        and job.assignee_id == technician_id
        and job.status != Status.CANCELLED.value
    )


def _next_position(rows: list, start: int, has_more: bool) -> int:
    """Return the cursor position after ``rows``, leaving room for late commits.

    Feed ids come from a sequence, so a transaction that took id 100 may commit after the
    one that took id 101. Entries written in the last few seconds (and anything committed
    between them later) are therefore read again by the next pull: sending a job twice is
    harmless, missing it is not. Entries older than the settle time cannot have an
    unfinished neighbour with a smaller id.
    """
    settle = current_app.config.get("SYNC_SETTLE_SECONDS", SETTLE_SECONDS)
    if has_more or settle <= 0:
        return rows[-1].id
    horizon = utcnow() - timedelta(seconds=settle)
    unsettled = [r.id for r in rows if r.created_at is None or r.created_at >= horizon]
    if not unsettled:
        return rows[-1].id
    # Only ids below the first unsettled entry are certain to have no late sibling.
    before = [r.id for r in rows if r.id < min(unsettled)]
    return before[-1] if before else start


_FEED_QUERY = (
    select(
        FeedEntry.id,
        FeedEntry.job_id,
        FeedEntry.kind,
        FeedEntry.message_id,
        FeedEntry.created_at,
    )
    .where(
        FeedEntry.technician_id == bindparam("technician_id"),
        FeedEntry.id > bindparam("position"),
    )
    .order_by(FeedEntry.id)
    .limit(bindparam("limit"))
)


def read_page(technician_id: int, device_id: int, position: int, limit: int) -> Page:
    """Read up to ``limit`` feed entries after ``position`` and collapse them."""
    # The core path: an empty delta is one indexed range read and no object loading.
    rows = (
        db.session.connection()
        .execute(
            _FEED_QUERY,
            {"technician_id": technician_id, "position": position, "limit": limit + 1},
        )
        .all()
    )
    page = Page(position=position, has_more=len(rows) > limit)
    rows = rows[:limit]
    if not rows:
        return page
    page.position = _next_position(rows, position, page.has_more)
    # The last entry of a job in the range wins: removed then re-added comes out present.
    last_kind: dict[int, str] = {}
    message_ids: list[int] = []
    for row in rows:
        if row.kind == FeedKind.ACTION_RESULT.value:
            if row.message_id is not None:
                message_ids.append(row.message_id)
        else:
            last_kind[row.job_id] = row.kind
    wanted = [j for j, kind in last_kind.items() if kind == FeedKind.UPSERT.value]
    jobs: dict[int, Any] = {}
    files: dict[int, list[Any]] = {}
    if wanted:
        conn = db.session.connection()
        pg = conn.dialect.name == "postgresql"
        params = {"ids": wanted}
        jobs = {j.id: j for j in conn.execute(_JOBS_PG if pg else _JOBS, params)}
        for f in conn.execute(_FILES_PG if pg else _FILES, params):
            files.setdefault(f.job_id, []).append(f)
    for job_id, kind in sorted(last_kind.items()):
        job = jobs.get(job_id)
        # The job's present state decides: if it left the technician after this entry was
        # written, say so now (a later entry in the feed says it again, harmlessly).
        if kind == FeedKind.UPSERT.value and visible_to(job, technician_id):
            page.jobs.append(job_document(job, files.get(job_id, [])))
        else:
            page.removed.append(job_id)
    if message_ids:
        messages = db.session.scalars(
            select(InboxMessage).where(
                InboxMessage.id.in_(set(message_ids)), InboxMessage.device_id == device_id
            )
        )
        page.action_results = [action_result(m) for m in sorted(messages, key=lambda m: m.id)]
    return page


def needs_recording(device: Any, unsent_count: int | None, network: str | None) -> bool:
    """Tell whether a successful sync should be written to the device now."""
    if device.last_sync_at is None or utcnow() - device.last_sync_at >= RECORD_EVERY:
        return True
    return (unsent_count is not None and unsent_count != device.unsent_count) or (
        network is not None and network != device.network
    )


def record_sync(device: Any, unsent_count: int | None, network: str | None) -> None:
    """Record a successful sync (has_more false) with the device's reported state."""
    values: dict[str, Any] = {"last_sync_at": utcnow()}
    if unsent_count is not None:
        values["unsent_count"] = unsent_count
    if network is not None:
        values["network"] = network
    db.session.execute(update(Device).where(Device.id == device.id).values(**values))
