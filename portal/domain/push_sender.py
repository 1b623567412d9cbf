"""Send one push from the push log and record what became of it (called by the RQ task).

A send is: claim the row (count the attempt, which also closes it to coalescing), send
through :mod:`portal.integrations.fcm` outside any database transaction, record the outcome.
Throttling and server errors reschedule the task through the RQ scheduler after FCM's
``Retry-After`` or an exponential back-off with jitter, for at most ``PUSH_MAX_ATTEMPTS``
attempts; the worker never waits in-process. An unregistered or invalid token is cleared
from the device (only if the device still has that token: it may have registered a new one).
"""

from __future__ import annotations

import logging
import random
from datetime import datetime

from sqlalchemy import update

from portal.domain.push import SEND_TASK, not_before, setting
from portal.effects import after_commit
from portal.extensions import db
from portal.integrations import fcm
from portal.integrations.queue import QueueName, enqueue
from portal.models import Device, Push, PushState, utcnow

log = logging.getLogger(__name__)

_SENDABLE = (PushState.QUEUED.value, PushState.RETRYING.value)


def retry_delay(attempt: int, retry_after: float | None) -> float:
    """Return seconds until the next attempt: Retry-After if FCM gave one, else back-off."""
    if retry_after is not None:
        ceiling = setting("PUSH_RETRY_AFTER_MAX_SECONDS", 3600.0)
        # A little jitter on top, never below what FCM asked for.
        return min(retry_after, ceiling) * (1 + random.uniform(0, 0.1))
    base = setting("PUSH_RETRY_BASE_SECONDS", 5.0)
    cap = setting("PUSH_RETRY_MAX_SECONDS", 300.0)
    step = min(cap, base * (2 ** max(0, attempt - 1)))
    # "Equal jitter": at least half the step, so retries spread out but still back off.
    return step / 2 + random.uniform(0, step / 2)


def deliver(push_id: int) -> str:
    """Send push ``push_id`` once; return the state it ends in."""
    claimed = db.session.execute(
        update(Push)
        .where(Push.id == push_id, Push.state.in_(_SENDABLE))
        .values(attempts=Push.attempts + 1, next_attempt_at=None)
    ).rowcount
    db.session.commit()
    push = db.session.get(Push, push_id)
    if not claimed or push is None:
        db.session.rollback()
        return push.state if push is not None else "missing"
    if not fcm.configured():
        push.state = PushState.RECORDED.value
        db.session.commit()
        return push.state
    device = db.session.get(Device, push.device_id) if push.device_id else None
    token = device.push_token if device is not None and device.revoked_at is None else None
    if not token:
        return _finish(push, PushState.FAILED, "The device has no push token any more.")
    message = fcm.Message(
        token=token,
        title=push.title,
        body=push.body,
        data=dict(push.data or {}),
        collapse_key=push.collapse_key,
    )
    attempt, device_id = push.attempts, push.device_id
    db.session.commit()  # hold no transaction (nor SQLite's lock) during the HTTP call
    try:
        name = fcm.send(message)
    except fcm.TokenInvalid as exc:
        db.session.execute(
            update(Device)
            .where(Device.id == device_id, Device.push_token == token)
            .values(push_token=None, push_token_updated_at=utcnow())
        )
        return _finish(push, PushState.TOKEN_REMOVED, str(exc))
    except fcm.Retryable as exc:
        if attempt >= int(setting("PUSH_MAX_ATTEMPTS", 5)):
            return _finish(push, PushState.FAILED, f"{exc} (gave up after {attempt} attempts)")
        delay = retry_delay(attempt, exc.retry_after)
        push.next_attempt_at = not_before(delay)
        after_commit(_reschedule, push_id, push.next_attempt_at)
        return _finish(push, PushState.RETRYING, str(exc))
    except fcm.FcmError as exc:
        return _finish(push, PushState.FAILED, str(exc))
    except Exception as exc:  # a bug or a broken credentials file: record it, do not loop
        log.exception("push %s could not be sent", push_id)
        return _finish(push, PushState.FAILED, f"{exc.__class__.__name__}: {exc}"[:1000])
    push.fcm_message_name = name
    push.sent_at = utcnow()
    return _finish(push, PushState.SENT, None)


def _finish(push: Push, state: PushState, error: str | None) -> str:
    push.state = state.value
    if error is not None:  # a success keeps the last error as history of the earlier attempts
        push.last_error = error
    db.session.commit()
    return state.value


def _reschedule(push_id: int, at: datetime) -> None:
    enqueue(SEND_TASK, push_id, queue_name=QueueName.PUSH, at=at)
