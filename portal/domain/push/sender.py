"""Send pushes from the push log and record what became of them (called by RQ tasks).

A flush claims the due pushes in batches (one UPDATE that counts the attempt, closes the
push to coalescing and leases it for a few minutes, so that a worker killed mid-send only
delays it), sends each through :mod:`portal.integrations.fcm` outside any database
transaction, and records the outcomes in one commit per batch. Throttling and server
errors make the push due again after FCM's ``Retry-After`` or an exponential back-off with
jitter, for at most ``PUSH_MAX_ATTEMPTS`` attempts, with a flush scheduled through the RQ
scheduler for that second; the worker never waits in-process. An unregistered or invalid
token is cleared from the device (only if the device still has that token: it may have
registered a new one meanwhile).
"""

from __future__ import annotations

import logging
import random
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, or_, select, update

from portal.domain.push import triggers
from portal.domain.push.triggers import FLUSH_TASK, not_before, setting
from portal.effects import after_commit
from portal.extensions import db
from portal.integrations import fcm
from portal.integrations.queue import QueueName, enqueue
from portal.models import Device, Push, PushState, utcnow

log = logging.getLogger(__name__)

_SENDABLE = (PushState.QUEUED.value, PushState.RETRYING.value)
LEASE = timedelta(minutes=5)  # a claimed push is due again after this if its worker died


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


def flush(budget_seconds: float = 60.0, batch: int = 50) -> int:
    """Send every push that is due, oldest first; return how many were handled.

    Runs for at most ``budget_seconds`` (then enqueues another flush) so that one task
    never outlives RQ's job timeout. Several workers may flush at once: the claim lets
    exactly one of them send each push.
    """
    triggers.clear_flush_flag()
    started = time.monotonic()
    handled = 0
    while True:
        now = utcnow()
        due = (
            select(Push.id)
            .where(Push.state.in_(_SENDABLE), _due(now))
            .order_by(Push.next_attempt_at, Push.id)
            .limit(batch)
        )
        rows = _claim(due, now)
        if not rows:  # nothing due, or other workers claimed it first
            return handled
        handled += len(_send_claimed(rows))
        if time.monotonic() - started > budget_seconds:
            enqueue(FLUSH_TASK, queue_name=QueueName.PUSH)
            return handled


def deliver(push_id: int) -> str:
    """Send push ``push_id`` now if it is due; return the state it is in afterwards."""
    outcome = _send_claimed(_claim([push_id], utcnow()))
    if push_id in outcome:
        return outcome[push_id]
    state = db.session.scalar(select(Push.state).where(Push.id == push_id))
    db.session.rollback()
    return state or "missing"


def _due(now: datetime):
    return or_(Push.next_attempt_at.is_(None), Push.next_attempt_at <= now)


def _claim(ids: Any, now: datetime) -> list:
    """Count an attempt on each due push among ``ids`` and lease it; return the claimed rows."""
    rows = db.session.execute(
        update(Push)
        # The state and due checks are repeated here, not only in ``ids``: on PostgreSQL a
        # second worker waiting on the row lock re-checks them and skips a claimed push.
        .where(Push.id.in_(ids), Push.state.in_(_SENDABLE), _due(now))
        .values(attempts=Push.attempts + 1, next_attempt_at=now + LEASE)
        .returning(
            Push.id,
            Push.device_id,
            Push.title,
            Push.body,
            Push.data,
            Push.collapse_key,
            Push.attempts,
        )
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    return rows


def _send_claimed(rows: list) -> dict[int, str]:
    """Send the claimed pushes one by one; record every outcome in one commit."""
    if not rows:
        return {}
    outcomes: dict[int, dict] = {}
    if not fcm.configured():
        outcomes = {r.id: {"state": PushState.RECORDED.value} for r in rows}
        return _record(outcomes, [])
    device_ids = {r.device_id for r in rows if r.device_id is not None}
    tokens = dict(
        db.session.execute(
            select(Device.id, Device.push_token).where(
                Device.id.in_(device_ids), Device.revoked_at.is_(None)
            )
        ).all()
    )
    db.session.rollback()  # hold no transaction (nor SQLite's lock) during the HTTP calls
    removed: list[tuple[int, str]] = []
    for row in rows:
        token = tokens.get(row.device_id)
        if not token:
            outcomes[row.id] = _failed("The device has no push token any more.")
            continue
        outcomes[row.id] = _send_one(row, token, removed)
    return _record(outcomes, removed)


def _send_one(row: Any, token: str, removed: list[tuple[int, str]]) -> dict:
    """Send one claimed push; return the column values of its outcome."""
    message = fcm.Message(token, row.title, row.body, dict(row.data or {}), row.collapse_key)
    try:
        name = fcm.send(message)
    except fcm.TokenInvalid as exc:
        removed.append((row.device_id, token))
        return {"state": PushState.TOKEN_REMOVED.value, "last_error": str(exc)}
    except fcm.Retryable as exc:
        if row.attempts >= int(setting("PUSH_MAX_ATTEMPTS", 5)):
            return _failed(f"{exc} (gave up after {row.attempts} attempts)")
        at = not_before(retry_delay(row.attempts, exc.retry_after))
        return {"state": PushState.RETRYING.value, "last_error": str(exc), "next_attempt_at": at}
    except fcm.FcmError as exc:
        return _failed(str(exc))
    except Exception as exc:  # a bug or a broken credentials file: record it, do not loop
        log.exception("push %s could not be sent", row.id)
        return _failed(f"{exc.__class__.__name__}: {exc}"[:1000])
    # A success keeps the earlier attempts' last error, as history.
    return {"state": PushState.SENT.value, "fcm_message_name": name, "sent_at": utcnow()}


def _failed(error: str) -> dict:
    return {"state": PushState.FAILED.value, "last_error": error}


def _record(outcomes: dict[int, dict], removed: list[tuple[int, str]]) -> dict[int, str]:
    """Write the outcomes and token removals, commit, and schedule the retries."""
    # One executemany per shape of outcome (a success leaves last_error alone), not one
    # round trip per push: the database is the flush's other cost besides HTTP.
    groups: dict[tuple[str, ...], list[dict]] = {}
    for push_id, values in outcomes.items():
        values.setdefault("next_attempt_at", None)
        groups.setdefault(tuple(sorted(values)), []).append({"push_id": push_id, **values})
        if values["next_attempt_at"] is not None:
            after_commit(triggers.schedule_flush, values["next_attempt_at"])
    table = Push.__table__
    for keys, params in groups.items():
        statement = (
            table.update()
            .where(table.c.id == bindparam("push_id"))
            .values({k: bindparam(k) for k in keys})
        )
        db.session.execute(statement, params)
    for device_id, token in removed:
        db.session.execute(
            update(Device)
            .where(Device.id == device_id, Device.push_token == token)
            .values(push_token=None, push_token_updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    return {push_id: values["state"] for push_id, values in outcomes.items()}
