"""The delta pull: a technician's feed since a cursor, collapsed into job documents.

Cost is proportional to the feed entries after the cursor (an indexed range on
``(technician_id, position)``), never to the number of jobs in the database. A pull without
a cursor (a first sync) sends the technician's current jobs instead of replaying history.

Positions are given in commit order (see :mod:`portal.domain.sync.feed`), so the next cursor is
simply the last position read: a change that commits later always lands above it, however
long its transaction stayed open, and a pull with the cursor just returned is empty as soon
as nothing changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import bindparam, select, update

from portal.domain import devices
from portal.domain.sync import feed
from portal.domain.sync.documents import action_result, job_document, load_jobs, visible_to
from portal.extensions import db, read_connection
from portal.integrations.direct_read import DirectRead
from portal.models import (
    UNFINISHED_STATES,
    Device,
    FeedEntry,
    FeedKind,
    InboxMessage,
    Job,
    Status,
    utcnow,
)

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
NETWORKS = ("offline", "2g", "edge", "gprs", "3g", "lte", "5g", "wifi", "unknown")
# A successful sync is recorded at most this often when nothing else changed, so a
# device polling an empty feed does not cost a write per pull.
RECORD_EVERY = timedelta(seconds=30)

_SERIALIZERS: dict[str, URLSafeSerializer] = {}


class CursorError(ValueError):
    """The cursor was not made by this server for this technician."""


class CursorExpired(ValueError):
    """The cursor is older than the feed's retention (or of an older form): start over."""


def _serializer() -> URLSafeSerializer:
    # Built once per key: making one costs more than signing a cursor.
    key = current_app.config["SECRET_KEY"]
    cached = _SERIALIZERS.get(key)
    if cached is None:
        cached = _SERIALIZERS[key] = URLSafeSerializer(key, salt="fieldsync.sync-cursor")
    return cached


@lru_cache(maxsize=16_384)
def _verified(key: str, cursor: str) -> Any:
    """Return a cursor's signed value (raise BadSignature), remembered per key and cursor.

    A phone with nothing new polls with the same cursor every two minutes, and a cursor's
    signature under a key never changes: verify it once. Refusals are not remembered.
    """
    return _serializer().loads(cursor)


@dataclass(frozen=True)
class Cursor:
    position: int  # feed entries up to here are delivered (or covered by the snapshot)
    after_job: int | None = None  # a first sync under way: jobs above this id still to send


def encode_cursor(technician_id: int, position: int, after_job: int | None = None) -> str:
    """Return the opaque cursor for a feed position (and a first sync under way)."""
    value: dict[str, int] = {"t": technician_id, "p": position}
    if after_job is not None:
        value["a"] = after_job
    return _serializer().dumps(value)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def decode_cursor(cursor: str | None, technician_id: int) -> Cursor | None:
    """Return the cursor's state (None when absent).

    Raise CursorError if it is not ours, CursorExpired if it is of the older id-based form.
    """
    if not cursor:
        return None
    damaged = "The cursor is damaged or was not issued by this server."
    try:
        value = _verified(current_app.config["SECRET_KEY"], cursor)
    except (BadSignature, ValueError, UnicodeError) as exc:
        raise CursorError(damaged) from exc
    if isinstance(value, list) and value and value[0] == technician_id:
        # Issued before feed positions were commit-ordered: it may have skipped a change.
        raise CursorExpired("The sync history was rebuilt: sync again from the start.")
    if not isinstance(value, dict) or not _whole(value.get("t")) or not _whole(value.get("p")):
        raise CursorError(damaged)
    if set(value) - {"t", "p", "a"} or ("a" in value and not _whole(value["a"])):
        raise CursorError(damaged)
    if value["t"] != technician_id:
        raise CursorError("The cursor belongs to another technician: pull without a cursor.")
    return Cursor(value["p"], value.get("a"))


@dataclass
class Page:
    jobs: list[dict[str, Any]] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    action_results: list[dict[str, Any]] = field(default_factory=list)
    position: int = 0
    has_more: bool = False
    after_job: int | None = None  # set while a first sync has more jobs to send
    unchanged: bool = False  # nothing after the cursor: the device may keep the one it sent


# Plain strings: an enum member's value is looked up per access, and a page reads hundreds.
_UPSERT, _ACTION_RESULT = FeedKind.UPSERT.value, FeedKind.ACTION_RESULT.value
_HORIZON = FeedKind.HORIZON.value

