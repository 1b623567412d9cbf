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

from sqlalchemy import select, update

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
    """Send push ``push_id`` once; return the state it ends in.

    Plain SQL statements rather than ORM loads: this is the hot path of the push worker.
    """
    claimed = db.session.execute(
        update(Push)
        .where(Push.id == push_id, Push.state.in_(_SENDABLE))
        .values(attempts=Push.attempts + 1, next_attempt_at=None)
        .returning(
            Push.device_id, Push.title, Push.body, Push.data, Push.collapse_key, Push.attempts
        )  # fmt: skip
        .execution_options(synchronize_session=False)
    ).first()
    if claimed is None:
        db.session.rollback()
        state = db.session.scalar(select(Push.state).where(Push.id == push_id))
        return state or "missing"
    device_id, title, body, data, collapse_key, attempt = claimed
    if not fcm.configured():
        return _finish(push_id, PushState.RECORDED)
    token = db.session.scalar(
        select(Device.push_token).where(Device.id == device_id, Device.revoked_at.is_(None))
    )
    if not token:
        return _finish(push_id, PushState.FAILED, "The device has no push token any more.")
    db.session.commit()  # the claim; hold no transaction (nor SQLite's lock) during the call
    message = fcm.Message(token, title, body, dict(data or {}), collapse_key)
    try:
        name = fcm.send(message)
    except fcm.TokenInvalid as exc:
        db.session.execute(
            update(Device)
            .where(Device.id == device_id, Device.push_token == token)
            .values(push_token=None, push_token_updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return _finish(push_id, PushState.TOKEN_REMOVED, str(exc))
    except fcm.Retryable as exc:
        if attempt >= int(setting("PUSH_MAX_ATTEMPTS", 5)):
            return _finish(push_id, PushState.FAILED, f"{exc} (gave up after {attempt} attempts)")
        at = not_before(retry_delay(attempt, exc.retry_after))
        after_commit(_reschedule, push_id, at)
        return _finish(push_id, PushState.RETRYING, str(exc), next_attempt_at=at)
    except fcm.FcmError as exc:
        return _finish(push_id, PushState.FAILED, str(exc))
    except Exception as exc:  # a bug or a broken credentials file: record it, do not loop
        log.exception("push %s could not be sent", push_id)
        return _finish(push_id, PushState.FAILED, f"{exc.__class__.__name__}: {exc}"[:1000])
    return _finish(push_id, PushState.SENT, fcm_message_name=name, sent_at=utcnow())


def _finish(push_id: int, state: PushState, error: str | None = None, **values) -> str:
    """Record the outcome and commit; a success keeps the earlier attempts' last error."""
    if error is not None:
        values["last_error"] = error
    db.session.execute(
        update(Push)
        .where(Push.id == push_id)
        .values(state=state.value, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return state.value


def _reschedule(push_id: int, at: datetime) -> None:
    enqueue(SEND_TASK, push_id, queue_name=QueueName.PUSH, at=at)
