"""Which change wakes which device, and how the pushes of a burst become one push per device.

The domain calls :func:`job_changed` for every job change; this module decides whether a
push is due (never for a change the technician's own device made), writes it to the push log
in the same transaction, and enqueues the send after commit. Changes to one device within
``PUSH_COALESCE_SECONDS`` (default 2 s) coalesce into the push that is still waiting to go
out: the send is enqueued once, delayed by the window, and later changes update that row.

Devices without a push token get no row: there is nobody to wake, and the technicians page
already shows "no push token" for them. Revoked devices are skipped for the same reason.
The sending itself (retries, token removal) lives in :mod:`portal.domain.push.sender`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from enum import Enum

from flask import current_app
from sqlalchemy import or_, select

from portal.effects import after_commit
from portal.extensions import db, get_redis
from portal.integrations import fcm
from portal.integrations.queue import QueueName, Task, enqueue
from portal.models import Device, Job, Push, PushJob, PushState, Status, utcnow


class PushReason(str, Enum):
    ASSIGNED = "assigned"  # the job is new on this technician's phone
    UNASSIGNED = "unassigned"  # the job left this technician
    STATUS = "status"  # the portal set started, en_route, paused or finished
    CHANGED = "changed"  # any other information of the job changed
    CANCELLED = "cancelled"


# Statuses whose change in the portal wakes the device (DESIGN.md "Push notifications").
STATUS_PUSH = frozenset({"started", "en_route", "paused", "finished"})

# When a burst mixes reasons, the one the technician most needs to read wins; among equals
# the latest wins (assigned then unassigned within the window: the job left them).
_RANK = {
    PushReason.CHANGED.value: 0,
    PushReason.STATUS.value: 1,
    PushReason.ASSIGNED.value: 2,
    PushReason.UNASSIGNED.value: 2,
    PushReason.CANCELLED.value: 2,
}
_FLUSH_FLAG = "fieldsync:push:flush-pending"


# Set by portal.domain.push.batch when it is imported (it builds on this module, so this one
# must not import it); no batch can be under way before that.
batch_collector: Callable[[int, int, str, PushReason], bool] | None = None


def job_changed(job: Job, technician_id: int, reason: PushReason, from_device: bool) -> None:
    """Queue a push to ``technician_id``'s devices about ``job``, unless the device did it."""
    if from_device:
        return
    # A batch under way (a CSV import) makes one push per technician at its end.
    if batch_collector is None or not batch_collector(
        technician_id, job.id, job.reference or "", reason
    ):
        _deliver(job, technician_id, reason)


def _deliver(job: Job, technician_id: int, reason: PushReason) -> None:
    """Record one push per device with a token, or merge into its pending one; send after commit."""
    if technician_id is None:
        return
    window = current_app.config["PUSH_COALESCE_SECONDS"]
    for device in pushable_devices(technician_id):
        pending = _pending(device.id, window)
        if pending is not None:
            _merge(pending, job, reason)
            continue
        push = new_push(device, window, coalesced=1)
        _describe(push, job, reason.value, [job.id])
        db.session.flush()
        db.session.add(PushJob(push_id=push.id, job_id=job.id))


def pushable_devices(technician_id: int) -> list[Device]:
    """Return the technician's signed-in devices that have a push token."""
    return list(
        db.session.scalars(
            select(Device).where(
                Device.user_id == technician_id,
                Device.push_token.is_not(None),
                Device.push_token != "",
                Device.revoked_at.is_(None),
            )
        )
    )


def new_push(device: Device, window: float, coalesced: int) -> Push:
    """Add a push for ``device`` due in ``window`` seconds; sent after commit if FCM is set."""
    send = fcm.configured()
    due = not_before(window) if window > 0 else utcnow()
    push = Push(
        device_id=device.id,
        technician_id=device.user_id,
        state=(PushState.QUEUED if send else PushState.RECORDED).value,
        attempts=0,
        coalesced=coalesced,
        next_attempt_at=due if send else None,
        data={},
    )
    db.session.add(push)
    if send:
        # One flush per due second, not one task per push: see schedule_flush.
        after_commit(schedule_flush, due if window > 0 else None)
    return push


def _pending(device_id: int, window: float) -> Push | None:
    """Return the device's push that has not gone out yet (and so may absorb this change)."""
    cutoff = utcnow() - timedelta(seconds=window)
    return db.session.scalars(
        select(Push)
        .where(
            Push.device_id == device_id,
            Push.attempts == 0,
            or_(
                # Queued: not picked by a worker yet (the worker bumps attempts first).
                Push.state == PushState.QUEUED.value,
                # Recorded (no credentials): nothing ends the burst but the window.
                (Push.state == PushState.RECORDED.value) & (Push.created_at >= cutoff),
            ),
        )
        .order_by(Push.id.desc())
        .limit(1)
        .with_for_update()
    ).first()


