"""The delta pull: a technician's feed since a cursor, collapsed into job documents.

Cost is proportional to the feed entries after the cursor (an indexed range on
``(technician_id, id)``), never to the number of jobs in the database. A pull without a
cursor (a first sync) sends the technician's current jobs instead of replaying history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import bindparam, select, update

from portal.domain.sync_documents import action_result, job_document, load_jobs, visible_to
from portal.extensions import db
from portal.models import (
    Device,
    FeedEntry,
    FeedKind,
    InboxMessage,
    Job,
    MessageState,
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


OPEN_STATES = (
    MessageState.QUEUED.value,
    MessageState.PROCESSING.value,
    MessageState.FAILED.value,
)
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


def encode_cursor(technician_id: int, position: int, after_job: int | None = None) -> str:
    """Return the opaque cursor for a feed position (and a snapshot under way)."""
    value = [technician_id, position] if after_job is None else [technician_id, position, after_job]
    return _serializer().dumps(value)


@dataclass(frozen=True)
class Cursor:
    position: int  # feed entries up to here are delivered (or covered by the snapshot)
    after_job: int | None = None  # a first sync under way: jobs above this id still to send


def decode_cursor(cursor: str | None, technician_id: int) -> Cursor | None:
    """Return the cursor's state (None when absent); raise CursorError if not ours."""
    if not cursor:
        return None
    try:
        value = _serializer().loads(cursor)
    except (BadSignature, ValueError, UnicodeError) as exc:
        raise CursorError("The cursor is damaged or was not issued by this server.") from exc
    if (
        not isinstance(value, list)
        or len(value) not in (2, 3)
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
    ):
        raise CursorError("The cursor is damaged or was not issued by this server.")
    if value[0] != technician_id:
        raise CursorError("The cursor belongs to another technician: pull without a cursor.")
    return Cursor(value[1], value[2] if len(value) == 3 else None)


@dataclass
class Page:
    jobs: list[dict] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    action_results: list[dict] = field(default_factory=list)
    position: int = 0
    has_more: bool = False
    after_job: int | None = None  # set while a first sync has more jobs to send


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
    jobs, files = load_jobs(db.session.connection(), wanted) if wanted else ({}, {})
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


_TAIL_QUERY = (
    select(FeedEntry.id, FeedEntry.created_at)
    .where(FeedEntry.technician_id == bindparam("technician_id"))
    .order_by(FeedEntry.id.desc())
    .limit(100)
)
_VISIBLE_QUERY = (
    select(Job.id)
    .where(
        Job.assignee_id == bindparam("technician_id"),
        Job.status != Status.CANCELLED.value,
        Job.id > bindparam("after"),
    )
    .order_by(Job.id)
    .limit(bindparam("limit"))
)


def snapshot_position(technician_id: int) -> int:
    """Return the feed position a first sync starts from: settled entries are covered.

    The snapshot reads the jobs as they are now, so the feed before this position adds
    nothing; entries written in the settle window are read again afterwards.
    """
    settle = current_app.config.get("SYNC_SETTLE_SECONDS", SETTLE_SECONDS)
    horizon = utcnow() - timedelta(seconds=max(settle, 0))
    tail = db.session.connection().execute(_TAIL_QUERY, {"technician_id": technician_id}).all()
    for row in tail:  # newest first
        if settle <= 0 or (row.created_at is not None and row.created_at < horizon):
            return row.id
    return tail[-1].id - 1 if tail else 0


def read_snapshot(technician_id: int, device_id: int, cursor: Cursor, limit: int) -> Page:
    """Send the technician's current jobs by id (a first sync), then hand over to the feed.

    A first sync costs the technician's current jobs, however long their feed history.
    """
    after = cursor.after_job or 0
    ids = list(
        db.session.connection().scalars(
            _VISIBLE_QUERY,
            {"technician_id": technician_id, "after": after, "limit": limit + 1},
        )
    )
    page = Page(position=cursor.position, has_more=len(ids) > limit)
    ids = ids[:limit]
    jobs, files = load_jobs(db.session.connection(), ids) if ids else ({}, {})
    page.jobs = [
        job_document(jobs[i], files.get(i, []))
        for i in ids
        if i in jobs and visible_to(jobs[i], technician_id)
    ]
    page.after_job = ids[-1] if page.has_more else None
    if after == 0:
        # A device starting over still hears about its own actions that are not done yet.
        messages = db.session.scalars(
            select(InboxMessage)
            .where(
                InboxMessage.device_id == device_id,
                InboxMessage.state.in_(OPEN_STATES),
            )
            .order_by(InboxMessage.id)
            .limit(MAX_LIMIT)
        )
        page.action_results = [action_result(m) for m in messages]
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