_FEED_QUERY = (
    select(FeedEntry.position, FeedEntry.job_id, FeedEntry.kind, FeedEntry.message_id)
    .where(
        FeedEntry.technician_id == bindparam("technician_id"),
        FeedEntry.position > bindparam("position"),
    )
    .order_by(FeedEntry.position)
    .limit(bindparam("limit"))
)


_FEED_READ = DirectRead(_FEED_QUERY)  # PostgreSQL: see portal.integrations.direct_read


def read_page(technician_id: int, device_id: int, position: int, limit: int) -> Page:
    """Read up to ``limit`` feed entries after ``position`` and collapse them."""
    # The core path: an empty delta is one indexed range read and no object loading.
    params = {"technician_id": technician_id, "position": position, "limit": limit + 1}
    rows: list[Any]
    if db.engine.dialect.name == "postgresql":
        rows = _FEED_READ.all(db.engine, **params)
    else:
        rows = list(db.session.connection().execute(_FEED_QUERY, params))
    page = Page(position=position, has_more=len(rows) > limit)
    rows = rows[:limit]
    if not rows:
        return page
    if rows[0].kind == _HORIZON:
        # The retention deleted entries above this cursor (see feed.expire).
        raise CursorExpired("The cursor is older than the sync history kept: sync again.")
    page.position = rows[-1].position
    # The last entry of a job in the range wins: removed then re-added comes out present.
    last_kind: dict[int, str] = {}
    message_ids: list[int] = []
    for _position, job_id, kind, message_id in rows:
        if kind == _ACTION_RESULT:
            if message_id is not None:
                message_ids.append(message_id)
        else:
            last_kind[job_id] = kind
    wanted = [j for j, kind in last_kind.items() if kind == _UPSERT]
    jobs, files = load_jobs(wanted) if wanted else ({}, {})
    for job_id, kind in sorted(last_kind.items()):
        job = jobs.get(job_id)
        # The job's present state decides: if it left the technician after this entry was
        # written, say so now (a later entry in the feed says it again, harmlessly).
        if kind == _UPSERT and visible_to(job, technician_id):
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


def read_snapshot(technician_id: int, device_id: int, cursor: Cursor, limit: int) -> Page:
    """Send the technician's current jobs by id (a first sync), then hand over to the feed.

    ``cursor.position`` was read before the first page: every change committed after it
    has a higher position, so reading the feed from there once the jobs are sent misses
    nothing (a job changed meanwhile may come twice, harmlessly).
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
    jobs, files = load_jobs(ids) if ids else ({}, {})
    page.jobs = [
        job_document(jobs[i], files.get(i, []))
        for i in ids
        if i in jobs and visible_to(jobs[i], technician_id)
    ]
    if page.has_more:
        page.after_job = ids[-1]
    elif feed.last_position(technician_id) > cursor.position:
        page.has_more = True  # changes committed while the jobs were sent: read them too
    if after == 0:
        # A device starting over still hears about its own actions that are not done yet.
        messages = db.session.scalars(
            select(InboxMessage)
            .where(
                InboxMessage.device_id == device_id,
                InboxMessage.state.in_(UNFINISHED_STATES),
            )
            .order_by(InboxMessage.id)
            .limit(MAX_LIMIT)
        )
        page.action_results = [action_result(m) for m in messages]
    return page


def pull(
    technician_id: int,
    device_id: int,
    cursor: str | None,
    limit: int,
    last_position: int | None = None,
) -> Page:
    """Return the page of changes after ``cursor`` (a first sync when there is none).

    ``last_position`` is the technician's feed counter if the caller already read it (the
    device API does, with the token): positions are handed out in commit order from that
    counter, so a cursor at it has nothing above it and the feed need not be read.
    """
    state = decode_cursor(cursor, technician_id)
    if (
        state is not None
        and state.after_job is None
        and last_position is not None
        and state.position >= last_position
    ):
        return Page(position=state.position, unchanged=True)
    read_connection()  # a pull only reads: no transaction (see read_connection)
    if state is None:
        # Read before the jobs: whatever commits after this is above it in the feed.
        state = Cursor(feed.last_position(technician_id), 0)
    if state.after_job is not None:
        return read_snapshot(technician_id, device_id, state, limit)
    page = read_page(technician_id, device_id, state.position, limit)
    page.unchanged = page.position == state.position and not page.has_more
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
    devices.announce(device.user_id)  # the Technicians page shows it live