def _merge(push: Push, job: Job, reason: PushReason) -> None:
    """Fold one more change into a pending push: the latest job, the weightiest reason."""
    data = dict(push.data or {})
    job_ids = [int(x) for x in str(data.get("job_ids") or data.get("job_id") or "").split(",") if x]
    if job.id in job_ids:
        job_ids.remove(job.id)
    # A push for a batch lists only its latest jobs in ``data``; its push_jobs name them all.
    if db.session.get(PushJob, (push.id, job.id)) is None:
        db.session.add(PushJob(push_id=push.id, job_id=job.id))
    job_ids.append(job.id)
    same_job = push.job_id == job.id
    old = push.reason
    keep_old = same_job and _RANK.get(old, 0) > _RANK[reason.value]
    _describe(push, job, old if keep_old else reason.value, job_ids)
    push.coalesced = (push.coalesced or 1) + 1


def _describe(push: Push, job: Job, reason: str, job_ids: list[int]) -> None:
    """Fill the push's data message, notification text and collapse key."""
    push.job_id = job.id
    push.reason = reason
    data = {"type": "sync", "job_id": str(job.id), "reason": reason}
    if len(job_ids) > 1:
        # One push per device per burst even across jobs: the device syncs everything anyway.
        data["job_ids"] = ",".join(str(i) for i in job_ids)
        refs = db.session.scalars(select(Job.reference).where(Job.id.in_(job_ids))).all()
        push.title = f"{len(job_ids)} jobs changed"
        push.body = _clip(", ".join(sorted(r for r in refs if r)), 400)
        push.collapse_key = "fieldsync-jobs"
    else:
        push.title, push.body = notification_text(job, reason)
        push.collapse_key = f"job-{job.id}"
    push.data = data


def notification_text(job: Job, reason: str) -> tuple[str, str]:
    """Return the human title and body of a push about ``job``."""
    ref = job.reference or f"#{job.id}"
    title = {
        PushReason.ASSIGNED.value: f"New job {ref}",
        PushReason.UNASSIGNED.value: f"Job {ref} was removed from you",
        PushReason.CANCELLED.value: f"Job {ref} was cancelled",
    }.get(reason, f"Job {ref} changed")
    body = job.title or ""
    if reason == PushReason.STATUS.value:
        try:
            label = Status(job.status).label
        except ValueError:
            label = job.status
        body = f"Status: {label} · {job.title}" if job.title else f"Status: {label}"
    return _clip(title, 200), _clip(body, 400)


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def schedule_flush(due: datetime | None) -> None:
    """Make sure a flush runs at ``due`` (a whole second), or now when coalescing is off.

    Every push due in the same second shares one scheduled flush (a fixed job id: RQ's
    schedule is a sorted set, so scheduling it again changes nothing); immediate flushes
    are deduplicated by a Redis flag that the flush clears before it looks for work. So a
    worker pays RQ's per-task cost once per second or per idle spell, not once per push.
    """
    if due is not None:
        job_id = f"push-flush-{int(due.timestamp())}"
        enqueue(Task.FLUSH_PUSHES, queue_name=QueueName.PUSH, at=due, job_id=job_id)
    elif get_redis().set(_FLUSH_FLAG, "1", nx=True, ex=60):
        enqueue(Task.FLUSH_PUSHES, queue_name=QueueName.PUSH)


def clear_flush_flag() -> None:
    """Let the next commit enqueue a new immediate flush (called as a flush starts)."""
    get_redis().delete(_FLUSH_FLAG)


def not_before(seconds: float) -> datetime:
    """Return now + ``seconds`` rounded up to a whole second.

    RQ's scheduler keeps whole-second timestamps (rounded down), so an unrounded time could
    run a task up to a second early: before FCM's Retry-After has passed.
    """
    at = utcnow() + timedelta(seconds=seconds)
    if at.microsecond:
        at = at.replace(microsecond=0) + timedelta(seconds=1)
    return at


def pushes_for_job(job_id: int, limit: int = 50) -> list[Push]:
    """Return the latest pushes about ``job_id`` (newest first) for the job detail page."""
    return list(
        db.session.scalars(
            select(Push)
            .join(PushJob, PushJob.push_id == Push.id)
            .where(PushJob.job_id == job_id)
            .order_by(Push.id.desc())
            .limit(limit)
        )
    )
