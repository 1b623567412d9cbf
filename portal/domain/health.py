"""Operational state for the admin status page: queues, workers, cron, inbox, pushes."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from flask import current_app
from redis.exceptions import RedisError
from rq import Worker
from rq.cron_scheduler_registry import get_registry_key
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import func, select

from portal.extensions import db, get_redis
from portal.integrations.queue import QueueName, queue
from portal.models import (
    FeedEntry,
    InboxAttempt,
    InboxMessage,
    JobEvent,
    LoginThrottle,
    MessageState,
    PendingPhoto,
    Push,
    PushState,
)

# Written by the periodic tasks (workers.maintenance) after each run.
PERIODIC_RUNS_KEY = "fieldsync:periodic:last_run"
CRON_ALIVE_SECONDS = 150  # the cron process heartbeats at least once a minute


@dataclass
class QueueState:
    name: str
    waiting: int
    running: int
    scheduled: int
    failed: int


@dataclass
class Snapshot:
    redis_ok: bool
    redis_error: str = ""
    queues: list[QueueState] = field(default_factory=list)
    workers: list[dict[str, Any]] = field(default_factory=list)
    cron: list[dict[str, Any]] = field(default_factory=list)
    periodic: list[dict[str, Any]] = field(default_factory=list)
    inbox_counts: dict[str, int] = field(default_factory=dict)
    oldest_failed_at: datetime | None = None
    push_counts: dict[str, int] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    pending_photos: int = 0
    oldest_pending_photo_at: datetime | None = None

    @property
    def oldest_failed_age_seconds(self) -> int | None:
        if self.oldest_failed_at is None:
            return None
        return int((datetime.now(UTC) - self.oldest_failed_at).total_seconds())


def _redis_part(snap: Snapshot) -> None:
    redis = get_redis()
    for name in QueueName.ALL:
        q = queue(name)
        snap.queues.append(
            QueueState(
                name=name,
                waiting=q.count,
                running=StartedJobRegistry(queue=q).count,
                # rq's registries have no annotations on __init__.
                scheduled=ScheduledJobRegistry(queue=q).count,  # type: ignore[no-untyped-call]
                failed=FailedJobRegistry(queue=q).count,
            )
        )
    for w in Worker.all(connection=redis):
        beat = w.last_heartbeat
        snap.workers.append(
            {
                "name": w.name,
                "state": w.get_state(),
                "queues": ", ".join(w.queue_names()),
                "last_heartbeat": beat.replace(tzinfo=UTC) if beat and not beat.tzinfo else beat,
                "current_job": w.get_current_job_id() or "",
                "successful": w.successful_job_count,
                "failed": w.failed_job_count,
            }
        )
    now = time.time()
    # The client is synchronous; redis-py types its answers as sync-or-awaitable.
    entries = cast(
        list[tuple[bytes, float]], redis.zrange(get_registry_key(), 0, -1, withscores=True)
    )
    for key, score in entries:
        snap.cron.append(
            {
                "name": key.decode() if isinstance(key, bytes) else key,
                "last_seen": datetime.fromtimestamp(score, UTC),
                "alive": now - score < CRON_ALIVE_SECONDS,
            }
        )
    runs = cast(dict[bytes, bytes], redis.hgetall(PERIODIC_RUNS_KEY))
    for key, raw in sorted(runs.items()):
        data = json.loads(raw)
        snap.periodic.append(
            {
                "name": key.decode() if isinstance(key, bytes) else key,
                "finished": datetime.fromtimestamp(data.get("finished", 0), UTC),
                "seconds": round(data.get("finished", 0) - data.get("started", 0), 3),
                "result": data.get("result") or {},
            }
        )


def snapshot() -> Snapshot:
    """Read the operational state from Redis (RQ) and the database."""
    try:
        snap = Snapshot(redis_ok=True)
        _redis_part(snap)
    except RedisError as exc:
        snap = Snapshot(redis_ok=False, redis_error=str(exc))
    rows = db.session.execute(
        select(InboxMessage.state, func.count()).group_by(InboxMessage.state)
    ).all()
    snap.inbox_counts = {s.value: 0 for s in MessageState} | {state: n for state, n in rows}
    snap.oldest_failed_at = db.session.scalar(
        select(func.min(InboxMessage.updated_at)).where(
            InboxMessage.state == MessageState.FAILED.value
        )
    )
    rows = db.session.execute(select(Push.state, func.count()).group_by(Push.state)).all()
    snap.push_counts = {s.value: 0 for s in PushState} | {state: n for state, n in rows}
    snap.pending_photos, snap.oldest_pending_photo_at = db.session.execute(
        select(func.count(PendingPhoto.id), func.min(PendingPhoto.created_at))
    ).one()
    snap.history = history()
    return snap


# What each table keeps, and the setting that bounds it (None: kept for good).
_KEPT = (
    ("Sync feed", FeedEntry, "SYNC_FEED_RETENTION_DAYS", "newest entry per job; days kept"),
    ("Push log", Push, "PUSH_LOG_RETENTION_DAYS", "days a finished push is kept"),
    ("Inbox messages", InboxMessage, "INBOX_RETENTION_DAYS", "days a completed action is kept"),
    ("Inbox attempts", InboxAttempt, "INBOX_RETENTION_DAYS", "days, and always the latest"),
    ("Sign-in throttling", LoginThrottle, "LOGIN_LOCKOUT_SECONDS", "seconds a record counts"),
    ("Job history", JobEvent, None, "kept for good"),
)


def history() -> list[dict[str, Any]]:
    """Return each kept table's row count with its retention setting."""
    out = []
    for label, model, setting, meaning in _KEPT:
        rows = db.session.scalar(select(func.count()).select_from(model)) or 0
        value = current_app.config.get(setting) if setting else None
        out.append(
            {"label": label, "rows": rows, "setting": setting, "value": value, "meaning": meaning}
        )
    return out
